"""Fetching one URL with httpx's client: with ``_transport`` and ``_urls``, the only code
that imports httpx, and the only place where exceptions become ``FetchError`` values (see
``error_from_exception``)."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.request import getproxies

import httpx

from fetchall._deadline import Deadline
from fetchall._errors import ErrorKind, FetchError, Response
from fetchall._limits import DEFAULT_PORTS
from fetchall._lines import Line
from fetchall._observer import Observer
from fetchall._result import Err, Ok, Result
from fetchall._retry import parse_retry_after
from fetchall._saving import BodySink, BodyWriteError
from fetchall._settings import Settings
from fetchall._transport import FastTransport
from fetchall._urls import make_url
from fetchall._version import __version__

USER_AGENT = f"fetchall/{__version__}"

MAX_KEEPALIVE = 8
"""Idle connections httpx's own transport (``--transport httpx``, HTTP/2) keeps for reuse.
httpcore's pool does work for every pooled connection on every request: measured at -c 64
on a local server, keeping 64 gave 249 req/s and keeping 8 gave 659 req/s."""

_E = TypeVar("_E", bound=BaseException)


def make_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one client a run shares: a pool as wide as the concurrency, redirects followed."""
    headers = {"User-Agent": settings.user_agent or USER_AGENT}
    headers.update(settings.headers)
    if transport is None and _fast_transport_fits(settings):
        transport = FastTransport(
            ssl_context=lambda: httpx.create_ssl_context(_verify(settings)),
            max_idle=settings.concurrency,
            connect_timeout=settings.connect_timeout,
        )
    client = httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=min(settings.concurrency, MAX_KEEPALIVE),
        ),
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        follow_redirects=settings.follow_redirects,
        max_redirects=settings.max_redirects,
        headers=headers,
        http2=settings.http2,
        verify=_verify(settings),
        proxy=settings.proxy,
    )
    client._cookies = _NoCookies()  # httpx has no switch to turn cookies off
    return client


class _NoCookies(httpx.Cookies):
    """Cookies are neither kept nor sent: each URL of a list is fetched on its own, as
    curl does by default. (Keeping them also cost ~50 us a response in httpx.)"""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing."""


def _fast_transport_fits(settings: Settings) -> bool:
    """Whether fetchall's transport can serve this run: not for HTTP/2, and not when proxy
    variables are set (httpx applies those, with NO_PROXY, only to its own transport)."""
    if settings.transport != "fast" or settings.http2:
        return False
    return not {"http", "https", "all"} & getproxies().keys()


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if not settings.verify:
        return False
    if settings.cacert is not None:
        return ssl.create_default_context(cafile=settings.cacert)
    return True


@dataclass(slots=True)
class _Progress:
    """What is known of a response so far, so a failure can still report it."""

    final_url: str
    status: int | None = None
    received: int = 0
    content_type: str | None = None
    retry_after: float | None = None

    def response(self) -> Response | None:
        if self.status is None:
            return None
        return Response(
            self.status, self.final_url, self.received, self.content_type, self.retry_after
        )


class _TooLarge(Exception):
    """The body is over --max-size."""


async def fetch_one(
    client: httpx.AsyncClient,
    line: Line,
    url: str,
    settings: Settings,
    observer: Observer,
    sink: BodySink | None = None,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> Result[Response, FetchError]:
    """Make one attempt at ``url``: stream and count its body (into ``sink`` if given),
    and return what happened; never raises for anything the network or the server does.
    (``loop``, the running loop, saves asking for it: see ``_deadline``.)"""
    progress = _Progress(url)
    try:
        async with Deadline(loop or asyncio.get_running_loop(), settings.timeout):
            response = await client.send(_new_request(client, settings.method, url), stream=True)
            try:
                progress.status = response.status_code
                progress.final_url = str(response.url)
                progress.content_type = response.headers.get("content-type")
                observer.on_headers(line, response.status_code)
                _check_declared_size(response, settings)
                if response.status_code >= 400:
                    sink = None  # an error page is neither saved nor hashed
                    progress.retry_after = parse_retry_after(response.headers.get("retry-after"))
                async for chunk in _body_chunks(response):
                    progress.received += len(chunk)
                    observer.on_bytes(line, len(chunk))
                    if sink is not None:
                        sink.write(chunk)
                    if settings.max_size is not None and progress.received > settings.max_size:
                        raise _TooLarge(f"body exceeds --max-size of {settings.max_size} bytes")
                reason = response.reason_phrase
            finally:
                await response.aclose()
    except TimeoutError:
        message = f"no complete response within {settings.timeout:g}s"
        return Err(FetchError(ErrorKind.TIMEOUT, message, progress.response()))
    except _TooLarge as exc:
        return Err(FetchError(ErrorKind.TOO_LARGE, str(exc), progress.response()))
    except BodyWriteError as exc:
        return Err(FetchError(ErrorKind.WRITE, str(exc), progress.response()))
    except (httpx.RequestError, httpx.InvalidURL, OSError) as exc:
        return Err(error_from_exception(exc, client, progress))
    fetched = progress.response()
    assert fetched is not None  # the headers arrived, or an exception returned above
    if fetched.status >= 400:
        message = f"HTTP {fetched.status} {reason}".rstrip()
        return Err(FetchError(ErrorKind.HTTP_STATUS, message, fetched))
    return Ok(fetched)


_NO_BODY = httpx.ByteStream(b"")
_EMPTY_BODY_METHODS = ("POST", "PUT", "PATCH")


def _new_request(client: httpx.AsyncClient, method: str, url: str) -> httpx.Request:
    """A bodiless request with the client's headers, made the way httpx makes a redirect's:
    given its stream, httpx skips body encoding and rebuilding the headers (99 -> 92 us per
    URL with a mock transport), and without ``build_request`` there is no merging. So the
    Host and Content-Length headers httpx would add are added here."""
    target = make_url(url)
    headers = client.headers
    extra = [] if "Host" in headers else [(b"Host", target.netloc)]
    if method in _EMPTY_BODY_METHODS and "Content-Length" not in headers:
        extra.append((b"Content-Length", b"0"))
    return httpx.Request(
        method,
        target,
        headers=httpx.Headers([*extra, *headers.raw]),
        stream=_NO_BODY,
        extensions={"timeout": client.timeout.as_dict()},
    )


def _body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it arrives, decoded when it has a Content-Encoding. Without one the
    bytes are the same either way, and the raw ones skip httpx's decoder and rechunker
    (10 us a response). A body already read (mock transports) can only come from httpx's
    copy."""
    if response.is_stream_consumed or "content-encoding" in response.headers:
        return response.aiter_bytes()
    return response.aiter_raw()


def _check_declared_size(response: httpx.Response, settings: Settings) -> None:
    """Refuse a body whose Content-Length is over --max-size before reading it."""
    if settings.max_size is None or settings.method == "HEAD":
        return
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_size:
        raise _TooLarge(
            f"Content-Length {declared} exceeds --max-size of {settings.max_size} bytes"
        )


def error_from_exception(
    exc: httpx.RequestError | httpx.InvalidURL | OSError,
    client: httpx.AsyncClient,
    progress: _Progress,
) -> FetchError:
    """Translate an httpx, httpcore or OS exception into one of the closed set of kinds."""
    kind, message = _classify(exc, client, progress)
    return FetchError(kind, message, progress.response())


def _classify(
    exc: BaseException, client: httpx.AsyncClient, progress: _Progress
) -> tuple[ErrorKind, str]:
    where = _where(exc, progress.final_url)
    detail = _detail(exc)
    began = progress.status is not None
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ErrorKind.INVALID_URL, f"invalid URL: {detail}"
    if isinstance(exc, httpx.TooManyRedirects):
        return ErrorKind.TOO_MANY_REDIRECTS, f"more than {client.max_redirects} redirects"
    if isinstance(exc, httpx.ConnectTimeout):
        return ErrorKind.TIMEOUT, f"could not connect to {where} within {client.timeout.connect}s"
    if isinstance(exc, httpx.ReadTimeout):
        return ErrorKind.TIMEOUT, f"{where} sent nothing for {client.timeout.read}s"
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT, f"timed out talking to {where}"
    if _first_cause(exc, socket.gaierror) is not None:
        return ErrorKind.DNS, f"could not resolve host {_host(exc, progress.final_url)}"
    tls_error = _first_cause(exc, ssl.SSLError)
    if tls_error is not None:
        return ErrorKind.TLS, f"TLS with {where} failed: {_tls_detail(tls_error)}"
    if began:
        if isinstance(exc, httpx.DecodingError):
            return ErrorKind.PROTOCOL, f"could not decode the body from {where}: {detail}"
        if isinstance(exc, httpx.RemoteProtocolError) and "peer closed" not in str(exc):
            return ErrorKind.PROTOCOL, f"malformed response from {where}: {detail}"
        return (
            ErrorKind.READ,
            f"connection to {where} lost after {progress.received} bytes: {detail}",
        )
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
        if "without sending a response" in str(exc) or isinstance(exc, httpx.ReadError):
            return ErrorKind.PROTOCOL, f"{where} closed the connection without answering"
        return ErrorKind.PROTOCOL, f"malformed response from {where}: {detail}"
    if isinstance(exc, httpx.ProtocolError):
        return ErrorKind.PROTOCOL, f"malformed response from {where}: {detail}"
    return ErrorKind.CONNECT, _connect_message(exc, where, detail)


def _connect_message(exc: BaseException, where: str, detail: str) -> str:
    codes = {getattr(cause, "errno", None) for cause in _causes(exc)}
    if errno.ECONNREFUSED in codes:
        return f"connection refused by {where}"
    if codes & {errno.ENETUNREACH, errno.EHOSTUNREACH}:
        return f"{where} is unreachable"
    if codes & {errno.ECONNRESET, errno.EPIPE}:
        return f"connection to {where} reset before the request was sent"
    return f"could not connect to {where}: {detail}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
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


def _first_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    return next((cause for cause in _causes(exc) if isinstance(cause, kind)), None)


def _tls_detail(error: ssl.SSLError) -> str:
    verify_message = getattr(error, "verify_message", None)
    if verify_message:
        return f"certificate verify failed: {verify_message}"
    return error.reason or str(error)


def _detail(exc: BaseException) -> str:
    """The most specific message in the chain."""
    messages = [str(cause) for cause in _causes(exc) if str(cause)]
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
    port = url.port or DEFAULT_PORTS.get(url.scheme, 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"
