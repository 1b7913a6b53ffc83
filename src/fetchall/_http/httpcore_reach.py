"""What ``typed_transport`` reaches in httpcore and h11: two bounds fetchall's parser keeps
that httpcore lacks, and h11's messages made readable.

The bounds are kept by reaching httpcore's private objects (``_pool._network_backend``; a
response stream's ``_httpcore_stream``, ``_stream``, ``_connection._h11_state``: httpcore
1.0.x, pinned in pyproject, checked by ``tests/test_typed_transport.py``):

- A connection with bytes after a complete response is closed, not reused: h11 keeps them
  (``trailing_data``) and httpcore would read them as the next request's response (RFC
  9112 §6.3 lets a client discard them; curl: "Excess found in a read"). When the response
  is closed, such a connection is marked closed on our side, so httpcore drops it.
- A response head, its interim (1xx) heads included, over 100 KiB is refused as
  ``MalformedResponse`` ("response head larger than 100 KiB"), as fetchall's parser does:
  the network streams count the bytes read until the final head arrives (h11 bounds each
  head alone, so an endless run of 100 Continue kept the attempt until its deadline).

h11's messages that quote bytes (``bytearray(b'...')``) are given the bytes as printable
text instead.

Imported only by ``typed_transport`` (itself imported lazily by ``client``): httpcore and
h11 are not imported at start-up on fetchall's transport.
"""

from __future__ import annotations

import ast
import re
import ssl
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import h11
import httpcore
import httpx
from httpcore._async.connection_pool import PoolByteStream
from httpcore._async.http11 import HTTP11ConnectionByteStream

from fetchall._http.errors import MalformedResponse
from fetchall._http.timing import UNTRACED, Trace

_HEAD_TOO_LONG = "Receive buffer too long"
"""h11's wording (``_connection.py``) for a head over ``max_incomplete_event_size``."""
MAX_HEAD = 100 * 1024
"""Bytes of response heads (interim ones included) before the final head: as fetchall's
parser, httpx (``MAX_INCOMPLETE_EVENT_SIZE``) and curl."""
HEAD_TOO_LARGE = "response head larger than 100 KiB"
"""fetchall's parser's words for a head over ``MAX_HEAD``."""
_BYTES_REPR = re.compile(
    r"""bytearray\((b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")\)|b'(?:[^'\\]|\\.)*'"""
)
"""A ``bytearray(b'...')`` or ``b'...'`` in h11's messages."""
_QUOTED_MAX = 80
"""Characters of quoted bytes kept in a message."""


@dataclass
class HeadBudget:
    """Bytes read on this task's connection since its request was written, while the
    response head is awaited; each read is also counted in ``trace``'s ``head_bytes``
    (the minimum speed counts head bytes)."""

    read: int = 0
    trace: Trace = UNTRACED


HEAD_BUDGET: ContextVar[HeadBudget | None] = ContextVar("fetchall_head_budget", default=None)
"""The budget of the request this task awaits the head of (reads and writes of an HTTP/1.1
connection run in the task that sent the request: httpcore has no background reader)."""


def head_too_large(stream: object, budget: HeadBudget) -> bool:
    """Whether the head of the response read from httpx's response ``stream`` was over
    ``MAX_HEAD``: the bytes of ``budget`` less those h11 kept back (the head may have come
    whole in the last read). False where no h11 state is found (HTTP/2, another
    transport)."""
    state = h11_state(stream)
    return state is not None and budget.read - len(state.trailing_data[0]) > MAX_HEAD


def close_if_trailing(stream: object) -> None:
    """Mark closed the HTTP/1.1 connection httpx's response ``stream`` reads from when
    bytes came after its complete response (httpcore then closes it, not reused)."""
    state = h11_state(stream)
    if state is not None and state.their_state is h11.DONE and state.trailing_data[0]:
        state.send(h11.ConnectionClosed())


def h11_state(stream: object) -> h11.Connection | None:
    """The h11 state of the HTTP/1.1 connection an httpx response stream reads from, or
    None (HTTP/2, another transport)."""
    pooled = getattr(stream, "_httpcore_stream", None)
    if not isinstance(pooled, PoolByteStream):
        return None
    inner = pooled._stream
    if not isinstance(inner, HTTP11ConnectionByteStream):
        return None
    state = getattr(inner._connection, "_h11_state", None)
    return state if isinstance(state, h11.Connection) else None


def bound_heads(transport: httpx.AsyncBaseTransport) -> None:
    """Make the network streams of httpx's ``transport`` count head bytes (``MAX_HEAD``)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None or isinstance(backend, _HeadBoundBackend):
        return
    pool._network_backend = _HeadBoundBackend(backend)  # type: ignore[union-attr]


class _HeadBoundBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _HeadBoundStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _HeadBoundStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _HeadBoundStream(httpcore.AsyncNetworkStream):
    """Refuses a read once ``MAX_HEAD`` bytes were read while a head is awaited (h11 asks
    for more: the head, interim heads included, is larger). Not for HTTP/2, whose reads
    carry other requests' frames."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        ssl_object = inner.get_extra_info("ssl_object")
        self._h2 = ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = None if self._h2 else HEAD_BUDGET.get()
        if budget is not None and budget.read >= MAX_HEAD:
            raise MalformedResponse(HEAD_TOO_LARGE)
        data = await self._inner.read(max_bytes, timeout)
        if budget is not None:
            budget.read += len(data)
            budget.trace.head_bytes += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = HEAD_BUDGET.get()
        if budget is not None:
            budget.read = 0  # a request (a CONNECT, then the tunnelled one): a new head
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _HeadBoundStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def readable(exc: BaseException) -> str:
    """``exc``'s message for people: h11's words for a head over 100 KiB made fetchall's,
    quoted bytes given as printable text (at most ``_QUOTED_MAX`` characters)."""
    message = str(exc)
    if message.startswith(_HEAD_TOO_LONG):
        return HEAD_TOO_LARGE
    return _BYTES_REPR.sub(_printable, message)


def _printable(match: re.Match[str]) -> str:
    literal = match.group(1) or match.group(0)
    try:
        data = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal
    text = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte != 0x5C else f"\\x{byte:02x}"
        for byte in data[:_QUOTED_MAX]
    )
    return f'"{text}"' + ("..." if len(data) > _QUOTED_MAX else "")
