"""HTTP/1.1 messages on a ``Connection``: the request as bytes, and the response body as an
httpx stream that gives its connection back to the pool when it was read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

from fetchall._http.connection import Connection
from fetchall._origin import Origin

Release = Callable[[Connection, Origin], None]
"""Gives a connection whose response is complete back to the pool."""


class ResponseBody(httpx.AsyncByteStream):
    """A response body as the connection receives it; at the end the connection goes back
    to the pool if it is reusable (read whole, persistent, nothing after), or is closed."""

    def __init__(self, release: Release, connection: Connection, origin: Origin) -> None:
        self._release = release
        self._connection = connection
        self._origin = origin

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._connection.receive_body()

    async def aclose(self) -> None:
        if self._connection.reusable:
            self._release(self._connection, self._origin)
        else:
            self._connection.close()


async def read_request_body(request: httpx.Request) -> bytes:
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):  # what httpx makes for content=..., and for none
        return b"".join(stream)
    if isinstance(stream, httpx.AsyncByteStream):
        return b"".join([part async for part in stream])
    return b""


def encode_request(request: httpx.Request, body: bytes) -> tuple[bytes, bool]:
    """The request's bytes on the wire, and whether it asks for a protocol upgrade (an
    Upgrade field: only then may a 101 answer it)."""
    target = request.url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    if body and "content-length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    return head + body, b"\nupgrade:" in head.lower()
