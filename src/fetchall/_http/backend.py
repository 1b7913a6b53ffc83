"""httpcore's network backend on the run's ``Resolver``: httpx's own transports
(``--transport httpx``, HTTP/2, proxies) resolve names as fetchall's transport does.

httpcore's default backend resolves a host in ``anyio.getaddrinfo``, on anyio's worker
threads (40 at most), without a cache and without a bound of its own: a name nobody
answers held a thread for the system's whole timeout, a proxy's name was looked up again
for every URL, and the end of a run waited for every queued lookup (asyncio's default
executor is joined at exit: 200 s after the last record for 20 dead names). Here a host
name goes to the ``Resolver`` (threads that never delay the end of a run, one lookup per
name, cached), within the connect timeout, and a failure is a ``ResolveError`` (``dns``),
as on fetchall's transport; the addresses are then connected to by httpcore's backend,
by IP, with the staggered race of RFC 8305 §5 (as ``connect``); TLS is started later by
httpcore, with the host's name for SNI and the certificate.

The backend is put into httpx's transports by ``resolve_with``, which reaches the
private ``_pool._network_backend`` of ``httpx.AsyncHTTPTransport`` (httpx 0.28 and
httpcore 1.0.x, pinned in pyproject; ``tests/test_typed_transport.py`` fails if they
move). Times are ``time.perf_counter`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from time import perf_counter
from typing import Any

import httpcore
import httpx

from fetchall._http.connect import HAPPY_EYEBALLS_DELAY, interleave, ip_literal
from fetchall._http.deadline import Deadline
from fetchall._http.race import RaceLost, race
from fetchall._http.resolver import ResolveError, Resolver, no_answer_within
from fetchall._http.timing import CURRENT
from fetchall._model import Phase


def resolve_with(
    transport: httpx.AsyncBaseTransport, resolver: Resolver, connect_timeout: float
) -> None:
    """Make httpx's ``transport`` (an ``httpx.AsyncHTTPTransport``, with or without a
    proxy) resolve names through ``resolver``; any other transport is left as it is.
    ``RuntimeError`` when httpx's transport no longer has the pool this reaches into."""
    if not isinstance(transport, httpx.AsyncHTTPTransport):
        return
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.AsyncNetworkBackend):
        raise RuntimeError(
            "httpx.AsyncHTTPTransport has no httpcore pool with a network backend "
            "(httpx or httpcore changed: see the versions pinned in pyproject.toml)"
        )
    if not isinstance(backend, ResolvingBackend):
        pool._network_backend = ResolvingBackend(backend, resolver, connect_timeout)  # type: ignore[union-attr]


class ResolvingBackend(httpcore.AsyncNetworkBackend):
    """``inner`` (httpcore's backend) connecting to the addresses ``resolver`` gives for a
    host name (an IP literal is its own answer); ``connect_timeout`` seconds bound
    resolving and connecting together when httpcore passes no timeout."""

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend,
        resolver: Resolver,
        connect_timeout: float,
        delay: float = HAPPY_EYEBALLS_DELAY,
    ) -> None:
        self._inner = inner
        self._resolver = resolver
        self._connect_timeout = connect_timeout
        self._delay = delay

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A TCP connection to ``host``; ``httpcore.ConnectError`` caused by a
        ``ResolveError`` when the name has no address (or none within the timeout),
        httpcore's ``ConnectError``/``ConnectTimeout`` when no address connects."""
        limit = self._connect_timeout if timeout is None else timeout
        deadline = perf_counter() + limit
        literal = ip_literal(host)
        addresses = literal if literal is not None else await self._resolve(host, port, limit)
        if literal is None:
            CURRENT.get().begin(Phase.CONNECTING)  # the lookup (its trace's) is over
        ordered = interleave(addresses)
        if len(ordered) == 1:  # nothing to race: no task
            return await self._inner.connect_tcp(
                ordered[0], port, max(deadline - perf_counter(), 0), local_address, socket_options
            )
        return await self._race(ordered, port, deadline, limit, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _resolve(self, host: str, port: int, limit: float) -> list[str]:
        """The addresses of ``host``; ``httpcore.ConnectError`` whose context is the
        ``ResolveError`` (httpcore's pool raises its errors ``from None``: the context is
        what stays for ``errors.classify``)."""
        loop = asyncio.get_running_loop()
        try:
            try:
                async with Deadline(loop, limit):
                    addresses = list(await self._resolver.resolve(host, port))
            except TimeoutError:  # the name's failure, as the resolver keeps it: dns
                raise ResolveError(host, no_answer_within(limit)) from None
            if not addresses:
                raise ResolveError(host, "no address for the name", negative=True)
        except ResolveError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return addresses

    async def _race(
        self,
        addresses: list[str],
        port: int,
        deadline: float,
        limit: float,
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore.AsyncNetworkStream:
        """RFC 8305 §5 (``race``): the first to connect wins. All failing: the last one's
        error; the deadline passing: ``httpcore.ConnectTimeout``."""
        options = None if socket_options is None else list(socket_options)

        def connect(address: str) -> Awaitable[httpcore.AsyncNetworkStream]:
            timeout = max(deadline - perf_counter(), 0)
            return self._inner.connect_tcp(address, port, timeout, local_address, options)

        try:
            stream, _ = await race(addresses, connect, _close, delay=self._delay, deadline=deadline)
        except RaceLost as lost:
            errors = [attempt.error for attempt in lost.attempts if attempt.error is not None]
            if lost.timed_out or not errors:
                raise httpcore.ConnectTimeout(f"no address connected within {limit}s") from None
            raise errors[-1] from None
        return stream


async def _close(stream: httpcore.AsyncNetworkStream) -> None:
    """Close a stream that connected after another did."""
    await stream.aclose()
