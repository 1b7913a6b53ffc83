"""One attempt at one URL: send the request, stream and count the body, and say how it
went as a value; nothing the network or the server does raises out of here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from fetchall._http.deadline import Deadline, SpeedGuard, TooSlow
from fetchall._http.errors import classify, speaks_plain_http
from fetchall._http.redirects import discard, is_followed
from fetchall._http.retry_after import parse_retry_after
from fetchall._http.urls import make_url
from fetchall._model import BodyWriteError, Err, ErrorKind, FetchError, Ok, Response, Result
from fetchall._settings import Settings


class AttemptProgress(Protocol):
    """Told what an attempt receives, as it arrives (for displays: only update counters)."""

    def on_headers(self, status: int) -> None:
        """The final response's head arrived with this status."""

    def on_bytes(self, count: int) -> None:
        """``count`` more body bytes (after content decoding) arrived."""


class BodySink(Protocol):
    """Takes a successful response's body as it arrives."""

    def write(self, chunk: bytes) -> None:
        """Take the next chunk; raises ``BodyWriteError`` when it cannot be kept."""

    def finish(self) -> None:
        """The body arrived whole: keep it; raises ``BodyWriteError`` when it cannot."""


@dataclass(slots=True)
class _Partial:
    """What is known of a response so far, so a failure can still report it."""

    final_url: str
    status: int | None = None
    received: int = 0
    content_type: str | None = None
    retry_after: float | None = None
    location: str | None = None
    redirects: int = 0
    content_length: int | None = None

    def response(self) -> Response | None:
        if self.status is None:
            return None
        return Response(
            self.status,
            self.final_url,
            self.received,
            self.content_type,
            self.retry_after,
            location=self.location,
            redirects=self.redirects,
            content_length=self.content_length,
        )


_PLAIN_HTTP_HINT = (
    " (https:// was assumed for this line; write http:// to fetch it over plain HTTP)"
)


class _TooLarge(Exception):
    """The body is over the size limit."""


class _NotFollowed(Exception):
    """A redirect was to be followed and is not: one too many, or not to http(s)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    progress: AttemptProgress,
    sink: BodySink | None,
    loop: asyncio.AbstractEventLoop,
    https_assumed: bool = False,
) -> Result[Response, FetchError]:
    """Make one attempt at ``url`` (redirects followed as ``settings`` say), within the
    hard deadline and above the minimum speed the settings give, sending ``settings.body``
    if any: stream and count its body into ``sink`` when the status is below 400 (and
    finish it when whole), and return what happened. ``loop`` is the running loop (asking
    for it costs a system call: see ``deadline``)."""
    partial = _Partial(url)
    body = _NO_BODY if settings.body is None else httpx.ByteStream(settings.body)
    try:
        async with _deadline(loop, settings), _speed_guard(loop, settings, partial):
            response = await client.send(
                _new_request(client, settings.method, url, body), stream=True
            )
            if response.next_request is not None and settings.follow_redirects:
                response = await _follow(client, response, settings, partial)
            try:
                _take_head(response, settings, partial)
                reason = await _receive(response, settings, partial, progress, sink)
            finally:
                await response.aclose()
    except TooSlow as exc:
        return Err(FetchError(ErrorKind.TIMEOUT, str(exc), partial.response()))
    except TimeoutError:
        message = f"no complete response within {settings.timeout:g}s"
        return Err(FetchError(ErrorKind.TIMEOUT, message, partial.response()))
    except _TooLarge as exc:
        return Err(FetchError(ErrorKind.TOO_LARGE, str(exc), partial.response()))
    except _NotFollowed as exc:
        return Err(FetchError(exc.kind, str(exc), partial.response()))
    except BodyWriteError as exc:
        return Err(FetchError(ErrorKind.WRITE, str(exc), partial.response()))
    except (httpx.RequestError, httpx.InvalidURL, OSError) as exc:
        received = None if partial.status is None else partial.received
        kind, message = classify(exc, partial.final_url, received, settings)
        if https_assumed and speaks_plain_http(exc, url):
            message += _PLAIN_HTTP_HINT
        return Err(FetchError(kind, message, partial.response()))
    fetched = partial.response()
    assert fetched is not None  # the head arrived, or an exception returned above
    if fetched.status >= 400:
        message = f"HTTP {fetched.status} {reason}".rstrip()
        return Err(FetchError(ErrorKind.HTTP_STATUS, message, fetched))
    return Ok(fetched)


async def _follow(
    client: httpx.AsyncClient, response: httpx.Response, settings: Settings, partial: _Partial
) -> httpx.Response:
    """Follow the redirect ``response`` and those after it as far as ``settings`` allow,
    counting them in ``partial``; the last response, its body unread. (Called only for a
    redirect, so that other responses cost no extra coroutine.)"""
    while (
        response.next_request is not None
        and partial.redirects < settings.max_redirects
        and is_followed(response.next_request)
    ):
        request = response.next_request
        await discard(response)
        partial.redirects += 1
        partial.final_url = str(request.url)
        response = await client.send(request, stream=True)
    return response


def _take_head(response: httpx.Response, settings: Settings, partial: _Partial) -> None:
    """Keep what the last response's head says in ``partial``; raises ``_NotFollowed``
    when it is a redirect that was to be followed but is not."""
    partial.status = response.status_code
    partial.final_url = str(response.url)
    partial.content_type = response.headers.get("content-type")
    partial.content_length = _declared_length(response)
    hop = response.next_request
    if hop is None:
        return
    partial.location = str(hop.url)
    if not settings.follow_redirects:
        return
    if not is_followed(hop):
        scheme = hop.url.scheme
        message = f"redirect to unsupported scheme {scheme!r}: only http and https are followed"
        raise _NotFollowed(ErrorKind.INVALID_URL, message)
    message = f"more than {settings.max_redirects} redirects"
    raise _NotFollowed(ErrorKind.TOO_MANY_REDIRECTS, message)


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
    async for chunk in _body_chunks(response):
        partial.received += len(chunk)
        progress.on_bytes(len(chunk))
        if sink is not None:
            sink.write(chunk)
        if settings.max_size is not None and partial.received > settings.max_size:
            raise _TooLarge(f"body exceeds --max-size of {settings.max_size} bytes")
    if sink is not None:
        sink.finish()
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
    loop: asyncio.AbstractEventLoop, settings: Settings, partial: _Partial
) -> SpeedGuard | _Unlimited:
    if not settings.speed_limit:
        return _UNLIMITED
    return SpeedGuard(loop, settings.speed_limit, settings.speed_time, partial)


_NO_BODY = httpx.ByteStream(b"")
_EMPTY_BODY_METHODS = ("POST", "PUT", "PATCH")


def _new_request(
    client: httpx.AsyncClient, method: str, url: str, body: httpx.ByteStream
) -> httpx.Request:
    """A request with the client's headers and ``body``, made the way httpx makes a
    redirect's: given its stream, httpx skips body encoding and rebuilding the headers
    (99 -> 92 us per URL with a mock transport), and without ``build_request`` there is no
    merging. So the Host and Content-Length headers httpx would add are added here (the
    client's headers hold the Content-Length of a body)."""
    target = make_url(url)
    headers = client.headers
    extra = [] if "Host" in headers else [(b"Host", target.netloc)]
    if method in _EMPTY_BODY_METHODS and "Content-Length" not in headers:
        extra.append((b"Content-Length", b"0"))
    return httpx.Request(
        method,
        target,
        headers=httpx.Headers([*extra, *headers.raw]),
        stream=body,
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


def _declared_length(response: httpx.Response) -> int | None:
    """The Content-Length of ``response`` in bytes; None when absent or not one number
    (httpx joins repeated fields with commas)."""
    declared = response.headers.get("content-length")
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return None
    return int(declared)


def _check_declared_size(partial: _Partial, settings: Settings) -> None:
    """Refuse a body whose Content-Length is over the size limit before reading it."""
    if settings.max_size is None or settings.method == "HEAD":
        return
    declared = partial.content_length
    if declared is not None and declared > settings.max_size:
        raise _TooLarge(
            f"Content-Length {declared} exceeds --max-size of {settings.max_size} bytes"
        )
