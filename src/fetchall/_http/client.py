"""The one HTTP client a run shares: httpx's ``AsyncClient`` set up from the settings, on
fetchall's transport or httpx's own, with one TLS context."""

from __future__ import annotations

import asyncio
import os
import ssl
from types import TracebackType
from typing import Self
from urllib.request import getproxies

import httpx
from httpx._utils import get_environment_proxies

from fetchall._http.attempt import AttemptProgress, BodySink, attempt
from fetchall._http.codings import ACCEPT_ENCODING
from fetchall._http.redirects import RedirectingClient
from fetchall._http.requests import RequestMaker
from fetchall._http.resolver import CachingResolver, Resolver
from fetchall._http.system_resolver import system_resolver
from fetchall._http.transport import FastTransport
from fetchall._model import FetchError, Response, Result, SetupError
from fetchall._settings import Settings, checked_proxy
from fetchall._version import __version__

USER_AGENT = f"fetchall/{__version__}"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
"""The Content-Type of a body when the headers name none (as curl's -d)."""

MAX_KEEPALIVE = 8
"""Idle connections httpx's own transport (``--transport httpx``, HTTP/2) keeps for reuse.
httpcore's pool does work for every pooled connection on every request: measured at -c 64
on a local server, keeping 64 gave 249 req/s and keeping 8 gave 659 req/s."""

Transport = httpx.AsyncBaseTransport
"""What carries requests: any httpx transport (``httpx.MockTransport`` in tests)."""


class HttpClient:
    """The client of one run; use ``async with``, then ``attempt()`` as often as needed.

    Host names are resolved by ``resolver`` (by default the system's, with up to
    ``settings.concurrency`` lookups at once, cached, closed with the client), on
    fetchall's transport and on httpx's own (``backend``: the default one and each proxy's);
    a transport passed in resolves them itself.

    Raises ``SetupError`` when the settings cannot make a client: a proxy httpx cannot
    use, a missing extra (``http2``, ``socks``), an unreadable CA file."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._settings = settings
        self._own_resolver: CachingResolver | None = None
        if resolver is None:
            resolver = self._own_resolver = system_resolver(
                settings.concurrency, settings.connect_timeout
            )
        try:
            self._client = _make_client(settings, transport, resolver)
        except (ValueError, ImportError, OSError) as exc:  # bad proxy, missing extra, CA file
            raise SetupError(f"cannot set up the HTTP client: {exc}") from exc
        self._requests = RequestMaker(self._client)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection (and the resolver made here); the client cannot be used
        again."""
        try:
            await self._client.aclose()
        finally:
            if self._own_resolver is not None:
                await self._own_resolver.aclose()

    async def attempt(
        self,
        url: str,
        progress: AttemptProgress,
        sink: BodySink | None = None,
        *,
        loop: asyncio.AbstractEventLoop,
        https_assumed: bool = False,
    ) -> Result[Response, FetchError]:
        """One attempt at ``url`` (see ``attempt.attempt``); never raises for anything
        the network or the server does. ``loop`` is the running loop; ``https_assumed``
        says the user gave no scheme (a failure that plain HTTP explains says so)."""
        return await attempt(
            self._requests, self._client, url, self._settings, progress, sink, loop, https_assumed
        )


def _make_client(
    settings: Settings, transport: Transport | None, resolver: Resolver | None
) -> httpx.AsyncClient:
    """httpx's client: a pool as wide as the concurrency; redirects are followed by
    ``attempt``, one hop at a time. httpx's own transports (the default one and each
    proxy's) resolve names through ``resolver`` when one is given."""
    proxies = _proxies(settings)  # checked before httpx reads the variables itself
    tls = _TlsContext(settings)
    given = transport
    if transport is None and _fast_transport_fits(settings):
        transport = FastTransport(
            ssl_context=tls.get,
            max_idle=settings.concurrency,
            max_connections=settings.concurrency,
            connect_timeout=settings.connect_timeout,
            resolver=resolver,
        )
    client = RedirectingClient(
        transport=transport,
        limits=httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=min(settings.concurrency, MAX_KEEPALIVE),
        ),
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        follow_redirects=False,
        headers=_headers(settings),
        http2=settings.http2,
        verify=tls.get() if transport is None or settings.proxy else True,
        proxy=settings.proxy,
    )
    if given is not None or transport is None or client._mounts:
        _type_httpx_transports(client, settings, resolver, proxies, own=transport is None)
    client._cookies = _NoCookies()  # httpx has no switch to turn cookies off
    return client


def _type_httpx_transports(
    client: httpx.AsyncClient,
    settings: Settings,
    resolver: Resolver | None,
    proxies: dict[str, str | None],
    *,
    own: bool,
) -> None:
    """Wrap in ``TypedErrorsTransport`` each transport of ``client`` that is not
    fetchall's (an API caller's, httpx's own (``own``), each proxy's), httpx's own ones
    resolving through ``resolver``. Imported here: httpcore and h11 cost every
    start-up 81 million instructions (callgrind), and fetchall's transport needs neither."""
    from fetchall._http.backend import resolve_with
    from fetchall._http.typed_transport import TypedErrorsTransport

    timeout = settings.connect_timeout
    if own and resolver is not None:
        resolve_with(client._transport, resolver, timeout)
    if not isinstance(client._transport, FastTransport):
        client._transport = TypedErrorsTransport(client._transport)
    if resolver is not None:
        for mounted in client._mounts.values():
            if mounted is not None:
                resolve_with(mounted, resolver, timeout)
    client._mounts = {
        pattern: mounted
        if mounted is None
        else TypedErrorsTransport(mounted, proxies.get(pattern.pattern))
        for pattern, mounted in client._mounts.items()
    }


def _proxies(settings: Settings) -> dict[str, str | None]:
    """The proxy URL for each of httpx's mount patterns: ``all://`` for ``--proxy``, else
    those of the proxy variables (as httpx reads them, ``http://`` put before a value
    without a scheme). ValueError naming the variable when one names a proxy that cannot
    be used (no host, a bad port: ``_settings.checked_proxy``)."""
    if settings.proxy is not None:
        return {"all://": settings.proxy}
    for key, value in getproxies().items():
        if key in _PROXY_VARIABLES:
            try:
                checked_proxy(value)
            except ValueError as exc:
                raise ValueError(f"{_variable(key)}: {exc}") from exc
    return get_environment_proxies()


def _variable(key: str) -> str:
    """The name of the proxy variable ``key`` came from, as set (``http_proxy`` or
    ``HTTP_PROXY``; urllib reads the lower-case one first)."""
    lower = f"{key}_proxy"
    return lower if os.environ.get(lower) else lower.upper()


_PROXY_VARIABLES = ("http", "https", "all")
"""The proxy variables (lower-cased, without ``_proxy``) httpx honours, besides NO_PROXY."""


def _headers(settings: Settings) -> httpx.Headers:
    """The fields of every request: User-Agent, Accept-Encoding, the ``-H`` ones (replacing
    defaults of the same name, whatever its case), and a body's Content-Type (unless given)
    and length."""
    headers = httpx.Headers(
        {"User-Agent": settings.user_agent or USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    )
    headers.update(settings.headers)
    if settings.body is not None:
        headers.setdefault("Content-Type", FORM_CONTENT_TYPE)
        headers["Content-Length"] = str(len(settings.body))
    return headers


class _TlsContext:
    """The run's one TLS context, made at first use: loading the system's CA certificates
    takes time, and a run of plain-http URLs never needs them. A ``--cacert`` file is
    loaded at once, so that an unreadable one stops the run before any fetch."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context: ssl.SSLContext | None = None
        if settings.cacert is not None:
            self.get()

    def get(self) -> ssl.SSLContext:
        """The context; OSError (with the file's name) when a CA file cannot be loaded."""
        if self._context is None:
            self._context = _load_context(self._settings)
        return self._context


def _load_context(settings: Settings) -> ssl.SSLContext:
    if not settings.verify:
        return httpx.create_ssl_context(verify=False)
    if settings.cacert is None:
        return httpx.create_ssl_context()
    try:
        return ssl.create_default_context(cafile=settings.cacert)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise OSError(f"--cacert: cannot load {settings.cacert}: {reason}") from exc


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
