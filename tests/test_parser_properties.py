"""ResponseParser, and the Connection that feeds it, on bytes no one chose: whatever
arrives, in whatever reads, only the typed errors of ``errors`` come out, parsing ends (no
loop runs without consuming bytes or awaiting the next read) and the outcome does not
depend on where the reads were cut."""

from __future__ import annotations

import asyncio
import gzip

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fetchall._http.connection import Connection, OpenSockets
from fetchall._http.parser import ResponseParser
from tests.parser_cases import CHUNKED, OK
from tests.test_parser import parse

FRAGMENTS = [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.0 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching\r\n",
    b"HTTP/1.1 204 No\r\n",
    b"HTTP/1.1 000 X\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 5, 5\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: -1\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: deflate, chunked\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive\r\n",
    b"Upgrade: x\r\nConnection: upgrade\r\n",
    b"X: a\r\n b\r\n",
    b" folded\r\n",
    b"\tfolded\n",
    b"X: \x00\r\n",
    b"X: \r\r\n",
    b"\r\n",
    b"\n",
    b"5\r\nhello\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"8000000000000000\r\n",
    b"X-Trailer: 1\r\n",
    b"-1\r\n",
    b"5 ;x=y\r\n",
    gzip.compress(b"abc"),
    b"hello",
    b":",
    b" ",
    b"\r",
]


def parse_pieces(pieces: list[bytes], method: str, upgrade: bool) -> None:
    parser = ResponseParser(method, upgrade=upgrade)
    try:
        for piece in pieces:
            parser.feed(piece)
        parser.feed_eof()
    except httpx.RemoteProtocolError:
        pass


methods = st.sampled_from(["GET", "HEAD", "POST"])


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=400), methods, st.booleans())
def test_random_bytes_whole(data: bytes, method: str, upgrade: bool) -> None:
    """Arbitrary bytes raise nothing but the typed errors, and parsing ends."""
    parse_pieces([data], method, upgrade)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=30),
    st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    methods,
    st.booleans(),
)
def test_response_like_bytes_in_any_reads(
    fragments: list[bytes], cuts: list[int], method: str, upgrade: bool
) -> None:
    """Pieces of responses, good and bad, cut into reads anywhere: only the typed errors,
    and the same outcome as when fed whole."""
    data = b"".join(fragments)
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    whole, split = parse([data], method, upgrade), parse(pieces, method, upgrade)
    assert split.error is whole.error
    if whole.error is None:
        assert split.body == whole.body
        assert split.reusable == whole.reusable


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=10**6), st.sampled_from([b"", b"0" * 50]))
def test_large_numbers(digits: int, prefix: bytes) -> None:
    """A number of any length is an error value, never a crash (Python's int limit)."""
    number = prefix + b"9" * (digits % 6000 + 1)
    for data in (
        b"HTTP/1.1 " + number + b" X\r\n\r\n",
        OK + b"Content-Length: " + number + b"\r\n\r\n",
        OK + b"Content-Length: 1, " + number + b"\r\n\r\n",
        CHUNKED + number + b"\r\n",
    ):
        parse_pieces([data], "GET", False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=30),
    st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    methods,
)
def test_a_connection_reads_any_bytes_to_an_end(
    fragments: list[bytes], cuts: list[int], method: str
) -> None:
    """Whatever arrives, in whatever reads, then the close: the head and body readers end
    with the body or a parse error, within a second (never spinning, never waiting)."""
    data = b"".join(fragments)
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    async def read() -> None:
        connection = Connection(asyncio.get_running_loop(), OpenSockets())
        connection.connection_made(Socket())  # type: ignore[arg-type]
        connection.send(b"request", ResponseParser(method))
        reading = asyncio.ensure_future(read_all(connection))
        for piece in pieces:
            connection.data_received(piece)
            await asyncio.sleep(0)
        connection.eof_received()
        await reading

    asyncio.run(asyncio.wait_for(read(), 1))


async def read_all(connection: Connection) -> None:
    try:
        await connection.receive_head()
        async for _ in connection.receive_body():
            pass
    except httpx.RemoteProtocolError:
        pass


class Socket:
    """Takes what a Connection writes, pauses and closes."""

    def write(self, data: bytes) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def abort(self) -> None:
        pass
