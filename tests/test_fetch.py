"""One attempt against mocked transports: every response shape and every error kind."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from fetchall import Err, ErrorKind, Ok, Response, Settings
from fetchall._http import HttpClient

pytestmark = pytest.mark.anyio

URL = "http://site.test/page"
H11 = "HTTP/1.1"
"""What a mock transport's responses say (httpx's default)."""


class Recorder:
    """Collects the events an attempt reports."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.byte_counts: list[int] = []

    def on_phase(self, phase: object) -> None:
        """Not recorded: mock transports have no phases."""

    def on_headers(self, status: int) -> None:
        self.statuses.append(status)

    def on_bytes(self, count: int) -> None:
        self.byte_counts.append(count)

    def on_attempt(self, known: object) -> None:
        """Not recorded."""


async def fetch(
    router: respx.MockRouter | httpx.MockTransport,
    url: str = URL,
    settings: Settings | None = None,
    observer: Recorder | None = None,
):
    settings = settings or Settings()
    if isinstance(router, respx.MockRouter):
        router = httpx.MockTransport(router.async_handler)
    async with HttpClient(settings, router) as client:
        loop = asyncio.get_running_loop()
        return await client.attempt(url, observer or Recorder(), loop=loop)


def error_of(result) -> tuple[ErrorKind, str]:
    assert isinstance(result, Err), result
    return result.error.kind, result.error.message


async def test_success_counts_the_body_bytes() -> None:
    """A 200 is Ok with the status, byte count and content type."""
    router = respx.MockRouter()
    router.get(URL).respond(200, content=b"x" * 1234, headers={"Content-Type": "text/html"})
    assert await fetch(router) == Ok(
        Response(200, URL, 1234, "text/html", content_length=1234, http_version=H11)
    )


async def test_bytes_are_counted_after_content_decoding() -> None:
    """A gzip body counts its decoded bytes."""
    router = respx.MockRouter()
    body = gzip.compress(b"z" * 5000)
    router.get(URL).respond(200, content=body, headers={"Content-Encoding": "gzip"})
    result = await fetch(router)
    assert isinstance(result, Ok)
    assert result.value.bytes == 5000


async def test_observer_sees_headers_and_every_chunk() -> None:
    """The observer is told the status and the size of every chunk."""

    async def chunks() -> AsyncIterator[bytes]:
        for size in (10, 20, 30):
            yield b"a" * size

    router = respx.MockRouter()
    router.get(URL).respond(200, stream=_Stream(chunks()))
    recorder = Recorder()
    result = await fetch(router, observer=recorder)
    assert recorder.statuses == [200]
    assert sum(recorder.byte_counts) == 60
    assert isinstance(result, Ok)
    assert result.value.bytes == 60


async def test_redirects_are_followed_to_the_final_url() -> None:
    """A redirect chain ends at its target, which the response names."""
    router = respx.MockRouter()
    router.get(URL).respond(302, headers={"Location": "http://site.test/moved"})
    router.get("http://site.test/moved").respond(200, content=b"here")
    expected = Response(
        200, "http://site.test/moved", 4, None, redirects=1, content_length=4, http_version=H11
    )
    assert await fetch(router) == Ok(expected)


async def test_a_redirect_loop_is_too_many_redirects() -> None:
    """More redirects than allowed end as too_many_redirects."""
    router = respx.MockRouter()
    router.get(URL).respond(302, headers={"Location": URL})
    kind, message = error_of(await fetch(router, settings=Settings(max_redirects=3)))
    assert kind is ErrorKind.TOO_MANY_REDIRECTS
    assert "more than 3 redirects" in message
    _, message = error_of(await fetch(router, settings=Settings(max_redirects=1)))
    assert message == "more than 1 redirect"


async def test_an_error_status_is_an_err_that_keeps_the_response() -> None:
    """A 404 is an http_status error carrying status and bytes."""
    router = respx.MockRouter()
    router.get(URL).respond(404, content=b"missing!")
    result = await fetch(router)
    assert isinstance(result, Err)
    assert result.error.kind is ErrorKind.HTTP_STATUS
    assert result.error.message == "HTTP 404 Not Found"
    assert result.error.response == Response(404, URL, 8, None, content_length=8, http_version=H11)


async def test_a_3xx_without_location_is_ok() -> None:
    """A status below 400 that is not followed is still a success."""
    router = respx.MockRouter()
    router.get(URL).respond(304)
    result = await fetch(router)
    assert isinstance(result, Ok)
    assert result.value.status == 304


@pytest.mark.parametrize(
    ("declared", "expected"),
    [(b"42", 42), (b"0", 0), (None, None), (b"12abc", None), (b"-1", None), (b"\xb2", None)],
)
async def test_content_length_is_a_number_or_none(
    declared: bytes | None, expected: int | None
) -> None:
    """The declared Content-Length of a HEAD response, or None when absent or not a number
    (a superscript two, latin-1 0xB2, is a digit to ``str.isdigit`` but not to ``int``)."""
    router = respx.MockRouter()
    headers = [] if declared is None else [(b"Content-Length", declared)]
    router.head(URL).respond(200, headers=headers)
    result = await fetch(router, settings=Settings(method="HEAD", max_size=10))
    assert isinstance(result, Ok)
    assert result.value.content_length == expected


def self_signed() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    error.verify_message = "self-signed certificate"
    return error


def caused(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exception", "kind", "words"),
    [
        (
            caused(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            ErrorKind.DNS,
            "could not resolve host site.test",
        ),
        (
            caused(httpx.ConnectError("x"), ConnectionRefusedError(111, "refused")),
            ErrorKind.CONNECT,
            "connection refused by site.test:80",
        ),
        (
            caused(httpx.ConnectError("x"), OSError(113, "No route to host")),
            ErrorKind.CONNECT,
            "site.test:80 is unreachable",
        ),
        (
            caused(httpx.ConnectError("x"), self_signed()),
            ErrorKind.TLS,
            "TLS with site.test:80 failed: certificate verify failed: self-signed certificate",
        ),
        (
            httpx.ConnectTimeout("x"),
            ErrorKind.TIMEOUT,
            "could not connect to site.test:80 within 10.0s",
        ),
        (httpx.ReadTimeout("x"), ErrorKind.TIMEOUT, "site.test:80 sent nothing in time"),
        (httpx.PoolTimeout("x"), ErrorKind.TIMEOUT, "timed out"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            ErrorKind.PROTOCOL,
            "closed the connection without answering",
        ),
        (httpx.ReadError("reset"), ErrorKind.PROTOCOL, "closed the connection without answering"),
        (
            httpx.RemoteProtocolError("illegal status line"),
            ErrorKind.PROTOCOL,
            "malformed response",
        ),
        (httpx.WriteError("broken pipe"), ErrorKind.CONNECT, "could not connect to site.test:80"),
        (httpx.UnsupportedProtocol("no"), ErrorKind.INVALID_URL, "invalid URL"),
        (httpx.ProxyError("proxy said no"), ErrorKind.CONNECT, "proxy said no"),
    ],
)
async def test_each_exception_maps_to_its_kind(
    exception: Exception, kind: ErrorKind, words: str
) -> None:
    """Every transport exception becomes one error kind with a readable message."""

    def handler(request: httpx.Request) -> httpx.Response:
        exception.__traceback__ = None
        raise exception

    result = await fetch(httpx.MockTransport(handler))
    assert isinstance(result, Err)
    assert result.error.kind is kind
    assert words in result.error.message
    assert result.error.response is None


async def test_a_read_timeout_names_the_deadline_when_there_is_one() -> None:
    """With -t, httpx's transport reads with that timeout, and the message gives it."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("x")

    result = await fetch(httpx.MockTransport(handler), settings=Settings(timeout=30.0))
    assert error_of(result) == (ErrorKind.TIMEOUT, "site.test:80 sent nothing for 30.0s")


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


def broken_stream(exception: Exception) -> _Stream:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 100
        raise exception

    return _Stream(chunks())


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (httpx.ReadError("Connection reset by peer"), ErrorKind.READ),
        (
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            ),
            ErrorKind.READ,
        ),
        (httpx.RemoteProtocolError("malformed chunk"), ErrorKind.PROTOCOL),
        (httpx.ReadTimeout("slow"), ErrorKind.TIMEOUT),
    ],
)
async def test_a_failure_mid_body_keeps_status_and_bytes_so_far(
    exception: Exception, kind: ErrorKind
) -> None:
    """An error after the headers reports the status and the bytes that did arrive."""
    router = respx.MockRouter()
    router.get(URL).respond(200, stream=broken_stream(exception))
    result = await fetch(router)
    assert isinstance(result, Err)
    assert result.error.kind is kind
    assert result.error.response == Response(200, URL, 100, None, http_version=H11)


async def test_the_deadline_bounds_the_whole_request() -> None:
    """A response slower than the deadline is a timeout, however it trickles."""

    async def trickle() -> AsyncIterator[bytes]:
        while True:
            yield b"."
            await asyncio.sleep(0.02)

    router = respx.MockRouter()
    router.get(URL).respond(200, stream=_Stream(trickle()))
    result = await fetch(router, settings=Settings(timeout=0.3))
    kind, message = error_of(result)
    assert kind is ErrorKind.TIMEOUT
    assert message == "no complete response within 0.3s"
    assert isinstance(result, Err)
    assert result.error.response is not None
    assert result.error.response.bytes > 0


async def test_a_url_httpx_rejects_is_invalid_url() -> None:
    """A URL that passed our parse but not httpx's is invalid_url, not a crash."""
    router = respx.MockRouter()
    kind, _ = error_of(await fetch(router, url="http://exa\u200bmple..com:80:80/"))
    assert kind is ErrorKind.INVALID_URL


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("extra_headers", [{}, {"Host": "virtual.test"}])
@pytest.mark.parametrize(
    "url", ["http://site.test/a?b=c", "https://u:p@site.test:8443/x", "http://[::1]:8080/"]
)
async def test_requests_carry_the_headers_httpx_would_send(
    method: str, extra_headers: dict[str, str], url: str
) -> None:
    """What goes on the wire is what httpx's own request building gives, header for header
    and in the same order: Host first, Content-Length: 0 on an empty POST, PUT or PATCH,
    and a Host given with -H instead of the URL's (a Content-Length cannot be given:
    tests/test_request_fields.py)."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    settings = Settings(method=method, headers=extra_headers)
    await fetch(httpx.MockTransport(record), url, settings)
    async with HttpClient(settings, httpx.MockTransport(record)) as client:
        await client._client.request(method, url)
    mine, httpx_own = sent
    assert (mine.method, mine.url) == (httpx_own.method, httpx_own.url)
    assert mine.headers.raw == httpx_own.headers.raw
    assert await mine.aread() == b""
