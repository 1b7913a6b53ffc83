"""fetchall's HTTP/1.1 transport against the real test server: framing, keep-alive and
the edges of the protocol. (Every robustness test also runs on it and on httpx's.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from fetchall import Err, ErrorKind, FetchResult, Ok, Settings, fetch_all
from fetchall._http.connection import Connection, OpenSockets
from fetchall._http.errors import MalformedResponse
from fetchall._http.parser import ResponseParser
from tests.rawserver import RawServer, Reply
from tests.server import TestServer

pytestmark = pytest.mark.anyio

FAST = Settings(transport="fast", retries=0)


async def one(url: str, settings: Settings = FAST) -> FetchResult:
    (result,) = [result async for result in fetch_all([url], settings)]
    return result


def ok_bytes(result: FetchResult) -> int:
    assert isinstance(result.outcome, Ok), result.outcome
    assert result.outcome.value is not None
    return result.outcome.value.bytes


def kind(result: FetchResult) -> ErrorKind:
    assert isinstance(result.outcome, Err), result.outcome
    return result.outcome.error.kind


async def test_keep_alive_reuses_one_connection(fresh_server: TestServer) -> None:
    """Sequential requests to one origin share one connection."""
    urls = [fresh_server.url(f"/bytes/100?i={i}") for i in range(30)]
    results = [r async for r in fetch_all(urls, Settings(concurrency=1, transport="fast"))]
    assert [ok_bytes(r) for r in results] == [100] * 30
    assert fresh_server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    fresh_server: TestServer,
) -> None:
    """An idle connection the server has closed is not an error: a new one is made."""

    async def paced() -> AsyncIterator[str]:
        yield fresh_server.url("/linger")
        await asyncio.sleep(0.4)
        yield fresh_server.url("/bytes/5")

    results = [r async for r in fetch_all(paced(), Settings(concurrency=1, transport="fast"))]
    assert sorted(ok_bytes(r) for r in results) == [5, 7]
    assert fresh_server.connections == 2


async def test_chunked_bodies_with_extensions_and_trailers(server: TestServer) -> None:
    """Many chunks, chunk extensions and a trailer field decode to the exact body."""
    assert ok_bytes(await one(server.url("/chunks/40"))) == sum(range(1, 41))


async def test_a_body_delimited_by_the_close(server: TestServer) -> None:
    """No Content-Length and no chunking: the body runs to the end of the connection."""
    assert ok_bytes(await one(server.url("/eof/70000"))) == 70000


async def test_informational_responses_are_skipped(server: TestServer) -> None:
    """A 100 Continue before the real response is passed over."""
    result = await one(server.url("/continue"))
    assert ok_bytes(result) == len(b"continued\n")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/badchunk", ErrorKind.PROTOCOL), ("/bighead", ErrorKind.PROTOCOL)],
)
async def test_malformed_framing_is_a_protocol_error(
    server: TestServer, path: str, expected: ErrorKind
) -> None:
    """A bad chunk size or an endless head is protocol, not a crash."""
    assert kind(await one(server.url(path))) is expected


async def test_large_bodies_arrive_whole(server: TestServer) -> None:
    """A body far larger than the read buffer's high-water mark arrives to the byte."""
    assert ok_bytes(await one(server.url("/bytes/6000000"))) == 6_000_000


async def test_connection_close_is_not_reused(fresh_server: TestServer) -> None:
    """A response after which the server closes is not kept for reuse."""
    urls = [fresh_server.url(f"/eof/10?i={i}") for i in range(3)]
    results = [r async for r in fetch_all(urls, Settings(concurrency=1, transport="fast"))]
    assert [ok_bytes(r) for r in results] == [10, 10, 10]
    assert fresh_server.connections == 3


async def test_idle_connections_beyond_the_limit_are_closed_oldest_first(
    fresh_server: TestServer, other_server: TestServer
) -> None:
    """With room for one idle connection, using a second origin closes the first's."""
    import httpx

    from fetchall._http.transport import FastTransport

    transport = FastTransport(
        ssl_context=httpx.create_ssl_context, max_idle=1, max_connections=8, connect_timeout=5
    )
    async with httpx.AsyncClient(transport=transport) as client:
        for url in (fresh_server.url("/bytes/1"), fresh_server.url("/bytes/2")):
            assert (await client.get(url)).content == b"x" * int(url[-1])
        assert fresh_server.connections == 1  # reused
        await client.get(other_server.url("/bytes/3"))
        await client.get(fresh_server.url("/bytes/4"))
    assert fresh_server.connections == 2  # its idle connection had been closed for room
    assert other_server.connections == 1


async def test_idle_connections_make_room_within_max_connections(
    fresh_server: TestServer, other_server: TestServer
) -> None:
    """With room for two sockets, two requests to a second origin close the first
    origin's two idle connections before connecting, so going back to the first origin
    needs new ones (the sockets open never exceed what the open-files budget allows)."""
    import httpx

    from fetchall._http.transport import FastTransport

    transport = FastTransport(
        ssl_context=httpx.create_ssl_context, max_idle=4, max_connections=2, connect_timeout=5
    )

    async def two_at_once(server: TestServer) -> None:
        urls = [server.url(f"/bytes/1?delay=0.2&i={i}") for i in range(2)]
        responses = await asyncio.gather(*(client.get(url) for url in urls))
        assert [response.content for response in responses] == [b"x", b"x"]

    async with httpx.AsyncClient(transport=transport) as client:
        await two_at_once(fresh_server)
        await two_at_once(other_server)
        await two_at_once(fresh_server)
    assert other_server.connections == 2
    assert fresh_server.connections == 4  # its two idle ones had been closed for room


class FakeSocket:
    """What a Connection asks of its asyncio transport, recorded."""

    def __init__(self) -> None:
        self.written = b""
        self.paused = False
        self.pauses = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written += data

    def pause_reading(self) -> None:
        self.paused, self.pauses = True, self.pauses + 1

    def resume_reading(self) -> None:
        self.paused = False

    def abort(self) -> None:
        self.aborted = True


def connected(method: str = "GET") -> tuple[Connection, FakeSocket]:
    connection, socket = Connection(asyncio.get_running_loop(), OpenSockets()), FakeSocket()
    connection.connection_made(socket)  # type: ignore[arg-type]
    connection.send(f"{method} / HTTP/1.1\r\n\r\n".encode(), ResponseParser(method))
    return connection, socket


async def test_a_large_body_pauses_the_socket_until_it_is_read() -> None:
    """Body bytes beyond the high-water mark pause reading; reading them resumes it, so a
    body is never held whole; the pieces come out as they arrived."""
    connection, socket = connected()
    piece = b"b" * (256 * 1024)
    connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (12 * len(piece)))
    await connection.receive_head()
    for _ in range(5):  # 1.25 MiB waiting
        connection.data_received(piece)
    assert socket.paused
    body = connection.receive_body()
    for _ in range(3):
        assert await anext(body) == piece
    assert socket.paused  # 0.5 MiB waiting
    assert await anext(body) == piece
    assert not socket.paused  # below half the mark
    for _ in range(7):
        connection.data_received(piece)
    assert [len(chunk) async for chunk in body] == [len(piece)] * 8
    assert connection.reusable
    assert socket.pauses == 2


async def test_a_response_that_cannot_be_parsed_closes_the_connection_at_once() -> None:
    """The socket is closed as the bad bytes arrive, before anyone reads them."""
    connection, socket = connected()
    connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
    assert socket.aborted
    assert not connection.reusable
    with pytest.raises(MalformedResponse, match="conflicting Content-Length values 5 and 6"):
        await connection.receive_head()


async def test_bytes_after_a_response_make_its_connection_unfit() -> None:
    """A connection with bytes nobody asked for is never given another request."""
    connection, _ = connected()
    connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await connection.receive_head()
    assert [chunk async for chunk in connection.receive_body()] == [b"ok"]
    assert connection.reusable
    connection.data_received(b"X")
    assert not connection.reusable


async def test_a_server_that_speaks_first_answers_the_request() -> None:
    """Bytes that arrive before the request is written are its response's first bytes."""
    connection, socket = Connection(asyncio.get_running_loop(), OpenSockets()), FakeSocket()
    connection.connection_made(socket)  # type: ignore[arg-type]
    connection.data_received(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
    connection.send(b"GET / HTTP/1.1\r\n\r\n", ResponseParser("GET"))
    assert (await connection.receive_head()).status == 503
    assert socket.written == b"GET / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize("version", [b"HTTP/1.0", b"HTTP/1.1"])
async def test_the_response_records_its_http_version(version: bytes) -> None:
    """The response's http_version extension says what the server's status line said."""
    import httpx

    from fetchall._http.transport import FastTransport

    server = RawServer({"v": Reply(version + b" 200 OK\r\nContent-Length: 0\r\n\r\n")}).start()
    transport = FastTransport(
        ssl_context=httpx.create_ssl_context, max_idle=1, max_connections=1, connect_timeout=5
    )
    try:
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get(server.url("v"))
    finally:
        server.stop()
    assert response.extensions["http_version"] == version


async def test_bytes_on_an_idle_connection_close_it() -> None:
    """A connection kept idle that receives bytes (a 408 some servers send before they
    close) is closed at once, and never given another request."""
    connection, socket = connected()
    connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await connection.receive_head()
    assert [chunk async for chunk in connection.receive_body()] == [b"ok"]
    connection.keep()
    assert connection.reusable
    connection.data_received(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    assert socket.aborted
    assert not connection.reusable


async def test_a_socket_closed_after_its_waiter_was_cancelled_raises_nothing() -> None:
    """A run stopping (``| head -1``, a full disk) cancels ``wait_lost()``; the loop's
    ``connection_lost`` afterwards must not raise InvalidStateError into the loop's
    exception handler (which printed a traceback on stderr)."""
    connection, socket = connected()
    connection.close()
    waiter = asyncio.ensure_future(connection.wait_lost())
    await asyncio.sleep(0)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    connection.connection_lost(None)
    assert socket.aborted
