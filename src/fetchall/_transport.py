"""A lean HTTP/1.1 transport for httpx on asyncio protocols.

httpx's default transport (httpcore, h11 and anyio) spends most of a small request's time
on pool bookkeeping that grows with the number of connections, on per-lock overhead and on
h11's general-purpose state machine. This transport does one thing: HTTP/1.1 over TCP or
TLS, with a keep-alive pool of idle connections per origin. httpx's client stays on top, so
redirects, content decoding, headers and the exceptions it raises are httpx's own; proxies
(mounted by httpx from ``--proxy`` or the environment) and HTTP/2 use httpx's transports.

Errors are raised as the httpx exceptions that httpcore would raise, each chained to its
cause (``OSError``, ``socket.gaierror``, ``ssl.SSLError``), for ``_fetch`` to classify.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from typing import cast

import httpx

from fetchall._deadline import Deadline
from fetchall._limits import DEFAULT_PORTS

Origin = tuple[str, str, int]

MAX_HEAD_BYTES = 64 * 1024
"""The longest status line plus headers accepted."""
MAX_LINE_BYTES = 4096
"""The longest line of chunked framing (a chunk size and its extensions) accepted."""
READ_HIGH_WATER = 1024 * 1024
"""Bytes buffered before the socket is paused until the body is consumed."""
_NO_BODY_STATUSES = frozenset({204, 304})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_NO_RESPONSE = "Server disconnected without sending a response."


class _PeerClosed(Exception):
    """The connection ended before what was being read was complete."""


class _Received:
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


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: bytes arrive in a buffer, readers wait on a future."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buffer = _Received()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

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
            end = self._buffer.find(b"\r\n", MAX_LINE_BYTES + 2)
            if end >= 0:
                return self._buffer.take(end, drop=2)
            if len(self._buffer) > MAX_LINE_BYTES:
                raise httpx.RemoteProtocolError("malformed chunked body: a line too long")
            await self._more()

    async def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes, as soon as any are there; ``_PeerClosed`` at the end."""
        if not self._buffer:
            await self._more()
        data = self._buffer.take(min(limit, self._buffer.readable()))
        self._resume()
        return data

    async def _more(self) -> None:
        """Wait until more bytes arrive; ``_PeerClosed`` or an httpx error if none will."""
        if self._closed:
            if self._error is not None:
                raise httpx.ReadError(str(self._error) or "connection lost") from self._error
            raise _PeerClosed
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


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive, on asyncio protocols (see the module docstring)."""

    def __init__(
        self,
        *,
        ssl_context: Callable[[], ssl.SSLContext],
        max_idle: int,
        connect_timeout: float,
    ) -> None:
        self._make_ssl_context = ssl_context
        self._ssl_context: ssl.SSLContext | None = None
        self._max_idle = max_idle
        self._connect_timeout = connect_timeout
        self._idle: OrderedDict[_Connection, Origin] = OrderedDict()  # oldest first
        self._idle_by_origin: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme, 80))
        head = _encode_head(request, await _read_request_body(request))
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return self._respond(connection, origin, request, await _exchange(connection, head))
            except (_PeerClosed, httpx.ReadError):
                connection.close()  # the server had closed this idle connection
                if request.method not in _IDEMPOTENT:
                    raise httpx.RemoteProtocolError(_NO_RESPONSE) from None
            except BaseException:
                connection.close()
                raise
        connection = await self._connect(origin)
        try:
            exchanged = await _exchange(connection, head)
        except _PeerClosed:
            connection.close()
            raise httpx.RemoteProtocolError(_NO_RESPONSE) from None
        except BaseException:
            connection.close()
            raise
        return self._respond(connection, origin, request, exchanged)

    def _respond(
        self,
        connection: _Connection,
        origin: Origin,
        request: httpx.Request,
        exchanged: tuple[int, bytes, list[tuple[bytes, bytes]]],
    ) -> httpx.Response:
        status, reason, headers = exchanged
        body = _Body(self, connection, origin, request.method, status, headers)
        return httpx.Response(
            status,
            headers=headers,
            stream=body,
            extensions={"reason_phrase": reason, "http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        self._idle_by_origin.clear()

    def release(self, connection: _Connection, origin: Origin) -> None:
        """Keep a connection whose response is complete, for the next request to its origin;
        beyond ``max_idle`` kept connections, the one idle longest is closed."""
        if not connection.usable:
            connection.close()
            return
        self._idle[connection] = origin
        self._idle_by_origin.setdefault(origin, []).append(connection)
        while len(self._idle) > self._max_idle:
            oldest, oldest_origin = self._idle.popitem(last=False)
            self._forget(oldest, oldest_origin)
            oldest.close()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection to ``origin`` that is still open."""
        connections = self._idle_by_origin.get(origin)
        while connections:
            connection = connections.pop()
            del self._idle[connection]
            if not connections:
                del self._idle_by_origin[origin]
            if connection.usable:
                return connection
            connection.close()
        return None

    def _forget(self, connection: _Connection, origin: Origin) -> None:
        connections = self._idle_by_origin[origin]
        connections.remove(connection)
        if not connections:
            del self._idle_by_origin[origin]

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made at the first https connection (loading CAs takes time)."""
        if self._ssl_context is None:
            self._ssl_context = self._make_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with Deadline(loop, self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"could not connect to {host}:{port}") from exc
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return connection


async def _exchange(
    connection: _Connection, head: bytes
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Send a request head; the final response's status, reason and headers."""
    connection.write(head)
    while True:
        try:
            status, reason, headers = _parse_head(await connection.read_head())
        except _PeerClosed:
            if connection.has_unread:  # bytes arrived, but not a whole head
                raise httpx.RemoteProtocolError("malformed response: incomplete head") from None
            raise
        if not 100 <= status < 200:
            return status, reason, headers


class _Body(httpx.AsyncByteStream):
    """A response body read by its framing; the connection goes back to the pool only
    when the body was read to its end."""

    def __init__(
        self,
        transport: FastTransport,
        connection: _Connection,
        origin: Origin,
        method: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._origin = origin
        self._complete = False
        fields = {name.lower(): value for name, value in headers}
        self._keep_alive = b"close" not in fields.get(b"connection", b"").lower()
        self._length: int | None = None
        self._chunked = False
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            self._length = 0
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            self._chunked = True
        elif b"content-length" in fields:
            self._length = _content_length(fields[b"content-length"])
        else:
            self._keep_alive = False  # the body ends when the server closes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if self._chunked:
                async for chunk in self._read_chunked():
                    yield chunk
            elif self._length is not None:
                async for chunk in self._read_length(self._length):
                    yield chunk
            else:
                async for chunk in self._read_to_close():
                    yield chunk
        except _PeerClosed:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            ) from None
        self._complete = True

    async def aclose(self) -> None:
        if self._complete and self._keep_alive:
            self._transport.release(self._connection, self._origin)
        else:
            self._connection.close()

    async def _read_length(self, length: int) -> AsyncIterator[bytes]:
        remaining = length
        while remaining:
            try:
                data = await self._connection.read_some(remaining)
            except _PeerClosed:
                received = length - remaining
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    f"received {received} bytes, expected {length}"
                ) from None
            remaining -= len(data)
            yield data

    async def _read_chunked(self) -> AsyncIterator[bytes]:
        while True:
            line = await self._connection.read_line()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError("malformed chunked body: bad chunk size") from None
            if size == 0:
                while await self._connection.read_line():
                    pass  # trailer fields, ignored
                return
            async for data in self._read_length(size):
                yield data
            if await self._connection.read_line() != b"":
                raise httpx.RemoteProtocolError("malformed chunked body: no CRLF after a chunk")

    async def _read_to_close(self) -> AsyncIterator[bytes]:
        while True:
            try:
                data = await self._connection.read_some(READ_HIGH_WATER)
            except _PeerClosed:
                return
            yield data


def _parse_head(head: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    status_line, *lines = head.split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(
            f"malformed response: illegal status line {status_line[:80]!r}"
        )
    headers: list[tuple[bytes, bytes]] = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError(
                f"malformed response: illegal header line {line[:80]!r}"
            )
        headers.append((name, value.strip(b" \t")))
    return int(parts[1]), parts[2] if len(parts) > 2 else b"", headers


def _content_length(value: bytes) -> int:
    values = {part.strip() for part in value.split(b",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise httpx.RemoteProtocolError(f"malformed response: Content-Length {value[:40]!r}")
    return int(next(iter(values)))


async def _read_request_body(request: httpx.Request) -> bytes:
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):  # what httpx makes for content=..., and for none
        return b"".join(stream)
    if isinstance(stream, httpx.AsyncByteStream):
        return b"".join([part async for part in stream])
    return b""


def _encode_head(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    if body and "content-length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
