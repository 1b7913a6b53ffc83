"""One attempt at one URL: send the request, stream and count the body, and say how it
went as a value; nothing the network or the server does raises out of here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
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
from fetchall._http.partial import Partial, Transferred, no_content, take_head
from fetchall._http.redirects import send
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
    partial = Partial(url, Trace(progress))
    progress.on_attempt(partial.response)
    history: list[httpx.Response] = []
    body = _NO_BODY if settings.body is None else httpx.ByteStream(settings.body)
    try:
        async with _deadline(loop, settings), _speed_guard(loop, settings, partial):
            request = requests.new(settings.method, url, body, partial.trace)
            response = await send(client, request, settings, history)
            try:
                partial.redirects = len(response.history)
                take_head(response, partial)
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
            take_head(exc.response, partial)
        elif isinstance(exc, TunnelRefused):  # the proxy's status, as on plain HTTP
            partial.status = exc.status
        elif partial.status is None and history:  # the last redirect's target failed
            partial.redirects = len(history)
            take_head(history[-1], partial)
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


async def _receive(
    response: httpx.Response,
    settings: Settings,
    partial: Partial,
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
    loop: asyncio.AbstractEventLoop, settings: Settings, partial: Partial
) -> SpeedGuard | _Unlimited:
    if not settings.speed_limit:
        return _UNLIMITED
    return SpeedGuard(loop, settings.speed_limit, settings.speed_time, Transferred(partial))


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


def _check_declared_size(partial: Partial, settings: Settings) -> None:
    """Refuse a body whose Content-Length is over the size limit before reading it."""
    if settings.max_size is None or settings.method == "HEAD":
        return
    declared = partial.content_length
    if declared is not None and declared > settings.max_size:
        raise _TooLarge(
            f"Content-Length {declared} exceeds --max-size of {settings.max_size} bytes"
        )
