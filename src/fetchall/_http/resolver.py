"""Name resolution for many hosts: as many lookups in flight as connections, one per name.

::

    Resolver (protocol)     resolve(host, port) -> addresses: the seam tests and the API fill
      CachingResolver       localhost and .invalid at once (RFC 6761); other names looked up
                            once, kept in an LRU cache (answers, "no such name", and
                            failures such as no answer in time), concurrent callers
                            sharing one lookup (single-flight), which ends at the connect
                            timeout
        ThreadedSource      the system's getaddrinfo() on daemon threads, up to -c at once;
                            a lookup given up on runs to its end on a thread that no
                            longer counts (at most 256 of those, or -c)

(IP literals never reach a resolver: the connection code answers them, see ``connect``.)

Why not the event loop's ``getaddrinfo``: it runs in a small pool, so few lookups are in
flight whatever ``-c`` is (under uvloop 2: libuv lets "slow I/O" use half of its 4 threads),
and a name that never answers holds a thread for the resolver's whole timeout. Measured
(proto13 FINDINGS.md §1-2, -c 64, a DNS server answering in 20 ms): 3,000 names take 31.3 s
through uvloop's getaddrinfo and 1.12 s through ``ThreadedSource``.

Why threads and not c-ares (aiodns): measured equal on 3,000 live names (1.15 s against
1.12 s); faster on dead names (R4: 2.0 s against 4.4 s) only because c-ares shortens its
timeouts to 250 ms once a server has answered (c-ares >= 1.32), which fails live names
that a cold resolver answers in 300 ms-2 s; it reads no NSS module (mdns, myhostname,
systemd-resolved), and its own query cache grows ~2.4 KiB per distinct name for an hour
(FINDINGS.md §3.2). glibc's getaddrinfo gives exactly the system's answers: /etc/hosts,
resolv.conf's nameservers, search, ndots, timeout and attempts, gai.conf's order.

Units: seconds, on ``time.monotonic``'s clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
ABANDONED_THREADS = 256
"""Threads beyond -c that lookups given up on may keep (or -c, when larger), fewer when the
open-files limit leaves no room for their UDP sockets: a name nobody answers holds its
thread for glibc's timeout x attempts for each name of the search list (20 s by default)
after its URL gave up at the connect timeout, so a list of dead names abandons up to -c
lookups every connect timeout; this many keeps live names resolving meanwhile, while a
list of only dead names cannot start thousands of threads."""
FILES_PER_REQUEST = 2
"""Descriptors one request holds at most (``cli/process.py``: -c is fitted to the open-files
limit with this many each); the room left is what abandoned lookups may use."""
RESERVED_FILES = 16
"""Descriptors kept free besides: the event loop's and those opened for a while (also
``cli/process.py``)."""
LOCALHOST = ("::1", "127.0.0.1")
"""The answer for ``localhost`` and ``*.localhost``, never sent to DNS (RFC 6761 §6.3),
as curl and c-ares answer it."""

GetAddrInfo = Callable[..., list[tuple[Any, Any, Any, Any, Any]]]
"""``socket.getaddrinfo``'s signature (a test passes a slow or counting one)."""


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


_GAI_ERRORS: dict[int, tuple[str, bool]] = {
    socket.EAI_NONAME: ("no such name", True),
    socket.EAI_AGAIN: ("temporary failure in name resolution", False),
    socket.EAI_FAIL: ("the name servers failed", False),
}
with contextlib.suppress(AttributeError):  # glibc's; not on every platform
    _GAI_ERRORS[socket.EAI_NODATA] = ("no address for the name", True)
    _GAI_ERRORS[socket.EAI_ADDRFAMILY] = ("no address for the name", True)


@dataclass(slots=True, eq=False)
class _Job:
    """One lookup for a thread: ``running`` while a thread is in getaddrinfo() for it,
    ``abandoned`` once its caller stopped waiting (both changed under the source's lock)."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Any]]
    name: str
    running: bool = False
    abandoned: bool = False


class ThreadedSource:
    """Lookups through the system's ``getaddrinfo()`` on up to ``max_threads`` threads of
    its own, started as lookups arrive (size it to the concurrency). Exactly the system's
    answers, in its order (RFC 6724, gai.conf); no TTL.

    A lookup whose caller stops waiting (the resolver's lookup timeout, which is the
    connect timeout) is abandoned: still waiting for a thread, it is dropped and never
    asked; already in getaddrinfo() (which cannot be stopped: glibc's own timeout x
    attempts, for each name of the search list, ~20 s by default), its thread stops
    counting against ``max_threads`` and another may start, up to ``max_abandoned``
    threads beyond ``max_threads`` (``max_threads`` unless given), so that dead names do
    not hold the threads live names need, while a list of only dead names cannot start
    thousands of threads. A thread beyond the limit ends after its lookup.

    Daemon threads, because ``ThreadPoolExecutor``'s are joined at exit: a dead name's
    lookup kept the interpreter alive for the resolver's whole timeout after the run ended
    (proto13 experiments/exit_delay.py: 2.0 s with ``timeout:2``; glibc's default is 5 s
    x 2 tries), against "Ctrl-C: exit soon". ``getaddrinfo`` (``socket.getaddrinfo`` as it
    is when the source is made) is replaceable for tests."""

    def __init__(
        self,
        max_threads: int,
        getaddrinfo: GetAddrInfo | None = None,
        *,
        max_abandoned: int | None = None,
    ) -> None:
        self._max_threads = max_threads
        self._max_abandoned = max_threads if max_abandoned is None else max_abandoned
        self._getaddrinfo = getaddrinfo or socket.getaddrinfo
        self._jobs: deque[_Job] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._threads = 0
        """Threads alive."""
        self._idle = 0
        """Threads waiting for a job."""
        self._abandoned = 0
        """Threads in getaddrinfo() for an abandoned job."""
        self._closed = False

    @property
    def threads(self) -> int:
        """Threads alive now (busy or idle)."""
        return self._threads

    async def lookup(self, name: str) -> tuple[str, ...]:
        """The addresses of ``name``; ``ResolveError`` with glibc's reason if none."""
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), name)
        with self._ready:
            if self._closed:
                raise ResolveError(name, "the resolver is closed")
            self._jobs.append(job)
            if self._idle:
                self._ready.notify()
            self._staff()
        try:
            infos = await job.future
        except asyncio.CancelledError:
            self._abandon(job)
            raise
        except socket.gaierror as exc:
            reason, negative = _GAI_ERRORS.get(exc.errno or 0, (str(exc.strerror or exc), False))
            raise ResolveError(name, reason, negative=negative) from None
        except (OSError, UnicodeError) as exc:
            raise ResolveError(name, str(exc) or type(exc).__name__) from None
        addresses: list[str] = []
        for family, _, _, _, sockaddr in infos:
            if family == socket.AF_INET6 and sockaddr[3]:
                address = f"{sockaddr[0]}%{sockaddr[3]}"  # link-local: keep its interface
            elif family in (socket.AF_INET, socket.AF_INET6):
                address = sockaddr[0]
            else:
                continue
            if address not in addresses:
                addresses.append(address)
        return tuple(addresses)

    def close(self) -> None:
        """Let every thread end after its current lookup; wait for none."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _abandon(self, job: _Job) -> None:
        """``job``'s caller stopped waiting: drop it if no thread has it yet, else let its
        thread stop counting (and start another for the jobs waiting, if allowed)."""
        with self._ready:
            job.abandoned = True
            if job.running:
                self._abandoned += 1
                self._staff()
            else:
                with contextlib.suppress(ValueError):  # already done
                    self._jobs.remove(job)

    def _limit(self) -> int:
        return self._max_threads + min(self._abandoned, self._max_abandoned)

    def _staff(self) -> None:
        """Start threads while more jobs wait than idle threads, within the limit (the
        lock held). When the system refuses a thread (a process or memory limit: ``ulimit
        -u`` in a container), the jobs wait for the threads there are; with none at all,
        they fail."""
        while len(self._jobs) > self._idle and self._threads < self._limit():
            try:
                threading.Thread(target=self._work, name="resolve", daemon=True).start()
            except RuntimeError:  # "can't start new thread"
                if self._threads == 0:
                    self._fail_waiting("the system would not start a thread to look it up")
                return
            self._threads += 1  # the new thread waits for the lock held here

    def _fail_waiting(self, reason: str) -> None:
        """Fail every job still waiting for a thread with ``reason`` (the lock held)."""
        while self._jobs:
            job = self._jobs.popleft()
            error = ResolveError(job.name, reason)
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
                job.loop.call_soon_threadsafe(_settle, job.future, error)

    def _work(self) -> None:
        ready = self._ready
        while True:
            with ready:
                while True:
                    if self._closed or self._threads > self._limit():
                        self._threads -= 1
                        return
                    if self._jobs:
                        job = self._jobs.popleft()
                        job.running = True
                        break
                    self._idle += 1
                    ready.wait()
                    self._idle -= 1
            try:
                result: list[Any] | BaseException = self._getaddrinfo(
                    job.name, None, 0, socket.SOCK_STREAM
                )
            except BaseException as exc:  # handed to the awaiting task, which sorts it out
                result = exc
            with ready:
                job.running = False
                if job.abandoned:
                    self._abandoned -= 1
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
                job.loop.call_soon_threadsafe(_settle, job.future, result)


def _settle(future: asyncio.Future[list[Any]], result: list[Any] | BaseException) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def no_answer_within(seconds: float) -> str:
    """The reason of a lookup that did not end within ``seconds`` (the connect timeout),
    the same from the resolver as from the connection code."""
    return f"no answer within {seconds}s"


def abandoned_threads(max_lookups: int) -> int:
    """How many threads beyond ``max_lookups`` lookups given up on may keep:
    ``ABANDONED_THREADS`` (or ``max_lookups`` when larger), at most the descriptors the
    open-files limit leaves beside those open now and ``max_lookups`` requests'."""
    most = max(max_lookups, ABANDONED_THREADS)
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        open_now = len(os.listdir("/dev/fd"))
    except (OSError, ValueError):
        return most
    if soft == resource.RLIM_INFINITY:
        return most
    room = soft - open_now - max_lookups * FILES_PER_REQUEST - RESERVED_FILES
    return max(0, min(most, room))


def system_resolver(max_lookups: int, lookup_timeout: float = LOOKUP_TIMEOUT) -> CachingResolver:
    """The resolver a run uses unless given one: the system's getaddrinfo on up to
    ``max_lookups`` threads (the concurrency; more for lookups given up on, see
    ``abandoned_threads``), cached; a lookup ends, failed and kept ``FAILURE_TTL``, after
    ``lookup_timeout`` seconds (the connect timeout)."""
    source = ThreadedSource(max_lookups, max_abandoned=abandoned_threads(max_lookups))
    return CachingResolver(source, lookup_timeout=lookup_timeout)
