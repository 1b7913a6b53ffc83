"""Typed errors and the address connected to from httpx's own transports (httpcore and
h11), and from any transport an API caller passes in.

h11 raises one exception type, ``RemoteProtocolError``, both for a body cut short by the
peer and for a malformed one, and httpcore one type both for "closed without answering"
and for a bad status line; only their messages differ. This wrapper is the one place
that reads those messages, and it turns them into the typed ``NoResponse`` and
``IncompleteBody`` that ``errors.classify`` decides by. fetchall's own transport raises
the typed exceptions itself and is not wrapped.

Through a proxy, a failure to resolve or connect to the proxy (httpcore raises
``httpx.ConnectError`` or ``ConnectTimeout`` as for any server) becomes
``ProxyConnectError`` or ``ProxyConnectTimeout``, which name the proxy: the target was
never reached.

A status outside 100-599, or an HTTP version in the status line other than 1.0 and 1.1,
which h11 takes, becomes ``MalformedResponse`` as on fetchall's transport (RFC 9110 §15,
RFC 9112 §2.3).

Through an HTTP proxy's tunnel (an ``https://`` target), a failure while the CONNECT is
unanswered is the proxy's: a refusal (httpcore's ``ProxyError``, "407 ...") becomes
``TunnelRefused``, no answer ``ProxyNoResponse``, a bad one ``ProxyMalformedResponse``;
each names the proxy. Which phase a failure met is seen through httpcore's ``trace``
extension (the CONNECT request carries the request's extensions).

Two bounds fetchall's parser keeps that httpcore lacks, kept here by reaching httpcore's
private objects (``_pool._network_backend``; a response stream's ``_httpcore_stream``,
``_stream``, ``_connection._h11_state``: httpcore 1.0.x, pinned in pyproject, checked by
``tests/test_typed_transport.py``):

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

It also starts each request's ``Trace`` (httpcore marks the phases through its ``trace``
extension) and takes the address connected to from the response's ``network_stream``
(httpcore's ``server_addr``: a proxy's, through a proxy).
"""

from __future__ import annotations

import ast
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import h11
import httpcore
import httpx
from httpcore._async.connection_pool import PoolByteStream
from httpcore._async.http11 import HTTP11ConnectionByteStream

from fetchall._http.errors import (
    IncompleteBody,
    MalformedResponse,
    NoResponse,
    ProxyConnectError,
    ProxyConnectTimeout,
    ProxyMalformedResponse,
    ProxyNoResponse,
    TunnelRefused,
)
from fetchall._http.timing import TRACE, UNTRACED, Trace
from fetchall._origin import Origin

MIN_STATUS, MAX_STATUS = 100, 599
"""RFC 9110 §15: status codes are 100-599 (h11 takes any three digits; fetchall's parser
refuses the others with the same words)."""
HTTP_VERSIONS = frozenset({b"HTTP/1.0", b"HTTP/1.1", b"HTTP/2"})
"""The versions a response may have: 1.0 and 1.1 from a status line (h11 also takes
``HTTP/2.0`` or ``HTTP/0.9`` there, which fetchall's parser refuses with the same words),
and HTTP/2 from a connection that agreed on it by ALPN (``--http2``)."""
_NO_RESPONSE = "Server disconnected without sending a response"
"""httpcore's wording (``_async/http11.py``) for a connection closed before any byte."""
_INCOMPLETE_BODY = "peer closed connection without sending complete message body"
"""h11's wording (``_readers.py``) for a body its framing says is not over."""
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
class _HeadBudget:
    """Bytes read on this task's connection since its request was written, while the
    response head is awaited."""

    read: int = 0


_HEAD_BUDGET: ContextVar[_HeadBudget | None] = ContextVar("fetchall_head_budget", default=None)
"""The budget of the request this task awaits the head of (reads and writes of an HTTP/1.1
connection run in the task that sent the request: httpcore has no background reader)."""


class TypedErrorsTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; raises ``NoResponse`` and ``IncompleteBody`` where it raised
    ``httpx.RemoteProtocolError`` with httpcore's or h11's words for them; starts each
    request's trace and gives it the address the response came from. ``proxy`` is the
    URL of the proxy ``inner`` sends every request through, if any."""

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy: str | None = None) -> None:
        self._inner = inner
        self._proxy = None if proxy is None else httpx.URL(proxy)
        _bound_heads(inner)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace: Trace = request.extensions.get(TRACE, UNTRACED)
        trace.start()
        budget = _HeadBudget()
        tunnel = _TunnelWatch(request.extensions.get("trace"))
        extensions = request.extensions
        if self._proxy is not None and self._proxy.scheme.startswith("http"):
            request.extensions = {**extensions, "trace": tunnel}
        token = _HEAD_BUDGET.set(budget)
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.ProxyError as exc:
            if not str(exc)[:3].isdigit():  # not httpcore's refused CONNECT
                raise
            raise self._proxy_error(TunnelRefused, str(exc), request, exc) from exc
        except httpx.RemoteProtocolError as exc:
            if tunnel.pending:
                no_answer = isinstance(exc, NoResponse) or str(exc).startswith(_NO_RESPONSE)
                kind = ProxyNoResponse if no_answer else ProxyMalformedResponse
                raise self._proxy_error(kind, _readable(exc), request, exc) from exc
            _raise_typed(exc)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._raise_proxy_unreached(exc, request)
        finally:
            request.extensions = extensions
            _HEAD_BUDGET.reset(token)  # the body's reads are not counted
        state = h11_state(response.stream)
        # the head may have come whole in the last read: its size is what h11 kept back
        if state is not None and budget.read - len(state.trailing_data[0]) > MAX_HEAD:
            await response.aclose()
            raise MalformedResponse(HEAD_TOO_LARGE, request=request)
        status = response.status_code
        if not MIN_STATUS <= status <= MAX_STATUS:
            await response.aclose()  # its body unread: httpcore closes the connection
            message = f"status {status:03d} outside {MIN_STATUS}-{MAX_STATUS}"
            raise MalformedResponse(message, request=request)
        version = response.extensions.get("http_version", b"HTTP/1.1")
        if version not in HTTP_VERSIONS:
            await response.aclose()
            number = bytes(version).decode("ascii", "replace").removeprefix("HTTP/")
            raise MalformedResponse(f"HTTP version {number}, not 1.0 or 1.1", request=request)
        response.stream = _TypedStream(response.stream)
        stream = response.extensions.get("network_stream")
        if stream is not None:
            server = stream.get_extra_info("server_addr")
            trace.remote_ip = server[0] if isinstance(server, tuple) else None
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _proxy_error(
        self,
        kind: type[TunnelRefused | ProxyNoResponse | ProxyMalformedResponse],
        message: str,
        request: httpx.Request,
        cause: BaseException,
    ) -> httpx.TransportError:
        """``kind`` naming this transport's proxy; a ``TunnelRefused`` takes the status
        that begins ``message`` (httpcore's "407 Proxy Authentication Required")."""
        typed = kind(message, request=request)
        if self._proxy is not None:
            proxy = self._proxy
            typed.proxy = Origin.from_parts(proxy.scheme, proxy.host, proxy.port).authority
            typed.proxy_host = proxy.host
        if isinstance(typed, TunnelRefused):
            typed.status = int(message[:3])
        return typed

    def _raise_proxy_unreached(
        self, exc: httpx.ConnectError | httpx.ConnectTimeout, request: httpx.Request
    ) -> NoReturn:
        """Raise the proxy's own failure when ``exc`` is one (a TLS failure is the
        target's, through the tunnel), or ``exc`` itself."""
        if self._proxy is None or _has_tls_cause(exc):
            raise exc
        proxy = self._proxy
        typed = (
            ProxyConnectTimeout if isinstance(exc, httpx.ConnectTimeout) else ProxyConnectError
        )(str(exc), request=request)
        typed.proxy = Origin.from_parts(proxy.scheme, proxy.host, proxy.port).authority
        typed.proxy_host = proxy.host
        raise typed from exc


def _has_tls_cause(exc: BaseException) -> bool:
    current: BaseException | None = exc
    for _ in range(16):
        if current is None:
            return False
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return False


class _TypedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.RemoteProtocolError as exc:
            _raise_typed(exc)

    async def aclose(self) -> None:
        state = h11_state(self._inner)
        if state is not None and state.their_state is h11.DONE and state.trailing_data[0]:
            state.send(h11.ConnectionClosed())  # httpcore then closes it, not reused
        await self._inner.aclose()


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


class _TunnelWatch:
    """httpcore's ``trace`` extension, passed on to ``inner``; ``pending`` while a CONNECT
    was sent to the proxy and its answer has not arrived."""

    def __init__(self, inner: Callable[[str, Mapping[str, Any]], Awaitable[None]] | None) -> None:
        self._inner = inner
        self.pending = False

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        request = info.get("request")
        if name == "http11.send_request_headers.started":
            self.pending = getattr(request, "method", None) == b"CONNECT"
        elif name == "http11.receive_response_headers.complete":
            self.pending = False
        if self._inner is not None:
            await self._inner(name, info)


def _bound_heads(transport: httpx.AsyncBaseTransport) -> None:
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
        budget = None if self._h2 else _HEAD_BUDGET.get()
        if budget is not None and budget.read >= MAX_HEAD:
            raise MalformedResponse(HEAD_TOO_LARGE)
        data = await self._inner.read(max_bytes, timeout)
        if budget is not None:
            budget.read += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = _HEAD_BUDGET.get()
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


def _raise_typed(exc: httpx.RemoteProtocolError) -> NoReturn:
    """Raise the typed exception ``exc`` means (chained to it), or ``exc`` itself."""
    if isinstance(exc, NoResponse | IncompleteBody | MalformedResponse):
        raise exc
    message = str(exc)
    if message.startswith(_NO_RESPONSE):
        raise NoResponse(message) from exc
    if message.startswith(_INCOMPLETE_BODY):
        raise IncompleteBody(message) from exc
    raise MalformedResponse(_readable(exc)) from exc


def _readable(exc: BaseException) -> str:
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
