"""The resolver on its own: lookups in flight up to the thread count, one lookup per name
(single-flight, a cache of answers and of "no such name", timeouts not kept), localhost,
bounds; with a counting source or a counting getaddrinfo (never the machine's resolver)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from fetchall._http.resolver import (
    ANSWER_TTL,
    FAILURE_TTL,
    LOCALHOST,
    NEGATIVE_TTL,
    CachingResolver,
    ResolveError,
)
from fetchall._http.system_resolver import ThreadedSource

pytestmark = pytest.mark.anyio


class Clock:
    """A clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSource:
    """Answers every name with 127.0.0.1 (or raises ``error``) once ``release`` is set;
    records the names asked and the most lookups in flight at once."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = asyncio.Event()
        self.release.set()

    async def lookup(self, name: str) -> tuple[str, ...]:
        self.calls.append(name)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        if self.error is not None:
            raise self.error
        return ("127.0.0.1",)

    def close(self) -> None:
        pass


class BlockingGetaddrinfo:
    """A getaddrinfo that blocks its thread until released (bounded), counting how many
    threads are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, host: str, *args: object) -> list[tuple]:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.release.wait(10)
        with self._lock:
            self.inside -= 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]


async def wait_until(condition, seconds: float = 5.0) -> None:
    """Poll ``condition`` until it holds (AssertionError after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


async def test_lookups_in_flight_reach_the_thread_count_and_no_more() -> None:
    """100 names on a pool of 64 threads: 64 system lookups run at once, never more; the
    rest wait and then resolve."""
    getaddrinfo = BlockingGetaddrinfo()
    resolver = CachingResolver(ThreadedSource(64, getaddrinfo))
    tasks = [asyncio.create_task(resolver.resolve(f"n{i}.bench.test", 80)) for i in range(100)]
    await wait_until(lambda: getaddrinfo.inside == 64)
    await asyncio.sleep(0.05)  # time for a 65th, if there were one
    getaddrinfo.release.set()
    answers = await asyncio.gather(*tasks)
    await resolver.aclose()
    assert getaddrinfo.most_inside == 64
    assert answers == [("127.0.0.1",)] * 100


def threads_allowed(monkeypatch: pytest.MonkeyPatch, allowed: int) -> None:
    """The resolver's threads: ``allowed`` start, then the system refuses more (RuntimeError
    "can't start new thread", as under ``ulimit -u`` in a container)."""
    started = [0]

    class Refused(threading.Thread):
        def start(self) -> None:
            if started[0] >= allowed:
                raise RuntimeError("can't start new thread")
            started[0] += 1
            super().start()

    monkeypatch.setattr("fetchall._http.system_resolver.threading.Thread", Refused)


async def test_lookups_wait_for_the_threads_there_are_when_no_more_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """64 threads wanted, the system starts 2: all 50 names still resolve, 2 at a time,
    and no caller sees the refusal (it failed every later lookup of the run)."""
    threads_allowed(monkeypatch, 2)
    getaddrinfo = BlockingGetaddrinfo()
    resolver = CachingResolver(ThreadedSource(64, getaddrinfo))
    tasks = [asyncio.create_task(resolver.resolve(f"n{i}.bench.test", 80)) for i in range(50)]
    await wait_until(lambda: getaddrinfo.inside == 2)
    getaddrinfo.release.set()
    answers = await asyncio.gather(*tasks)
    await resolver.aclose()
    assert answers == [("127.0.0.1",)] * 50
    assert getaddrinfo.most_inside == 2


async def test_with_no_thread_at_all_a_lookup_fails_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not one thread starts: the lookup fails at once as a ResolveError that says so."""
    threads_allowed(monkeypatch, 0)
    resolver = CachingResolver(ThreadedSource(4, BlockingGetaddrinfo()))
    with pytest.raises(ResolveError, match="would not start a thread"):
        await asyncio.wait_for(resolver.resolve("n.bench.test", 80), 2)
    await resolver.aclose()


async def test_one_lookup_for_a_thousand_callers_of_one_name() -> None:
    """1,000 callers at once and 1,000 later ones (in another case): one lookup in all."""
    source = CountingSource()
    source.release.clear()
    resolver = CachingResolver(source)
    waiting = [asyncio.create_task(resolver.resolve("one.bench.test", 443)) for _ in range(1000)]
    await wait_until(lambda: source.in_flight == 1)
    source.release.set()
    first = await asyncio.gather(*waiting)
    later = [await resolver.resolve("ONE.bench.test", 443) for _ in range(1000)]
    assert source.calls == ["one.bench.test"]
    assert first + later == [("127.0.0.1",)] * 2000


async def test_a_cancelled_caller_does_not_cancel_the_shared_lookup() -> None:
    """Two callers share a lookup; the first is cancelled (its connect timeout): the
    second still gets the answer, from the one lookup."""
    source = CountingSource()
    source.release.clear()
    resolver = CachingResolver(source)
    first = asyncio.create_task(resolver.resolve("x.bench.test", 80))
    second = asyncio.create_task(resolver.resolve("x.bench.test", 80))
    await wait_until(lambda: source.in_flight == 1)
    first.cancel()
    source.release.set()
    assert await second == ("127.0.0.1",)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert source.calls == ["x.bench.test"]


async def test_no_such_name_is_kept_for_a_minute() -> None:
    """A negative answer fails every caller for NEGATIVE_TTL seconds without another
    lookup, each with its own exception; then the name is asked again."""
    clock = Clock()
    source = CountingSource(ResolveError("nx.bench.test", "no such name", negative=True))
    resolver = CachingResolver(source, clock=clock)
    errors = []
    for _ in range(100):
        with pytest.raises(ResolveError) as caught:
            await resolver.resolve("nx.bench.test", 80)
        errors.append(caught.value)
        clock.now += (NEGATIVE_TTL - 0.1) / 100
    assert len(source.calls) == 1
    assert len({id(error) for error in errors}) == 100
    assert str(errors[-1]) == "could not resolve host nx.bench.test: no such name"
    clock.now += 0.2
    with pytest.raises(ResolveError):
        await resolver.resolve("nx.bench.test", 80)
    assert len(source.calls) == 2


async def test_a_timeout_or_server_failure_is_kept_half_a_minute() -> None:
    """A failure to get an answer (a server failure, no answer in time) is kept
    FAILURE_TTL seconds (RFC 9520): the name's later callers get it without another
    lookup, each with its own exception; then the name is asked again."""
    clock = Clock()
    source = CountingSource(ResolveError("x.bench.test", "temporary failure"))
    resolver = CachingResolver(source, clock=clock)
    for _ in range(3):
        with pytest.raises(ResolveError, match="temporary failure"):
            await resolver.resolve("x.bench.test", 80)
        clock.now += (FAILURE_TTL - 0.1) / 3
    assert len(source.calls) == 1
    clock.now += 0.2
    with pytest.raises(ResolveError):
        await resolver.resolve("x.bench.test", 80)
    assert len(source.calls) == 2


async def test_no_answer_in_time_is_kept_and_its_callers_all_fail_alike() -> None:
    """A lookup that outlives lookup_timeout (the connect timeout) fails every caller
    waiting for it with "no answer within", and later callers get the same at once."""
    source = CountingSource()
    source.release.clear()
    resolver = CachingResolver(source, lookup_timeout=0.2)
    started = time.perf_counter()
    waiting = [asyncio.create_task(resolver.resolve("dead.bench.test", 80)) for _ in range(5)]
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    later = time.perf_counter()
    with pytest.raises(ResolveError) as caught:
        await resolver.resolve("dead.bench.test", 80)
    assert time.perf_counter() - later < 0.05
    assert 0.2 <= later - started < 1.0
    assert {str(outcome) for outcome in outcomes} | {str(caught.value)} == {
        "could not resolve host dead.bench.test: no answer within 0.2s"
    }
    assert source.calls == ["dead.bench.test"]


@pytest.mark.parametrize(
    ("spellings", "lookups"),
    [(["a.bench.test", "A.Bench.TEST"], 1), (["a.bench.test", "a.bench.test."], 2)],
    ids=["case", "trailing-dot"],
)
async def test_which_spellings_share_a_lookup(spellings: list[str], lookups: int) -> None:
    """Case never matters; a trailing dot does: ``a.bench.test.`` is absolute (glibc
    never tries the search list for it) and ``a.bench.test`` may not be, so the two
    can resolve differently and are looked up apart."""
    source = CountingSource()
    resolver = CachingResolver(source)
    for name in spellings * 3:
        await resolver.resolve(name, 80)
    assert len(source.calls) == lookups


async def test_answers_are_kept_for_a_minute() -> None:
    """The system's getaddrinfo gives no TTL: an answer is kept ANSWER_TTL seconds."""
    clock = Clock()
    source = CountingSource()
    resolver = CachingResolver(source, clock=clock)
    await resolver.resolve("t.bench.test", 80)
    clock.now += ANSWER_TTL - 0.1
    await resolver.resolve("t.bench.test", 80)
    assert len(source.calls) == 1
    clock.now += 0.2
    await resolver.resolve("t.bench.test", 80)
    assert len(source.calls) == 2


def test_no_entry_may_be_kept_longer_than_five_minutes() -> None:
    """A TTL over 300 s is refused."""
    with pytest.raises(ValueError, match="0-300"):
        CachingResolver(CountingSource(), ttl=301)
    with pytest.raises(ValueError, match="0-300"):
        CachingResolver(CountingSource(), negative_ttl=301)


async def test_the_cache_is_bounded() -> None:
    """With room for 100 names, 1,000 names leave 100: the most recently used."""
    source = CountingSource()
    resolver = CachingResolver(source, max_names=100)
    await resolver.resolve("keep.bench.test", 80)
    for i in range(1000):
        await resolver.resolve(f"n{i}.bench.test", 80)
        await resolver.resolve("keep.bench.test", 80)
    assert len(resolver) == 100
    assert source.calls.count("keep.bench.test") == 1


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "api.localhost"])
async def test_localhost_never_reaches_the_source(host: str) -> None:
    """localhost names are loopback (RFC 6761), IPv6 first, without a lookup."""
    source = CountingSource()
    assert await CachingResolver(source).resolve(host, 80) == LOCALHOST == ("::1", "127.0.0.1")
    assert source.calls == []


async def test_invalid_names_never_reach_the_source() -> None:
    """A name under .invalid fails at once as no such name (RFC 6761 §6.4)."""
    source = CountingSource()
    with pytest.raises(ResolveError) as caught:
        await CachingResolver(source).resolve("no-such-host.INVALID", 80)
    assert caught.value.negative
    assert source.calls == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("x")], ids=["Runtime", "Key"])
async def test_a_failing_source_is_a_resolve_error(error: Exception) -> None:
    """A source that fails unexpectedly gives a ResolveError naming the exception."""
    with pytest.raises(ResolveError, match=type(error).__name__):
        await CachingResolver(CountingSource(error)).resolve("x.bench.test", 80)


async def test_a_source_that_hangs_is_bounded() -> None:
    """A lookup longer than lookup_timeout ends as a failure, kept like a server's."""
    source = CountingSource()
    source.release.clear()
    resolver = CachingResolver(source, lookup_timeout=0.1)
    with pytest.raises(ResolveError, match=r"no answer within 0\.1s"):
        await resolver.resolve("x.bench.test", 80)
    assert len(resolver) == 1


@pytest.mark.parametrize(
    ("code", "reason", "negative"),
    [
        (socket.EAI_NONAME, "no such name", True),
        (socket.EAI_NODATA, "no address for the name", True),
        (socket.EAI_AGAIN, "temporary failure in name resolution", False),
    ],
)
async def test_the_system_resolvers_failures(code: int, reason: str, negative: bool) -> None:
    """glibc's errors become ResolveErrors: "no such name" and "no address" are negative
    answers (kept), EAI_AGAIN (a timeout or SERVFAIL) is not."""

    def getaddrinfo(*args: object) -> list[tuple]:
        raise socket.gaierror(code, "glibc's words")

    with pytest.raises(ResolveError) as caught:
        await ThreadedSource(1, getaddrinfo).lookup("x.bench.test")
    assert (caught.value.reason, caught.value.negative) == (reason, negative)


async def test_the_system_resolvers_answer_keeps_its_order_once_each() -> None:
    """Addresses come in getaddrinfo's order (RFC 6724), each once; a link-local IPv6
    address keeps its interface."""
    infos = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 0, 0, 0)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1", 0, 0, 2)),
    ]
    source = ThreadedSource(1, lambda *args: infos)
    assert await source.lookup("x.bench.test") == ("2001:db8::1", "192.0.2.1", "fe80::1%2")


_EXIT_SCRIPT = """
import asyncio, time
from fetchall._http.system_resolver import ThreadedSource

async def main():
    source = ThreadedSource(4, lambda *args: time.sleep(5))
    lookup = asyncio.create_task(source.lookup("dead.bench.test"))
    await asyncio.sleep(0.2)
    lookup.cancel()
    source.close()

asyncio.run(main())
"""


def test_a_lookup_still_running_does_not_delay_exit() -> None:
    """A lookup stuck in the system resolver (5 s here) does not keep the interpreter
    alive: the process ends well before it would."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _EXIT_SCRIPT], check=True, timeout=30)
    assert time.perf_counter() - started < 3


class DeadOrAlive:
    """A getaddrinfo: ``dead*`` names block their thread until ``release`` (bounded), as
    glibc waits out a name nobody answers; other names answer at once. Records the names
    asked and the most threads inside at once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, host: str, *args: object) -> list[tuple]:
        with self._lock:
            self.calls.append(host)
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if host.startswith("dead"):
                self.release.wait(10)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        finally:
            with self._lock:
                self.inside -= 1


async def abandon(source: ThreadedSource, names: list[str], inside: Callable[[], bool]) -> None:
    """Start lookups of ``names``, wait until ``inside()``, then cancel them (their
    callers gave up)."""
    tasks = [asyncio.create_task(source.lookup(name)) for name in names]
    await wait_until(inside)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_lookups_given_up_on_leave_their_threads_to_live_names() -> None:
    """Two threads, both in lookups of dead names their callers gave up on: a live name
    still resolves at once, on a thread beyond the two; with as many again given up on
    (the cap: 2 more threads), the next live name waits for a thread. Once the dead
    lookups end, the threads beyond the two end too."""
    getaddrinfo = DeadOrAlive()
    source = ThreadedSource(2, getaddrinfo)
    await abandon(source, ["dead-1", "dead-2"], lambda: getaddrinfo.inside == 2)
    assert await asyncio.wait_for(source.lookup("live-1"), 1) == ("127.0.0.1",)
    await abandon(source, ["dead-3", "dead-4"], lambda: getaddrinfo.inside == 4)
    waiting = asyncio.create_task(source.lookup("live-2"))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # 4 threads, all in abandoned lookups: the cap
    getaddrinfo.release.set()
    assert await asyncio.wait_for(waiting, 5) == ("127.0.0.1",)
    await wait_until(lambda: source.threads == 2)
    source.close()
    assert getaddrinfo.most_inside == 4


async def test_a_lookup_given_up_on_before_it_started_is_never_asked() -> None:
    """A lookup still waiting for a thread when its caller gives up is dropped: the
    system's resolver never sees it."""
    getaddrinfo = DeadOrAlive()
    source = ThreadedSource(1, getaddrinfo, max_abandoned=0)
    running = asyncio.create_task(source.lookup("dead-running"))
    await wait_until(lambda: getaddrinfo.inside == 1)
    await abandon(source, ["queued"], lambda: True)
    getaddrinfo.release.set()
    assert await asyncio.wait_for(running, 5) == ("127.0.0.1",)
    assert await asyncio.wait_for(source.lookup("live"), 5) == ("127.0.0.1",)
    source.close()
    assert getaddrinfo.calls == ["dead-running", "live"]
