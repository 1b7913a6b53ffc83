"""One connection of fetchall's transport: an asyncio protocol that feeds what it receives
straight into the parser of the response in flight (``parser``), and keeps the body pieces
the parser hands out until they are read, pausing the socket while too many wait.

Nothing here loops over received bytes: ``data_received`` hands each read to the parser
once, and the readers either take what is there, or raise, or await the next read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, cast

import httpx

from fetchall._http.codings import paced
from fetchall._http.errors import MalformedResponse
from fetchall._http.final_head import Head
from fetchall._http.parser import ResponseParser
from fetchall._http.timing import UNTRACED, Trace

TLS_READ_SIZE = 256 * 1024
"""The most decrypted bytes taken from the TLS layer at once: what uvloop and asyncio read
with a plain protocol (``SSL_READ_MAX_SIZE``)."""

READ_HIGH_WATER = 1024 * 1024
"""Body bytes kept unread before the socket is paused (resumed below half of it): a
50 MiB body is never held whole (64 x 50 MiB at -c 8 ran in 44 MiB of RSS)."""


class OpenSockets:
    """How many connections have their socket open: from ``connection_made`` to
    ``connection_lost`` (the loop closes the socket then)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Connection(asyncio.BaseProtocol):
    """One TCP (or TLS) connection: ``send`` puts a request on it, then ``receive_head``
    and ``receive_body`` read the response; once that was read whole, the connection may
    carry the next request if it is ``reusable``. Counted in ``sockets`` while its socket
    is open.

    A streaming protocol (``data_received``) that is not an ``asyncio.Protocol``, so that
    ``TlsConnection`` can be a buffered one: uvloop takes any protocol that is an
    ``asyncio.Protocol`` as streaming, whatever else it is."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sockets: OpenSockets) -> None:
        self._loop = loop
        self._sockets = sockets
        self._lost: asyncio.Future[None] | None = None
        self._parser: ResponseParser | None = None  # the response in flight (None: idle)
        self._trace = UNTRACED  # the request in flight's
        self._early: list[bytes] = []  # bytes that came before the first request was sent
        self._kept = False  # idle in the pool
        self._transport: asyncio.Transport | None = None
        self._body: deque[bytes] = deque()
        self._buffered = 0  # bytes in _body
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None

    # asyncio.Protocol's methods

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._sockets.count += 1

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:
            if self._kept:  # bytes nobody asked for: the connection is unfit
                self.close()
            else:  # a server that speaks first: its bytes answer the request
                self._early.append(data)
            return
        awaited = parser.head is None
        try:
            parser.feed(data)
        except Exception as exc:  # malformed, or a bug: for the reader to raise
            self._error = exc
            self.close()  # at once: nothing more on this connection can be understood
        chunks = parser.take_body()
        if awaited:  # the head's bytes (the body's, if any came along, are counted as such)
            self._trace.head_bytes += max(0, len(data) - sum(map(len, chunks)))
        if chunks:
            self._store(chunks)
        self._wake()

    def eof_received(self) -> bool:
        self._end(None)
        return False  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._sockets.count -= 1
        self._transport = None  # it holds this protocol: no cycle for the collector to find
        if self._lost is None:
            self._lost = self._loop.create_future()
        if not self._lost.done():  # a wait_lost() cancelled by a stopping run cancels it
            self._lost.set_result(None)
        self._end(exc)

    # used by the transport

    @property
    def reusable(self) -> bool:
        """Open, its response read whole, persistent and followed by nothing: fit to
        carry the next request."""
        parser = self._parser
        if parser is None:
            return self._kept and not self._closed
        return not self._closed and parser.reusable and not self._body

    def keep(self) -> None:
        """Kept idle in the pool, its response read whole: the parser is dropped, so that
        nothing of the response outlives it (less for the garbage collector to visit:
        ~5,000 instructions a request at -c 64, measured with callgrind)."""
        self._parser = None
        self._trace = UNTRACED
        self._kept = True

    def send(self, request: bytes, parser: ResponseParser, trace: Trace = UNTRACED) -> None:
        """Write a request whose response ``parser`` reads; the bytes received until its
        head is in are counted in ``trace``'s ``head_bytes``."""
        self._parser = parser
        self._trace = trace
        self._kept = False
        if self._transport is not None:  # (lost already: the reader finds it closed)
            self._transport.write(request)
        if self._early:
            self.data_received(b"".join(self._early))
            self._early = []
            if self._closed:  # and the peer had closed, too
                self._ended(None)

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    async def wait_lost(self) -> None:
        """Wait until the socket is closed: the loop's next turn after ``close()``."""
        if self._lost is None:
            self._lost = self._loop.create_future()
        await self._lost

    async def receive_head(self) -> Head:
        """The final response's head, once it has arrived. Raises the parser's errors (for
        a connection lost, too: closed or reset before or inside the head), or
        ``httpx.ReadError`` when it was closed on our side."""
        parser = self._parser
        assert parser is not None  # sent
        while True:  # each round returns, raises, or awaits the next read
            if parser.head is not None:  # (an error after it is the body's)
                return parser.head
            if self._error is not None:
                raise self._error
            await self._wait()

    async def receive_body(self) -> AsyncIterator[bytes]:
        """The body's pieces as they arrive, until the response ends. Raises the parser's
        errors (for a connection lost, too), or ``httpx.ReadError`` when it was closed on
        our side."""
        body = self._body
        parser = self._parser
        assert parser is not None  # sent
        decoder = parser.transfer_decoder  # known once the head is in
        while True:  # each round takes a piece, ends, raises, or awaits the next read
            if body:
                data = body.popleft()
                self._buffered -= len(data)
                if self._paused and self._buffered < READ_HIGH_WATER // 2 and self._transport:
                    self._transport.resume_reading()
                    self._paused = False
                if decoder is None:
                    yield data
                else:  # in bounded steps, the loop's other tasks between them
                    try:
                        async for piece in paced(decoder.decode(data)):
                            yield piece
                    except MalformedResponse:
                        self.close()
                        raise
            elif self._error is not None:
                raise self._error
            elif parser.complete:
                if decoder is not None:
                    try:
                        async for piece in paced(decoder.finish()):
                            yield piece
                    except MalformedResponse:
                        self.close()
                        raise
                return
            else:
                await self._wait()

    async def _wait(self) -> None:
        """Until the next read, or the end of the connection."""
        if self._closed:  # closed here with the response unfinished: nothing will come
            raise httpx.ReadError("the connection was closed")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _end(self, exc: Exception | None) -> None:
        """The connection ended (``exc``: how, if not by the peer's close)."""
        if not self._closed:
            self._closed = True
            self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        """Tell the parser the connection ended, and wake the reader."""
        parser = self._parser
        if parser is not None and self._error is None and not parser.complete:
            try:
                parser.feed_eof(exc)  # a reset is said as one, before or inside the head
            except Exception as error:  # cut short, or malformed: for the reader
                error.__cause__ = error.__cause__ or exc
                self._error = error
            self._store(parser.take_body())
        self._wake()

    def _store(self, chunks: list[bytes]) -> None:
        """Keep body pieces for the reader; pause the socket if too many bytes wait."""
        self._body.extend(chunks)
        self._buffered += sum(map(len, chunks))
        if self._buffered > READ_HIGH_WATER and not self._paused and self._transport:
            self._transport.pause_reading()
            self._paused = True

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class TlsConnection(Connection, asyncio.BufferedProtocol):
    """A ``Connection`` over TLS, whose records the loop's TLS layer decrypts into one
    buffer shared by all connections (``get_buffer``), each read copied out at once
    (``buffer_updated``).

    With a plain protocol, uvloop's and asyncio's TLS layers make a new 256 KiB bytes
    object for each read and shrink it (a 1 KiB response: an mmap, an mremap and a munmap
    of the kernel, measured with strace), then read again until ``SSLWantReadError`` is
    raised; the buffered path reads what is pending, into this buffer (cpython#123954).
    10,000 x 1 KiB over https (benchmark R1, medians of 5 interleaved runs): 2.00 s of CPU
    with a plain protocol, 1.71 s with this one."""

    def get_buffer(self, sizehint: int) -> memoryview:
        return _TLS_BUFFER

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_TLS_BUFFER[:nbytes].tobytes())


_TLS_BUFFER: Final = memoryview(bytearray(TLS_READ_SIZE))
"""Written by the TLS layer just before ``buffer_updated`` copies out of it, on the loop's
thread: no other connection's read comes between."""
