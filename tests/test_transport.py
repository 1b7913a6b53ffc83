"""fetchall's HTTP/1.1 transport against the real test server: framing, keep-alive and
the edges of the protocol. (Every robustness test also runs on it and on httpx's.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from fetchall import Err, ErrorKind, FetchResult, Ok, Settings, fetch_all
from fetchall._http.connection import MAX_HEAD_BYTES, Received
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


def test_a_head_split_over_many_reads_is_found_and_the_rest_kept() -> None:
    """Bytes arriving in pieces join up: the head ends where its blank line is, and what
    follows it stays unread, byte for byte."""
    received = Received()
    for piece in (b"HTTP/1.1 200 OK\r", b"\nA: b\r\n", b"\r", b"\nbody", b"-more"):
        received.append(piece)
    end = received.find(b"\r\n\r\n", MAX_HEAD_BYTES)
    assert received.take(end, drop=4) == b"HTTP/1.1 200 OK\r\nA: b"
    assert len(received) == len(b"body-more")
    assert received.take(received.readable()) == b"body-more"
    assert not received


def test_whole_chunks_are_handed_on_without_a_copy() -> None:
    """A body read as it arrived is passed on as the very objects received, even with
    more chunks waiting; a partly read chunk gives its exact rest."""
    chunks = [bytes([n]) * 300_000 for n in range(3)]
    received = Received()
    for chunk in chunks:
        received.append(chunk)
    assert received.take(received.readable()) is chunks[0]
    assert received.take(100_000) == chunks[1][:100_000]
    assert received.take(received.readable()) == chunks[1][100_000:]
    assert received.take(received.readable()) is chunks[2]
    assert len(received) == 0
