"""Name resolution for many hosts: as many lookups in flight as connections, one per name.

::

    Resolver (protocol)     resolve(host, port) -> addresses: the seam tests and the API fill
      CachingResolver       localhost and .invalid at once (RFC 6761); other names looked up
                            once, kept in an LRU cache (answers, "no such name", and
                            failures such as no answer in time), concurrent callers
                            sharing one lookup (single-flight), which ends at the connect
                            timeout
        NameSource          an uncached lookup: the system's getaddrinfo() on daemon
                            threads (``system_resolver.ThreadedSource``) or a test's

(IP literals never reach a resolver: the connection code answers them, see ``connect``.)

Units: seconds, on ``time.monotonic``'s clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

ANSWER_TTL = 60.0
"""How long an answer is kept. The system's getaddrinfo gives no TTL, so a fixed one:
curl's default DNS cache timeout (CURLOPT_DNS_CACHE_TIMEOUT, 60 s)."""
NEGATIVE_TTL = 60.0
"""How long "no such name" / "no address" is kept (RFC 2308's negative caching; the name
will not start to exist during a run; curl >= 8.16 keeps negatives 30 s, nscd 20 s)."""
FAILURE_TTL = 30.0
"""How long any other failure is kept: no answer within the lookup timeout, a server
failure (RFC 9520 §3.2: resolution failures are cached, at least 1 s and at most 5
minutes). A name that did not answer is not waited for again by each of its URLs."""
MAX_TTL = 300.0
"""No entry is kept longer than this (issue 13: "never longer than 5 minutes")."""
MAX_NAMES = 10_000
"""Names kept (least recently used dropped first): about 4 MiB at most (441 bytes an
entry, proto13 experiments/cache_memory.py), whatever the length of the list."""
LOOKUP_TIMEOUT = 30.0
"""A bound on one lookup whatever the source does (glibc has its own timeouts; this only
makes sure no wait is unbounded)."""
LOCALHOST = ("::1", "127.0.0.1")
"""The answer for ``localhost`` and ``*.localhost``, never sent to DNS (RFC 6761 §6.3),
as curl and c-ares answer it."""


class ResolveError(Exception):
    """A host name did not resolve; ``str()`` is "could not resolve host NAME: REASON".

    ``negative`` marks an answer saying the name does not exist or has no address (RFC
    2308's negative response), kept ``NEGATIVE_TTL``; any other failure (no answer in
    time, a server failure) is kept ``FAILURE_TTL``."""

    def __init__(self, host: str, reason: str, *, negative: bool = False) -> None:
        super().__init__(f"could not resolve host {host}: {reason}")
        self.host = host
        self.reason = reason
        self.negative = negative

    def again(self) -> ResolveError:
        """A copy for another caller (one exception object raised in many tasks would
        gather all their tracebacks)."""
        return ResolveError(self.host, self.reason, negative=self.negative)


class Resolver(Protocol):
    """How fetchall's transport turns a host name into addresses; pass your own to
    ``fetch_all(..., resolver=...)`` (as curl's ``--resolve``, or for tests).

    ``resolve`` returns at least one IP address as text (IPv6 without brackets), in the
    order to try them (they are then interleaved by family, IPv6 first, RFC 8305 §4), or
    raises ``ResolveError``. ``host`` is never an IP literal; ``port`` is the port that
    will be connected to."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """The addresses of ``host``; ``ResolveError`` when it has none."""
        ...


class NameSource(Protocol):
    """An uncached lookup of one name (lower case; never localhost, .invalid or an IP
    literal)."""

    async def lookup(self, name: str) -> tuple[str, ...]:
        """The addresses of ``name`` in the order to try them; ``ResolveError`` if none."""
        ...

    def close(self) -> None:
        """Free what the source holds; lookups still running end on their own."""
        ...


class CachingResolver:
    """A ``Resolver`` over a ``NameSource`` (see the module docstring): answers kept for
    ``ttl`` seconds, "no such name" for ``negative_ttl``, other failures (no answer within
    ``lookup_timeout``, a server failure) for ``failure_ttl``, in an LRU of ``max_names``
    names. Names are keys as given but for case: ``x.test.`` (absolute: never the search
    list) and ``x.test`` are two lookups, as glibc may answer them differently. A caller
    that is cancelled does not cancel the lookup others wait for; a lookup that outlives
    ``lookup_timeout`` is cancelled (the source lets it end on its own).

    Raises ``ValueError`` when a TTL is negative or longer than ``MAX_TTL``."""

    def __init__(
        self,
        source: NameSource,
        *,
        ttl: float = ANSWER_TTL,
        negative_ttl: float = NEGATIVE_TTL,
        failure_ttl: float = FAILURE_TTL,
        max_names: int = MAX_NAMES,
        lookup_timeout: float = LOOKUP_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not all(0 <= each <= MAX_TTL for each in (ttl, negative_ttl, failure_ttl)):
            raise ValueError(f"TTLs must be within 0-{MAX_TTL:g} seconds")
        self._source = source
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._failure_ttl = failure_ttl
        self._max_names = max_names
        self._lookup_timeout = lookup_timeout
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, tuple[str, ...] | ResolveError]] = OrderedDict()
        self._flights: dict[str, asyncio.Task[tuple[str, ...] | ResolveError]] = {}

    def __len__(self) -> int:
        """Names in the cache."""
        return len(self._cache)

    async def resolve(self, host: str, port: int) -> tuple[str, ...]:
        """The addresses of ``host`` (``port`` is not used); ``ResolveError`` if none."""
        name = host.lower()
        top = name.removesuffix(".").rpartition(".")[2]
        if top == "localhost":
            return LOCALHOST
        if top == "invalid":  # RFC 6761 §6.4: "always return immediate negative responses"
            raise ResolveError(host, "no such name (.invalid names never exist)", negative=True)
        cached = self._cache.get(name)
        if cached is not None:
            expires, answer = cached
            if expires > self._clock():
                self._cache.move_to_end(name)
                if isinstance(answer, ResolveError):
                    raise answer.again()
                return answer
            del self._cache[name]
        flight = self._flights.get(name)
        if flight is None:
            flight = asyncio.get_running_loop().create_task(self._lookup(name))
            self._flights[name] = flight
        answer = await asyncio.shield(flight)
        if isinstance(answer, ResolveError):
            raise answer.again()
        return answer

    async def aclose(self) -> None:
        """Cancel the lookups in flight, forget every entry, close the source."""
        flights = list(self._flights.values())
        for flight in flights:
            flight.cancel()
        if flights:
            await asyncio.wait(flights)
        self._cache.clear()
        self._source.close()

    async def _lookup(self, name: str) -> tuple[str, ...] | ResolveError:
        """Ask the source once and keep what it says; the answer or the error as a value
        (a task nobody awaits any more must not log "exception was never retrieved")."""
        answer: tuple[str, ...] | ResolveError
        try:
            async with asyncio.timeout(self._lookup_timeout):
                answer = await self._source.lookup(name)
            if not answer:
                answer = ResolveError(name, "no address for the name", negative=True)
        except ResolveError as exc:
            answer = exc
        except TimeoutError:
            answer = ResolveError(name, no_answer_within(self._lookup_timeout))
        except Exception as exc:  # a bug in a source stays this name's failure
            answer = ResolveError(name, f"resolver failed: {type(exc).__name__}: {exc}")
        finally:
            del self._flights[name]
        self._keep(name, answer)
        return answer

    def _keep(self, name: str, answer: tuple[str, ...] | ResolveError) -> None:
        if isinstance(answer, ResolveError):
            ttl = self._negative_ttl if answer.negative else self._failure_ttl
        else:
            ttl = self._ttl
        if ttl <= 0:
            return
        self._cache[name] = (self._clock() + ttl, answer)
        self._cache.move_to_end(name)
        if len(self._cache) > self._max_names:
            self._cache.popitem(last=False)


def no_answer_within(seconds: float) -> str:
    """The reason of a lookup that did not end within ``seconds`` (the connect timeout),
    the same from the resolver as from the connection code."""
    return f"no answer within {seconds}s"
