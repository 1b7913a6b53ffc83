"""One attempt at one URL: send the request, stream and count the body, and say how it
went as a value; nothing the network or the server does raises out of here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from fetchall._http.codings import decoded
from fetchall._http.deadline import Deadline, SpeedGuard, TooSlow
from fetchall._http.errors import (
    RedirectLimit,
    RefusedRedirect,
    TunnelRefused,
    classify,
    speaks_plain_http,
)
from fetchall._http.redirects import location, send
from fetchall._http.requests import RequestMaker
from fetchall._http.retry_after import parse_retry_after
from fetchall._http.timing import Trace
from fetchall._model import BodyWriteError, Err, ErrorKind, FetchError, Ok, Phase, Response, Result
from fetchall._settings import Settings
from fetchall._targets import masked


class AttemptProgress(Protocol):
    """Told what an attempt does and receives, as it happens (for displays: only update
    counters)."""

    def on_phase(self, phase: Phase) -> None:
        """The request entered ``phase`` (resolving, connecting, tls, waiting, receiving)."""

    def on_headers(self, status: int) -> None:
        """The final response's head arrived with this status."""

    def on_bytes(self, count: int) -> None:
        """``count`` more body bytes (after content decoding) arrived."""

    def on_attempt(self, known: Callable[[], Response | None]) -> None:
        """An attempt began; ``known()`` gives what is known of its response at any moment
        (None before a head arrived), so a run that stops can still report it."""


class BodySink(Protocol):
    """Takes a successful response's body as it arrives."""

    def write(self, chunk: bytes) -> None:
        """Take the next chunk; raises ``BodyWriteError`` when it cannot be kept."""

    def finish(self, *, content: bool = True) -> None:
        """The body arrived whole: keep it; raises ``BodyWriteError`` when it cannot.
        ``content`` is False when the response has none by its nature (``no_content``)."""


@dataclass(slots=True)
class _Partial:
    """What is known of a response so far, so a failure can still report it."""

    final_url: str
    trace: Trace
    """The phases of the request that gave the response."""
    status: int | None = None
    received: int = 0
    content_type: str | None = None
    retry_after: float | None = None
    location: str | None = None
    redirects: int = 0
    content_length: int | None = None
    content_encoding: str | None = None
    http_version: str | None = None

    def response(self) -> Response | None:
        if self.status is None:
            return None
        dns, connect, tls, ttfb = self.trace.timings()
        return Response(
            self.status,
            self.final_url,
            self.received,
            self.content_type,
            self.retry_after,
            location=self.location,
            redirects=self.redirects,
            content_length=self.content_length,
            remote_ip=self.trace.remote_ip,
            http_version=self.http_version,
            time_dns=dns,
            time_connect=connect,
            time_tls=tls,
            time_ttfb=ttfb,
        )


_PLAIN_HTTP_HINT = (
    " (https:// was assumed for this line; write http:// to fetch it over plain HTTP)"
)


class _TooLarge(Exception):
    """The body is over the size limit."""


async def attempt(
    requests: RequestMaker,
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    progress: AttemptProgress,
    sink: BodySink | None,
    loop: asyncio.AbstractEventLoop,
    https_assumed: bool = False,
) -> Result[Response, FetchError]:
    """Make one attempt at ``url`` (a request from ``requests``, sent by ``client``, its
    redirects followed as ``settings`` say), within the
    hard deadline and above the minimum speed the settings give, sending ``settings.body``
    if any: stream and count its body into ``sink`` when the status is below 400 (and
    finish it when whole), and return what happened. ``loop`` is the running loop (asking
    for it costs a system call: see ``deadline``)."""
    partial = _Partial(url, Trace(progress))
    progress.on_attempt(partial.response)
    history: list[httpx.Response] = []
    body = _NO_BODY if settings.body is None else httpx.ByteStream(settings.body)
    try:
        async with _deadline(loop, settings), _speed_guard(loop, settings, partial):
            request = requests.new(settings.method, url, body, partial.trace)
            response = await send(client, request, settings, history)
            try:
                partial.redirects = len(response.history)
                _take_head(response, partial)
                reason = await _receive(response, settings, partial, progress, sink)
            finally:
                await response.aclose()
                response.stream = _NO_BODY  # httpx's held the response: a cycle to collect
    except TooSlow as exc:
        message = str(exc) + _unanswered(partial.trace)
        return Err(FetchError(ErrorKind.TIMEOUT, message, partial.response()))
    except TimeoutError:
        message = f"no complete response within {settings.timeout:g}s" + _unanswered(partial.trace)
        return Err(FetchError(ErrorKind.TIMEOUT, message, partial.response()))
    except _TooLarge as exc:
        return Err(FetchError(ErrorKind.TOO_LARGE, str(exc), partial.response()))
    except BodyWriteError as exc:
        return Err(FetchError(ErrorKind.WRITE, str(exc), partial.response()))
    except (httpx.RequestError, httpx.InvalidURL, OSError) as exc:
        received = None if partial.status is None else partial.received
        if isinstance(exc, RedirectLimit | RefusedRedirect):  # the record keeps the 3xx
            partial.redirects = exc.redirects
            _take_head(exc.response, partial)
        elif isinstance(exc, TunnelRefused):  # the proxy's status, as on plain HTTP
            partial.status = exc.status
        elif partial.status is None and history:  # the last redirect's target failed
            partial.redirects = len(history)
            _take_head(history[-1], partial)
        kind, message = classify(exc, partial.final_url, received, settings)
        if https_assumed and speaks_plain_http(exc, url):
            message += _PLAIN_HTTP_HINT
        return Err(FetchError(kind, masked(message), partial.response()))
    fetched = partial.response()
    assert fetched is not None  # the head arrived, or an exception returned above
    if fetched.status >= 400:
        message = f"HTTP {fetched.status} {reason}".rstrip()
        return Err(FetchError(ErrorKind.HTTP_STATUS, message, fetched))
    return Ok(fetched)


def _take_head(response: httpx.Response, partial: _Partial) -> None:
    """Keep what the last response's head says in ``partial`` (the target of a redirect
    that was not followed too)."""
    partial.status = response.status_code
    partial.final_url = str(response.url)
    fields = _head_fields(response.headers)
    partial.content_type = fields.get(b"content-type")
    partial.content_encoding = fields.get(b"content-encoding")
    partial.content_length = _declared_length(fields.get(b"content-length"))
    partial.location = location(response)
    partial.http_version = response.http_version


_HEAD_FIELDS = frozenset({b"content-type", b"content-length", b"content-encoding"})
"""The fields a record or the body's reading needs, found in one pass over the head."""


def _head_fields(headers: httpx.Headers) -> dict[bytes, str]:
    """The values of ``_HEAD_FIELDS`` in ``headers``, repeated ones joined with ", " as
    ``Headers.get`` joins them. One pass over httpx's list of fields (a private part of
    httpx, pinned): each ``Headers.get`` is a pass of its own, 1 us a field."""
    found: dict[bytes, str] = {}
    for _, name, value in headers._list:
        if name in _HEAD_FIELDS:
            text = _text(value)
            found[name] = f"{found[name]}, {text}" if name in found else text
    return found


async def _receive(
    response: httpx.Response,
    settings: Settings,
    partial: _Partial,
    progress: AttemptProgress,
    sink: BodySink | None,
) -> str:
    """Read the response's body into ``partial`` (and ``sink``); its reason phrase."""
    progress.on_headers(response.status_code)
    _check_declared_size(partial, settings)
    if response.status_code >= 400:
        sink = None  # an error page is neither saved nor hashed
        partial.retry_after = parse_retry_after(response.headers.get("retry-after"))
    async for chunk in _body_chunks(response, partial.content_encoding, settings):
        partial.received += len(chunk)
        progress.on_bytes(len(chunk))
        if sink is not None:
            sink.write(chunk)
        if settings.max_size is not None and partial.received > settings.max_size:
            raise _TooLarge(f"body exceeds --max-size of {settings.max_size} bytes")
    if sink is not None:
        sink.finish(content=not no_content(response.request.method, response.status_code))
    return response.reason_phrase


_NO_CONTENT_STATUSES = frozenset({204, 304})


def no_content(method: str, status: int) -> bool:
    """Whether a response has no content whatever its fields say (RFC 9110 §6.4.1): one to
    HEAD, a 1xx, 204 (No Content) or 304 (Not Modified). Its empty body is no body: it has
    no SHA-256."""
    return method == "HEAD" or status < 200 or status in _NO_CONTENT_STATUSES


class _Unlimited:
    """No limit: a block left as it is."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_UNLIMITED = _Unlimited()


def _deadline(loop: asyncio.AbstractEventLoop, settings: Settings) -> Deadline | _Unlimited:
    return _UNLIMITED if settings.timeout is None else Deadline(loop, settings.timeout)


def _speed_guard(
    loop: asyncio.AbstractEventLoop, settings: Settings, partial: _Partial
) -> SpeedGuard | _Unlimited:
    if not settings.speed_limit:
        return _UNLIMITED
    return SpeedGuard(loop, settings.speed_limit, settings.speed_time, _Transferred(partial))


class _Transferred:
    """What the minimum speed counts: the bytes of response heads and bodies received (a
    head dripped slowly is slow, but not "0 bytes")."""

    __slots__ = ("_partial",)

    def __init__(self, partial: _Partial) -> None:
        self._partial = partial

    @property
    def received(self) -> int:
        return self._partial.received + self._partial.trace.head_bytes


def _unanswered(trace: Trace) -> str:
    """Words naming the proxy whose answer to a CONNECT was awaited when an attempt timed
    out, or "": the target was never reached."""
    return "" if trace.tunnel is None else f": proxy {trace.tunnel} did not answer the CONNECT"


_NO_BODY = httpx.ByteStream(b"")


def _body_chunks(
    response: httpx.Response, content_encoding: str | None, settings: Settings
) -> AsyncIterator[bytes]:
    """The body as it arrives, decoded by ``codings`` when it has a Content-Encoding (and
    ``--raw`` does not ask for it as sent). Without one the raw bytes skip any decoder and
    rechunker (10 us a response with httpx's). A body already read (mock transports) can
    only come from httpx's copy, decoded by httpx."""
    if response.is_stream_consumed:
        return response.aiter_bytes()
    if settings.raw or content_encoding is None:
        return response.aiter_raw()
    codings = response.headers.get_list("content-encoding", split_commas=True)
    return decoded(response.aiter_raw(), codings)


_MAX_LENGTH_DIGITS = 19
"""Content-Length digits that count (63 bits); a longer one is left to the framing, which
refuses it, and to the count of bytes received (``int`` refuses more than 4,300 digits)."""


def _text(value: bytes) -> str:
    """A field's value as text: UTF-8, or Latin-1 when it is not (as httpx decodes)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _declared_length(declared: str | None) -> int | None:
    """A Content-Length field's bytes; None when absent or not one number of ASCII digits
    (``str.isdigit`` takes ``²``; repeated fields come joined with commas)."""
    if declared is None or len(declared) > _MAX_LENGTH_DIGITS:
        return None
    return int(declared) if declared.isascii() and declared.isdigit() else None


def _check_declared_size(partial: _Partial, settings: Settings) -> None:
    """Refuse a body whose Content-Length is over the size limit before reading it."""
    if settings.max_size is None or settings.method == "HEAD":
        return
    declared = partial.content_length
    if declared is not None and declared > settings.max_size:
        raise _TooLarge(
            f"Content-Length {declared} exceeds --max-size of {settings.max_size} bytes"
        )
