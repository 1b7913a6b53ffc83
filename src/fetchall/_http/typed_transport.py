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
a reset ``ProxyNoResponse`` too (``ProxyMalformedResponse`` once bytes of its answer came),
and no answer within the read timeout ``ProxyReadTimeout``; each names the proxy (a
deadline or the minimum speed ending the attempt then names it too, through the trace's
``tunnel``). Which phase a failure met is seen through httpcore's ``trace`` extension (the
CONNECT request carries the request's extensions).

Two bounds fetchall's parser keeps that httpcore lacks (bytes after a complete response
close the connection; response heads, interim ones included, over 100 KiB are refused),
and h11's messages that quote bytes made printable, are ``httpcore_reach``'s, which
reaches httpcore's and h11's private objects for them.

It also starts each request's ``Trace`` (httpcore marks the phases through its ``trace``
extension) and takes the address connected to from the response's ``network_stream``
(httpcore's ``server_addr``: a proxy's, through a proxy).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NoReturn

import httpx

from fetchall._http.errors import (
    IncompleteBody,
    MalformedResponse,
    NoResponse,
    ProxyConnectError,
    ProxyConnectTimeout,
    ProxyMalformedResponse,
    ProxyNoResponse,
    ProxyReadTimeout,
    StreamEnded,
    TunnelRefused,
    connection_end,
    first_cause,
)
from fetchall._http.http2_errors import H2_ERRORS, typed
from fetchall._http.httpcore_reach import (
    HEAD_BUDGET,
    HEAD_TOO_LARGE,
    HeadBudget,
    bound_heads,
    close_if_trailing,
    head_too_large,
    readable,
)
from fetchall._http.partial import declared_length, no_content
from fetchall._http.timing import CURRENT, TRACE, UNTRACED, Trace
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

_BODY_ERRORS: tuple[type[Exception], ...] = (httpx.RemoteProtocolError, *H2_ERRORS)
"""What a body's reading raises that ``_raise_typed`` types (h2's own, over HTTP/2)."""


class TypedErrorsTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; raises ``NoResponse`` and ``IncompleteBody`` where it raised
    ``httpx.RemoteProtocolError`` with httpcore's or h11's words for them; starts each
    request's trace and gives it the address the response came from. ``proxy`` is the
    URL of the proxy ``inner`` sends every request through, if any."""

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy: str | None = None) -> None:
        self._inner = inner
        self._proxy = None if proxy is None else httpx.URL(proxy)
        bound_heads(inner)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace: Trace = request.extensions.get(TRACE, UNTRACED)
        trace.start()
        budget = HeadBudget(trace=trace)
        tunnel = _TunnelWatch(request.extensions.get("trace"), trace, self._authority())
        extensions = request.extensions
        http_proxy = self._proxy is not None and self._proxy.scheme.startswith("http")
        if http_proxy:
            request.extensions = {**extensions, "trace": tunnel}
        # an http:// request through an HTTP proxy is forwarded by it (no CONNECT): whatever
        # breaks before the head is the proxy's doing, as while a CONNECT is pending
        forwarded = http_proxy and request.url.scheme == "http"
        token = HEAD_BUDGET.set(budget)
        current = CURRENT.set(trace)  # the resolving backend marks the lookup's end in it
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.ProxyError as exc:
            if not str(exc)[:3].isdigit():  # not httpcore's refused CONNECT
                raise
            raise self._proxy_error(TunnelRefused, str(exc), request, exc) from exc
        except httpx.RemoteProtocolError as exc:
            no_answer = isinstance(exc, NoResponse) or str(exc).startswith(_NO_RESPONSE)
            if tunnel.pending or forwarded:  # bytes of a head came: not "without answering"
                kind = ProxyNoResponse if no_answer and not budget.read else ProxyMalformedResponse
                message = _head_cut(None) if no_answer and budget.read else readable(exc)
                raise self._proxy_error(kind, message, request, exc) from exc
            if no_answer and budget.read:  # httpcore's words, though bytes of a head came
                raise MalformedResponse(_head_cut(None), request=request) from exc
            _raise_typed(exc, in_body=False)
        except httpx.LocalProtocolError as exc:  # httpcore's wrapping of h2's ProtocolError
            _raise_typed(exc, in_body=False)
        except (httpx.ReadError, httpx.WriteError) as exc:  # reset (or failed) before the head
            lost = _head_cut(exc) if budget.read else None
            if tunnel.pending or forwarded:
                kind = ProxyNoResponse if lost is None else ProxyMalformedResponse
                raise self._proxy_error(kind, lost or str(exc), request, exc) from exc
            if lost is not None:
                raise MalformedResponse(lost, request=request) from exc
            raise
        except httpx.ReadTimeout as exc:
            if not (tunnel.pending or forwarded):
                raise
            raise self._proxy_error(ProxyReadTimeout, str(exc), request, exc) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._raise_proxy_unreached(exc, request)
        finally:
            request.extensions = extensions
            HEAD_BUDGET.reset(token)  # the body's reads are not counted
            CURRENT.reset(current)
        await _check_head(response, budget, request)
        response.stream = _TypedStream(response.stream, _declared(response, request))
        stream = response.extensions.get("network_stream")
        if stream is not None:
            server = stream.get_extra_info("server_addr")
            trace.remote_ip = server[0] if isinstance(server, tuple) else None
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _authority(self) -> str:
        """The proxy's ``host:port``, or "" without one."""
        proxy = self._proxy
        if proxy is None:
            return ""
        return Origin.from_parts(proxy.scheme, proxy.host, proxy.port).authority

    def _proxy_error(
        self,
        kind: type[TunnelRefused | ProxyNoResponse | ProxyMalformedResponse | ProxyReadTimeout],
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
        if self._proxy is None or first_cause(exc, ssl.SSLError) is not None:
            raise exc
        proxy = self._proxy
        typed = (
            ProxyConnectTimeout if isinstance(exc, httpx.ConnectTimeout) else ProxyConnectError
        )(str(exc), request=request)
        typed.proxy = Origin.from_parts(proxy.scheme, proxy.host, proxy.port).authority
        typed.proxy_host = proxy.host
        raise typed from exc


async def _check_head(response: httpx.Response, budget: HeadBudget, request: httpx.Request) -> None:
    """Refuse (``MalformedResponse``, the response closed) a head over the size limit, a
    status outside 100-599, or a version not in ``HTTP_VERSIONS``, as fetchall's transport
    refuses them."""
    if head_too_large(response.stream, budget):
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


def _declared(response: httpx.Response, request: httpx.Request) -> int | None:
    """The body length the head declares (one Content-Length of digits), if the response
    has a body by its nature (``partial.no_content``)."""
    if no_content(request.method, response.status_code):
        return None
    values = response.headers.get_list("content-length")
    return declared_length(values[0]) if len(set(values)) == 1 else None


class _TypedStream(httpx.AsyncByteStream):
    """The body as httpcore reads it, its errors typed; one that ends short of its
    Content-Length is ``IncompleteBody``, whatever ended it (h11 checks this, but over
    HTTP/2 httpcore ended a stream quietly at a broken trailer section: a cut body was
    taken as whole)."""

    def __init__(
        self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, declared: int | None
    ) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner
        self._declared = declared

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        try:
            async for chunk in self._inner:
                received += len(chunk)
                yield chunk
        except _BODY_ERRORS as exc:
            _raise_typed(exc, in_body=True)
        if self._declared is not None and received < self._declared:
            message = f"the response ended after {received} of {self._declared} body bytes"
            raise IncompleteBody(message)

    async def aclose(self) -> None:
        close_if_trailing(self._inner)  # httpcore then closes it, not reused
        await self._inner.aclose()


class _TunnelWatch:
    """httpcore's ``trace`` extension, passed on to ``inner``; ``pending`` while a CONNECT
    was sent to the proxy and its answer has not arrived (told to ``trace`` as its
    ``tunnel``: a deadline or the minimum speed that ends the attempt then names it)."""

    def __init__(
        self,
        inner: Callable[[str, Mapping[str, Any]], Awaitable[None]] | None,
        trace: Trace,
        proxy: str,
    ) -> None:
        self._inner = inner
        self._trace = trace
        self._proxy = proxy
        self.pending = False

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        request = info.get("request")
        if name == "http11.send_request_headers.started":
            self.pending = getattr(request, "method", None) == b"CONNECT"
        elif name == "http11.receive_response_headers.complete":
            self.pending = False
        self._trace.tunnel = self._proxy if self.pending else None  # for a deadline's words
        if self._inner is not None:
            await self._inner(name, info)


def _head_cut(lost: BaseException | None) -> str:
    """The words for a connection ended (``lost``: how, None for the peer's close) after
    bytes of a response head came, as fetchall's parser says them (``final_head``)."""
    return f"{connection_end(lost)} inside the response head"


def _raise_typed(exc: Exception, *, in_body: bool) -> NoReturn:
    """Raise the typed exception ``exc`` (met before the head or ``in_body``) means
    (chained to it), or ``exc`` itself."""
    if isinstance(exc, NoResponse | IncompleteBody | MalformedResponse | StreamEnded):
        raise exc
    http2 = typed(exc, in_body=in_body)
    if http2 is not None:
        raise http2 from exc
    if not isinstance(exc, httpx.RemoteProtocolError):
        raise exc
    message = str(exc)
    if message.startswith(_NO_RESPONSE):
        raise NoResponse(message) from exc
    if message.startswith(_INCOMPLETE_BODY):
        raise IncompleteBody(message) from exc
    raise MalformedResponse(readable(exc)) from exc
