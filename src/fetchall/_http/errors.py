"""Exceptions to error kinds, in one place (as httpx's ``map_httpcore_exceptions``): every
exception an attempt can meet becomes one ``ErrorKind`` and a message for people.

Kinds are decided by exception type only. Transports raise httpx's exceptions, chained to
their cause (``OSError``, ``socket.gaierror``, ``ssl.SSLError``; ``ResolveError`` from
every transport, httpx's through ``backend``; from fetchall's also ``connect.ConnectError``:
their messages already name the host, its addresses and their fates), and typed
subclasses of ``httpx.RemoteProtocolError`` that httpx lacks (httpx's own transport says
the first two only in its messages; see ``typed_transport``)::

    httpx.RemoteProtocolError
    ├── NoResponse          closed before any byte of a response: ``protocol`` (a reused
    │                       connection's request is retried once, if safe)
    ├── IncompleteBody      closed inside a body its framing says is not over: ``read``
    │   └── StreamCut       an HTTP/2 body ended by RST_STREAM or GOAWAY: ``read``
    ├── StreamEnded         HTTP/2: RST_STREAM or GOAWAY before the head: ``protocol``
    └── MalformedResponse   bytes that are not an acceptable HTTP/1.x response, or HTTP/2
                            broken by the server: ``protocol``

and, from ``typed_transport`` through a proxy, ``ProxyConnectError`` and
``ProxyConnectTimeout`` (subclasses of httpx's): the proxy itself could not be resolved or
reached; ``ProxyNoResponse`` and ``ProxyMalformedResponse``: it answered the CONNECT with
nothing or with no acceptable response; ``TunnelRefused``: it answered the CONNECT with a
status outside 2xx (``http_status``, the record keeps the status). Their messages name the
proxy, not the target.

Following redirects (``redirects``) raises ``RefusedRedirect`` and ``RedirectLimit``;
decoding a body (``codings``) raises ``httpx.DecodingError``.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from typing import TypeVar

import httpx

from fetchall._http.connect import ConnectError
from fetchall._http.resolver import ResolveError
from fetchall._model import ErrorKind
from fetchall._origin import Origin
from fetchall._settings import Settings

_E = TypeVar("_E", bound=BaseException)


class Worded:
    """Mixed into the errors whose own message says, for people, what their cause says
    (a record shows it rather than the cause's)."""


class NoResponse(httpx.RemoteProtocolError):
    """The server closed the connection before sending any response."""


class IncompleteBody(httpx.RemoteProtocolError):
    """The connection ended before the whole body (by its framing) arrived."""


class StreamCut(Worded, IncompleteBody):
    """The server reset the request's HTTP/2 stream (RST_STREAM, RFC 9113 §6.4) or ended
    the connection (GOAWAY, §6.8) inside the body; the message names the error code."""


class StreamEnded(Worded, httpx.RemoteProtocolError):
    """The server reset the request's HTTP/2 stream or ended the connection before the
    response head (RFC 9113 §6.4, §6.8); the message names the error code."""


class MalformedResponse(Worded, httpx.RemoteProtocolError):
    """The bytes received break HTTP/1.1 in a way fetchall will not guess around (the
    message says how); the connection they came on is closed at once."""


class ProxyUnreached:
    """Mixed into the errors that are the proxy's own, not the target's: it could not be
    resolved or reached, refused the tunnel, or answered the CONNECT with no acceptable
    response. ``proxy`` is its ``host:port``, ``proxy_host`` its host."""

    proxy: str = ""
    proxy_host: str = ""


class ProxyConnectError(ProxyUnreached, httpx.ConnectError):
    """The proxy's name did not resolve, or it refused or did not take the connection."""


class ProxyConnectTimeout(ProxyUnreached, httpx.ConnectTimeout):
    """The proxy did not take the connection within the connect timeout."""


class ProxyReadTimeout(ProxyUnreached, httpx.ReadTimeout):
    """The proxy did not answer the CONNECT (or a request it forwards) within the read
    timeout."""


class ProxyNoResponse(ProxyUnreached, NoResponse):
    """The proxy closed the connection without answering the CONNECT (or a request it
    forwards)."""


class ProxyMalformedResponse(ProxyUnreached, MalformedResponse):
    """The proxy answered the CONNECT (or a request it forwards) with bytes that are not
    an acceptable response."""


class TunnelRefused(ProxyUnreached, httpx.ProxyError):
    """The proxy answered the CONNECT with a status outside 2xx (``status``): the record
    keeps it, as when a proxy answers a plain-HTTP request so (curl: "CONNECT tunnel
    failed, response 407")."""

    status: int = 0


class RefusedRedirect(httpx.InvalidURL):
    """A redirect's target is not a URL fetchall requests; the message says which and why.
    ``response`` is the redirect (its body closed), ``redirects`` the hops followed before."""

    def __init__(self, message: str, *, response: httpx.Response, redirects: int) -> None:
        super().__init__(message)
        self.response = response
        self.redirects = redirects


class RedirectLimit(httpx.TooManyRedirects):
    """More redirects than allowed; ``response`` is the last redirect (its body closed),
    ``redirects`` the hops followed."""

    def __init__(self, message: str, *, response: httpx.Response, redirects: int) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.redirects = redirects


def connection_end(lost: BaseException | None) -> str:
    """How a connection ended, for people: "the connection closed" for the peer's orderly
    close (``lost`` None: FIN), "the connection was reset" for a reset (RST: an
    ``ECONNRESET`` or ``EPIPE`` anywhere in ``lost``'s chain), else "the connection failed
    (reason)"."""
    if lost is None:
        return "the connection closed"
    codes = {getattr(cause, "errno", None) for cause in causes(lost)}
    if codes & {errno.ECONNRESET, errno.EPIPE}:
        return "the connection was reset"
    reason = _detail(lost)
    return f"the connection failed ({reason})"


def classify(
    exc: httpx.RequestError | httpx.InvalidURL | OSError,
    url: str,
    received: int | None,
    settings: Settings,
) -> tuple[ErrorKind, str]:
    """The kind and message of an attempt's failure: ``url`` is the URL last requested,
    ``received`` the body bytes read so far, or None when no response head arrived."""
    proxy = next((cause for cause in causes(exc) if isinstance(cause, ProxyUnreached)), None)
    where = _where(exc, url) if proxy is None else f"proxy {proxy.proxy}"
    detail = _detail(exc)
    if isinstance(exc, RefusedRedirect):
        return ErrorKind.INVALID_URL, str(exc)
    if isinstance(exc, TunnelRefused):
        return ErrorKind.HTTP_STATUS, f"{where} refused the tunnel: {exc}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ErrorKind.INVALID_URL, f"invalid URL: {detail}"
    if isinstance(exc, httpx.TooManyRedirects):
        limit = settings.max_redirects
        return ErrorKind.TOO_MANY_REDIRECTS, f"more than {limit} redirect{'s' * (limit != 1)}"
    unreached = first_cause(exc, ConnectError)
    if unreached is not None:
        return (ErrorKind.TIMEOUT if unreached.timed_out else ErrorKind.CONNECT), str(unreached)
    unresolved = first_cause(exc, ResolveError)
    if unresolved is not None:
        if proxy is not None:  # the proxy's own name (the target's is the proxy's to resolve)
            host, reason = unresolved.host, unresolved.reason
            return ErrorKind.DNS, f"could not resolve proxy host {host}: {reason}"
        return ErrorKind.DNS, str(unresolved)
    if isinstance(exc, httpx.ConnectTimeout):
        return ErrorKind.TIMEOUT, f"could not connect to {where} within {settings.connect_timeout}s"
    if isinstance(exc, httpx.ReadTimeout):
        waited = "in time" if settings.timeout is None else f"for {settings.timeout}s"
        return ErrorKind.TIMEOUT, f"{where} sent nothing {waited}"
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT, f"timed out talking to {where}"
    if first_cause(exc, socket.gaierror) is not None:
        host = f"host {_host(exc, url)}" if proxy is None else f"proxy host {proxy.proxy_host}"
        return ErrorKind.DNS, f"could not resolve {host}"
    tls_error = first_cause(exc, ssl.SSLError)
    if tls_error is not None:
        return ErrorKind.TLS, f"TLS with {where} failed: {_tls_detail(tls_error)}"
    if received is not None:
        return _after_head(exc, where, detail, received)
    if isinstance(exc, StreamEnded):
        return ErrorKind.PROTOCOL, f"no response from {where}: {exc}"
    if isinstance(exc, NoResponse | httpx.ReadError):
        return ErrorKind.PROTOCOL, f"{where} closed the connection without answering"
    if isinstance(exc, httpx.ProtocolError):
        return ErrorKind.PROTOCOL, f"malformed response from {where}: {detail}"
    return ErrorKind.CONNECT, _connect_message(exc, where, detail)


PLAIN_HTTP_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}
)
"""OpenSSL's reasons for a TLS handshake answered by something that is not TLS: what a
plain-HTTP server's reply looks like to it (the record header holds "HTTP/" bytes)."""


def speaks_plain_http(exc: BaseException, url: str) -> bool:
    """Whether the TLS handshake with ``url``'s own server (not a redirect's) failed
    because the other side answered in plain text."""
    tls_error = first_cause(exc, ssl.SSLError)
    if tls_error is None or tls_error.reason not in PLAIN_HTTP_TLS_REASONS:
        return False
    failed = _failed_url(exc, url)
    return failed is not None and _where(exc, url) == Origin.of(url).authority


def _after_head(
    exc: BaseException, where: str, detail: str, received: int
) -> tuple[ErrorKind, str]:
    """A failure once the response head arrived: malformed, or the connection lost."""
    if isinstance(exc, httpx.DecodingError):
        return ErrorKind.PROTOCOL, f"could not decode the body from {where}: {detail}"
    if isinstance(exc, httpx.RemoteProtocolError) and not isinstance(exc, IncompleteBody):
        return ErrorKind.PROTOCOL, f"malformed response from {where}: {detail}"
    return ErrorKind.READ, f"connection to {where} lost after {received} bytes: {detail}"


def _connect_message(exc: BaseException, where: str, detail: str) -> str:
    codes = {getattr(cause, "errno", None) for cause in causes(exc)}
    if errno.ECONNREFUSED in codes:
        return f"connection refused by {where}"
    if codes & {errno.ENETUNREACH, errno.EHOSTUNREACH}:
        return f"{where} is unreachable"
    if codes & {errno.ECONNRESET, errno.EPIPE}:
        return f"connection to {where} reset before the request was sent"
    return f"could not connect to {where}: {detail}"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it, down the chain (into exception groups too)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__


def first_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of type ``kind`` in ``exc``'s chain (``causes``), or None."""
    return next((cause for cause in causes(exc) if isinstance(cause, kind)), None)


def _tls_detail(error: ssl.SSLError) -> str:
    verify_message = getattr(error, "verify_message", None)
    if verify_message:
        return f"certificate verify failed: {verify_message}"
    return error.reason or str(error)


def _detail(exc: BaseException) -> str:
    """The most specific message in the chain: a ``Worded`` error's or an
    ``IncompleteBody``'s own (it says what its cause says, for people), else the last."""
    typed = (c for c in causes(exc) if isinstance(c, Worded | IncompleteBody))
    own = next(typed, None)
    if own is not None and str(own):
        return str(own)
    messages = [str(cause) for cause in causes(exc) if str(cause)]
    return messages[-1] if messages else type(exc).__name__


def _failed_url(exc: BaseException, fallback: str) -> httpx.URL | None:
    """The URL of the request that failed (after redirects), when it can be known."""
    try:
        if isinstance(exc, httpx.RequestError):
            return exc.request.url
    except RuntimeError:  # httpx raises this when no request is attached
        pass
    try:
        return httpx.URL(fallback)
    except httpx.InvalidURL:
        return None


def _host(exc: BaseException, fallback: str) -> str:
    url = _failed_url(exc, fallback)
    return url.host if url is not None else fallback


def _where(exc: BaseException, fallback: str) -> str:
    """``host:port`` of the request that failed."""
    url = _failed_url(exc, fallback)
    if url is None:
        return fallback
    return Origin.from_parts(url.scheme, url.host, url.port).authority
