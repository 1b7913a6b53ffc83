"""The system's resolver: its getaddrinfo() on daemon threads, as the ``NameSource`` of a
``CachingResolver`` (see ``resolver`` for the cache).

::

    ThreadedSource      the system's getaddrinfo() on daemon threads, up to -c at once;
                        a lookup given up on runs to its end on a thread that no
                        longer counts (at most 256 of those, or -c)
    system_resolver()   a CachingResolver over a ThreadedSource: a run's resolver unless
                        given one

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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fetchall._http.resolver import LOOKUP_TIMEOUT, CachingResolver, ResolveError

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

GetAddrInfo = Callable[..., list[tuple[Any, Any, Any, Any, Any]]]
"""``socket.getaddrinfo``'s signature (a test passes a slow or counting one)."""


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
