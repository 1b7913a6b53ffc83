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

It also starts each request's ``Trace`` (httpcore marks the phases through its ``trace``
extension) and takes the address connected to from the response's ``network_stream``
(httpcore's ``server_addr``: a proxy's, through a proxy).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import NoReturn

import httpx

from fetchall._http.errors import (
    IncompleteBody,
    MalformedResponse,
    NoResponse,
    ProxyConnectError,
    ProxyConnectTimeout,
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


class TypedErrorsTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; raises ``NoResponse`` and ``IncompleteBody`` where it raised
    ``httpx.RemoteProtocolError`` with httpcore's or h11's words for them; starts each
    request's trace and gives it the address the response came from. ``proxy`` is the
    URL of the proxy ``inner`` sends every request through, if any."""

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy: str | None = None) -> None:
        self._inner = inner
        self._proxy = None if proxy is None else httpx.URL(proxy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace: Trace = request.extensions.get(TRACE, UNTRACED)
        trace.start()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.RemoteProtocolError as exc:
            _raise_typed(exc)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._raise_proxy_unreached(exc, request)
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
        await self._inner.aclose()


def _raise_typed(exc: httpx.RemoteProtocolError) -> NoReturn:
    """Raise the typed exception ``exc`` means (chained to it), or ``exc`` itself."""
    message = str(exc)
    if message.startswith(_NO_RESPONSE):
        raise NoResponse(message) from exc
    if message.startswith(_INCOMPLETE_BODY):
        raise IncompleteBody(message) from exc
    raise exc
