"""Reading responses over TLS (``connection.TlsConnection``) on both event loops: the
loop's TLS layer decrypts into one buffer shared by every connection, so responses read
at the same time on several connections, bodies larger than that buffer and than the
unread-body limit (the socket paused and resumed), chunked and close-delimited bodies
must all arrive byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator

import pytest

from fetchall._http.connect import open_connection
from fetchall._http.connection import (
    READ_HIGH_WATER,
    TLS_READ_SIZE,
    OpenSockets,
    TlsConnection,
)
from fetchall._http.parser import ResponseParser
from fetchall._http.timing import Trace
from fetchall._model import Phase
from tests.listeners import tls_listener
from tests.loops import both_loops  # noqa: F401 (anyio_backend: both loops)

pytestmark = pytest.mark.anyio
NAME = "tls.test"
BIG = 3 * READ_HIGH_WATER + 12_345  # over the unread-body limit and the shared buffer
assert BIG > 4 * TLS_READ_SIZE


def body_of(path: str) -> bytes:
    """The body the server sends for ``path`` (``/N/seed``): N bytes that differ by seed and
    by position, so a piece read into the wrong place or from another connection shows."""
    size, seed = (int(part) for part in path.strip("/").split("/"))
    blocks = (hashlib.sha256(f"{seed}/{i}".encode()).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """``GET /N/seed`` framed by the query: ``?chunked`` (1,000-byte chunks), ``?close``
    (close-delimited), else a Content-Length."""
    with contextlib.suppress(ConnectionError, TimeoutError):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        target = head.split(b" ")[1].decode()
        path, _, framing = target.partition("?")
        body = body_of(path)
        if framing == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for start in range(0, len(body), 1000):
                piece = body[start : start + 1000]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            writer.write(b"0\r\n\r\n")
        elif framing == "close":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
    writer.close()


@pytest.fixture
async def tls_port() -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    """The server above over TLS for NAME, with a CA made now: its port, and a client
    context trusting that CA."""
    async with tls_listener(NAME, _serve) as listening:
        yield listening


class Counted(TlsConnection):
    """A TlsConnection counting the reads the TLS layer hands it through its buffer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sockets: OpenSockets) -> None:
        super().__init__(loop, sockets)
        self.buffered_reads = 0
        self.was_paused = False

    def buffer_updated(self, nbytes: int) -> None:
        self.buffered_reads += 1
        super().buffer_updated(nbytes)

    def _store(self, chunks: list[bytes]) -> None:
        super()._store(chunks)
        self.was_paused = self.was_paused or self._paused


class Names:
    """A resolver answering 127.0.0.1 for NAME."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


class Quiet:
    def on_phase(self, phase: Phase) -> None:
        pass


async def fetch(port: int, context: ssl.SSLContext, target: str) -> tuple[bytes, Counted]:
    """GET ``target`` on a new TLS connection: the body as read, and the connection."""
    loop = asyncio.get_running_loop()
    connection, _ = await open_connection(
        NAME,
        port,
        resolver=Names(),
        protocol_factory=lambda: Counted(loop, OpenSockets()),
        ssl_context=context,
        timeout=10,
        trace=Trace(Quiet()),
        where=f"{NAME}:{port}",
    )
    request = f"GET {target} HTTP/1.1\r\nHost: {NAME}\r\n\r\n".encode()
    connection.send(request, ResponseParser("GET"))
    head = await connection.receive_head()
    assert head.status == 200
    await asyncio.sleep(0.3)  # a slow reader: a large body fills READ_HIGH_WATER meanwhile
    body = bytearray()
    async for piece in connection.receive_body():
        body += piece
        await asyncio.sleep(0)  # the others read meanwhile
    connection.close()
    return bytes(body), connection


async def test_bodies_read_at_once_on_many_connections_arrive_whole(
    tls_port: tuple[int, ssl.SSLContext],
) -> None:
    """Eight responses of each framing read at the same time over eight connections, the
    large ones paused and resumed: every body byte for byte; the TLS layer hands the reads
    over through the shared buffer (a streaming protocol would get a new 256 KiB object
    a read: see ``TlsConnection``)."""
    port, context = tls_port
    targets = [f"/{size}/{seed}{framing}" for seed, size in enumerate((BIG, 70_000, 1, 5000))
               for framing in ("", "?chunked", "?close")]  # fmt: skip
    async with asyncio.timeout(60):
        results = await asyncio.gather(*(fetch(port, context, target) for target in targets))
    for target, (body, connection) in zip(targets, results, strict=True):
        assert body == body_of(target.partition("?")[0]), target
        assert connection.buffered_reads > 0
        assert connection.was_paused == (len(body) == BIG), target
