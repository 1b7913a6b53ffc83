"""One connection of fetchall's transport: an asyncio protocol whose received bytes wait
in a buffer, read as a response head, as lines of chunked framing, or as body bytes."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httpx

MAX_HEAD_BYTES = 64 * 1024
"""The longest status line plus headers accepted."""
MAX_CHUNK_LINE_BYTES = 4096
"""The longest line of chunked framing (a chunk size and its extensions) accepted."""
READ_HIGH_WATER = 1024 * 1024
"""Bytes buffered before the socket is paused until the body is consumed."""


class PeerClosed(Exception):
    """The connection ended before what was being read was complete."""


class Received:
    """Bytes received and not yet read, kept in the chunks they arrived in, so that reading
    a whole chunk hands it on without a copy however many chunks wait behind it."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._start = 0  # how much of the first chunk was read
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)

    def find(self, separator: bytes, within: int) -> int:
        """Where ``separator`` begins in the first ``within`` unread bytes, or -1."""
        if not self._chunks:
            return -1
        if len(self._chunks) > 1:  # a head or a line may span chunks: join them
            first = self._chunks.popleft()[self._start :]
            self._chunks = deque([b"".join([first, *self._chunks])])
            self._start = 0
        found = self._chunks[0].find(separator, self._start, self._start + within)
        return found - self._start if found >= 0 else -1

    def readable(self) -> int:
        """How many bytes ``take`` can return at once: the rest of the first chunk."""
        return len(self._chunks[0]) - self._start if self._chunks else 0

    def take(self, size: int, drop: int = 0) -> bytes:
        """The next ``size`` bytes (at most ``readable()``); they and ``drop`` more are read."""
        first, start = self._chunks[0], self._start
        end = start + size
        data = first if start == 0 and end == len(first) else first[start:end]
        self._start = end + drop
        self._size -= size + drop
        if self._start >= len(first):
            self._chunks.popleft()
            self._start = 0
        return data


class OpenSockets:
    """How many connections have their socket open: from ``connection_made`` to
    ``connection_lost`` (the loop closes the socket then)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: bytes arrive in a buffer, readers wait on a future;
    counted in ``sockets`` while its socket is open."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sockets: OpenSockets) -> None:
        self._loop = loop
        self._sockets = sockets
        self._transport: asyncio.Transport | None = None
        self._buffer = Received()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._lost: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._sockets.count += 1

    def data_received(self, data: bytes) -> None:
        self._buffer.append(data)
        if len(self._buffer) > READ_HIGH_WATER and not self._paused and self._transport:
            self._transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._error = exc
        self._sockets.count -= 1
        if self._lost is None:
            self._lost = self._loop.create_future()
        self._lost.set_result(None)
        self._wake()

    # used by the transport

    @property
    def has_unread(self) -> bool:
        """Bytes arrived that nobody has read."""
        return bool(self._buffer)

    @property
    def usable(self) -> bool:
        """Open, with nothing unread: fit to carry another request."""
        return not self._closed and not self._buffer and self._transport is not None

    def write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    async def wait_lost(self) -> None:
        """Wait until the socket is closed: the loop's next turn after ``close()``."""
        if self._lost is None:
            self._lost = self._loop.create_future()
        await self._lost

    async def read_head(self) -> bytes:
        """The status line and headers, without the blank line that ends them."""
        while True:
            end = self._buffer.find(b"\r\n\r\n", MAX_HEAD_BYTES + 4)
            if end >= 0:
                head = self._buffer.take(end, drop=4)
                self._resume()
                return head
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("response head is larger than 64 KiB")
            await self._more()

    async def read_line(self) -> bytes:
        """One CRLF-terminated line (of chunked framing), without the CRLF."""
        while True:
            end = self._buffer.find(b"\r\n", MAX_CHUNK_LINE_BYTES + 2)
            if end >= 0:
                return self._buffer.take(end, drop=2)
            if len(self._buffer) > MAX_CHUNK_LINE_BYTES:
                raise httpx.RemoteProtocolError("malformed chunked body: a line too long")
            await self._more()

    async def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes, as soon as any are there; ``PeerClosed`` at the end."""
        if not self._buffer:
            await self._more()
        data = self._buffer.take(min(limit, self._buffer.readable()))
        self._resume()
        return data

    async def _more(self) -> None:
        """Wait until more bytes arrive; ``PeerClosed`` or an httpx error if none will."""
        if self._closed:
            if self._error is not None:
                raise httpx.ReadError(str(self._error) or "connection lost") from self._error
            raise PeerClosed
        self._resume()
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if not self._buffer and self._closed:
            await self._more()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _resume(self) -> None:
        if self._paused and len(self._buffer) < READ_HIGH_WATER // 2 and self._transport:
            self._transport.resume_reading()
            self._paused = False
