"""HTTP/1.1 framing on a ``Connection``: writing a request head, reading the final response
head (1xx skipped), and reading the body by its framing (Content-Length, chunked, or to
the close), as an httpx stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

from fetchall._http.connection import (
    READ_HIGH_WATER,
    Connection,
    PeerClosed,
)
from fetchall._http.errors import IncompleteBody
from fetchall._origin import Origin

_NO_BODY_STATUSES = frozenset({204, 304})

Release = Callable[[Connection, Origin], None]
"""Gives a connection whose response is complete back to the pool."""

Head = tuple[int, bytes, list[tuple[bytes, bytes]]]
"""A response's status, reason phrase and header fields."""


async def exchange(connection: Connection, head: bytes) -> Head:
    """Send a request head; the final response's status, reason and headers."""
    connection.write(head)
    while True:
        try:
            status, reason, headers = parse_head(await connection.read_head())
        except PeerClosed:
            if connection.has_unread:  # bytes arrived, but not a whole head
                raise httpx.RemoteProtocolError("malformed response: incomplete head") from None
            raise
        if not 100 <= status < 200:
            return status, reason, headers


class ResponseBody(httpx.AsyncByteStream):
    """A response body read by its framing; the connection goes back to the pool only
    when the body was read to its end."""

    def __init__(
        self,
        release: Release,
        connection: Connection,
        origin: Origin,
        method: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self._release = release
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
            self._length = content_length(fields[b"content-length"])
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
        except PeerClosed:
            raise IncompleteBody(
                "peer closed connection without sending complete message body"
            ) from None
        self._complete = True

    async def aclose(self) -> None:
        if self._complete and self._keep_alive:
            self._release(self._connection, self._origin)
        else:
            self._connection.close()

    async def _read_length(self, length: int) -> AsyncIterator[bytes]:
        remaining = length
        while remaining:
            try:
                data = await self._connection.read_some(remaining)
            except PeerClosed:
                received = length - remaining
                raise IncompleteBody(
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
            except PeerClosed:
                return
            yield data


def parse_head(head: bytes) -> Head:
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


def content_length(value: bytes) -> int:
    values = {part.strip() for part in value.split(b",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise httpx.RemoteProtocolError(f"malformed response: Content-Length {value[:40]!r}")
    return int(next(iter(values)))


async def read_request_body(request: httpx.Request) -> bytes:
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):  # what httpx makes for content=..., and for none
        return b"".join(stream)
    if isinstance(stream, httpx.AsyncByteStream):
        return b"".join([part async for part in stream])
    return b""


def encode_head(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    if body and "content-length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
