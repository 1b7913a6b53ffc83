"""Host names through fetchall's transport: as many lookups in flight as requests, one
lookup per name, Happy Eyeballs, and what a URL's record says when a name or its addresses
fail. Names resolve through an injected resolver or a stand-in for the system's
getaddrinfo; never through the machine's resolver (see ``test_system_resolver`` for the
real path, in a namespace)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from fetchall import Err, ErrorKind, FetchResult, Ok, Response, Settings, fetch_all
from fetchall._http.resolver import ResolveError
from tests.listeners import NeverAccepts, free_port, needs_ipv6
from tests.server import TestServer

pytestmark = pytest.mark.anyio


class Names:
    """A resolver: fixed addresses per name (a name absent is "no such name"; None waits
    forever); counts its calls."""

    def __init__(self, names: dict[str, Sequence[str] | None]) -> None:
        self.names = names
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host not in self.names:
            raise ResolveError(host, "no such name", negative=True)
        addresses = self.names[host]
        if addresses is None:
            await asyncio.sleep(3600)
        return addresses or ()


class SystemStandIn:
    """Stands in for ``socket.getaddrinfo``: ``*.bench.test`` names answer 127.0.0.1 after
    all ``expected`` lookups are inside at once (or 3 s), ``nx-*`` ones are "no such
    name", ``dead-*`` ones take 3 s; counts calls and the most inside at once. Any other
    host is resolved as a numeric address only (AI_NUMERICHOST): nothing reaches the
    machine's resolver."""

    def __init__(self, real, expected: int = 1) -> None:
        self.real = real
        self.expected = expected
        self.calls: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self.all_inside = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if not str(host).endswith(".bench.test"):
            return self.real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        with self.lock:
            self.calls.append(host)
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            if self.inside >= self.expected:
                self.all_inside.set()
        try:
            if host.startswith("dead-"):
                time.sleep(3)  # never answered in the test's time (glibc: 5 s x 2 tries)
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            if host.startswith("nx-"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            self.all_inside.wait(3)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def system_stand_in(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], SystemStandIn]:
    """Make a SystemStandIn and put it in place of ``socket.getaddrinfo``."""

    def make(expected: int = 1) -> SystemStandIn:
        stand_in = SystemStandIn(socket.getaddrinfo, expected)
        monkeypatch.setattr(socket, "getaddrinfo", stand_in)
        return stand_in

    return make


async def run(urls: list[str], settings: Settings, **kwargs: object) -> list[FetchResult]:
    return [result async for result in fetch_all(urls, settings, **kwargs)]  # type: ignore[arg-type]


def response(result: FetchResult) -> Response:
    assert isinstance(result.outcome, Ok), result.outcome
    assert result.outcome.value is not None
    return result.outcome.value


def error(result: FetchResult) -> tuple[ErrorKind, str]:
    assert isinstance(result.outcome, Err), result.outcome
    return result.outcome.error.kind, result.outcome.error.message


@pytest.mark.parametrize("concurrency", [8, 32])
async def test_lookups_in_flight_reach_the_concurrency(
    server: TestServer, system_stand_in: Callable[..., SystemStandIn], concurrency: int
) -> None:
    """32 distinct names at -c N: N system lookups are in flight at once, never more
    (the event loop's getaddrinfo had 2 under uvloop, 6 under asyncio here)."""
    stand_in = system_stand_in(expected=concurrency)
    urls = [f"http://n{i}.bench.test:{server.port}/bytes/1" for i in range(32)]
    results = await run(urls, Settings(concurrency=concurrency))
    assert stand_in.most_inside == concurrency
    assert [response(result).bytes for result in results] == [1] * 32


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_a_thousand_urls_on_a_missing_name_make_one_lookup(
    system_stand_in: Callable[..., SystemStandIn], transport: str
) -> None:
    """1,000 URLs on a name that does not exist: one lookup, 1,000 dns failures, each
    after one attempt (a name that does not exist is not retried). (--max-host-errors,
    which would spare the lines after the 10th their attempt, is off here: the cache alone
    answers them.)"""
    stand_in = system_stand_in()
    urls = [f"http://nx-gone.bench.test/{i}" for i in range(1000)]
    settings = Settings(concurrency=64, max_host_errors=0, transport=transport)
    results = await run(urls, settings)
    assert stand_in.calls == ["nx-gone.bench.test"]
    assert {error(result) for result in results} == {
        (ErrorKind.DNS, "could not resolve host nx-gone.bench.test: no such name")
    }
    assert {result.attempts for result in results} == {1}


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_the_injected_resolver_is_asked_and_literals_skip_it(
    server: TestServer, transport: str
) -> None:
    """A resolver given to fetch_all answers the names (once each: its answers are not
    cached by fetchall); an IP literal never reaches it; on httpx's transport too."""
    names = Names({"mirror.test": ["127.0.0.1"]})
    urls = [f"http://mirror.test:{server.port}/bytes/3", server.url("/bytes/4")]
    results = await run(urls, Settings(concurrency=1, transport=transport), resolver=names)
    assert [response(result).bytes for result in results] == [3, 4]
    assert names.calls == ["mirror.test"]


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_an_address_that_never_answers_costs_250_ms(
    server: TestServer, transport: str
) -> None:
    """A name resolving to 127.0.0.2, whose listener never accepts, and to 127.0.0.1: the
    URL succeeds a Happy Eyeballs stagger later, from 127.0.0.1, not after the connect
    timeout (10 s)."""
    listener = NeverAccepts("127.0.0.2", server.port)
    try:
        names = Names({"mirror.test": ["127.0.0.2", "127.0.0.1"]})
        url = f"http://mirror.test:{server.port}/bytes/5"
        settings = Settings(retries=0, transport=transport)
        (result,) = await run([url], settings, resolver=names)
    finally:
        listener.close()
    assert response(result).remote_ip == "127.0.0.1"
    assert 0.24 <= result.elapsed < 1.0


@needs_ipv6
async def test_a_broken_ipv6_route_costs_250_ms(server: TestServer) -> None:
    """The same with [::1] never answering: IPv6 is tried first, then 127.0.0.1."""
    listener = NeverAccepts("::1", server.port)
    try:
        names = Names({"mirror.test": ["127.0.0.1", "::1"]})
        url = f"http://mirror.test:{server.port}/bytes/5"
        (result,) = await run([url], Settings(retries=0), resolver=names)
    finally:
        listener.close()
    assert response(result).remote_ip == "127.0.0.1"
    assert 0.24 <= result.elapsed < 1.0


async def test_every_address_failing_is_named() -> None:
    """Every address refused: the URL fails as connect, naming each address."""
    port = free_port()
    names = Names({"mirror.test": ["127.0.0.2", "127.0.0.3"]})
    (result,) = await run([f"http://mirror.test:{port}/"], Settings(retries=0), resolver=names)
    assert error(result) == (
        ErrorKind.CONNECT,
        f"could not connect to mirror.test:{port}: 127.0.0.2 refused; 127.0.0.3 refused",
    )


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_the_connect_timeout_bounds_the_lookup(transport: str) -> None:
    """A lookup that never ends fails the URL once, as dns, when --connect-timeout passes:
    not retried (retries are on by default; a name is not retried), not a timeout."""
    names = Names({"slow.test": None})
    settings = Settings(connect_timeout=0.3, transport=transport)
    (result,) = await run(["http://slow.test/"], settings, resolver=names)
    assert error(result) == (
        ErrorKind.DNS,
        "could not resolve host slow.test: no answer within 0.3s",
    )
    assert result.attempts == 1
    assert names.calls == ["slow.test"]
    assert result.elapsed < 1.0


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_a_name_that_never_answers_costs_the_connect_timeout_once(
    system_stand_in: Callable[..., SystemStandIn], transport: str
) -> None:
    """Through the system's resolver (a stand-in getaddrinfo that never answers dead-*
    names, as glibc waits its own 5 s x 2 tries): 50 URLs on one dead name fail as dns at
    --connect-timeout, all after one lookup: those in flight share it, the later ones get
    its failure from the cache at once (--max-host-errors off: the cache alone does it)."""
    stand_in = system_stand_in()
    urls = [f"http://dead-x.bench.test/{i}" for i in range(50)]
    settings = Settings(concurrency=4, connect_timeout=0.5, max_host_errors=0, transport=transport)
    started = asyncio.get_running_loop().time()
    results = await run(urls, settings)
    assert asyncio.get_running_loop().time() - started < 1.5
    assert stand_in.calls == ["dead-x.bench.test"]
    assert {error(result) for result in results} == {
        (ErrorKind.DNS, "could not resolve host dead-x.bench.test: no answer within 0.5s")
    }
    assert {result.attempts for result in results} == {1}


@pytest.mark.parametrize(
    ("names", "reason"),
    [({}, "no such name"), ({"proxy.test": None}, "no answer within 0.3s")],
)
async def test_a_proxy_name_is_resolved_by_the_resolver(
    names: dict[str, Sequence[str] | None], reason: str
) -> None:
    """A proxy's name goes to the resolver given to fetch_all, as a URL's does: one that
    does not resolve, or not within --connect-timeout, fails as dns naming the proxy."""
    resolver = Names(names)
    settings = Settings(retries=0, connect_timeout=0.3, proxy="http://proxy.test:3128")
    (result,) = await run(["http://target.test/"], settings, resolver=resolver)
    assert error(result) == (ErrorKind.DNS, f"could not resolve proxy host proxy.test: {reason}")
    assert resolver.calls == ["proxy.test"]
