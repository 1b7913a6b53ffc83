"""The engine through its Python API, against the real local test server."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from fetchall import Err, ErrorKind, FetchResult, Line, NullObserver, Ok, Settings, fetch_all
from tests.server import TestServer

pytestmark = pytest.mark.anyio


async def collect(urls, settings: Settings | None = None, observer=None) -> list[FetchResult]:
    return [result async for result in fetch_all(urls, settings, observer=observer)]


def by_text(results: list[FetchResult]) -> dict[str, FetchResult]:
    return {result.line.text: result for result in results}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_exact_byte_counts(server: TestServer) -> None:
    """Each body is counted to the byte, decoded bodies by their decoded size."""
    sizes = [0, 1, 1000, 65536, 1_000_003]
    urls = [server.url(f"/bytes/{n}") for n in sizes] + [server.url("/gzip/300000")]
    results = by_text(await collect(urls))
    for n in sizes:
        outcome = results[server.url(f"/bytes/{n}")].outcome
        assert isinstance(outcome, Ok)
        assert outcome.value.bytes == n
    gzip_outcome = results[server.url("/gzip/300000")].outcome
    assert isinstance(gzip_outcome, Ok)
    assert gzip_outcome.value.bytes == 300000


async def test_peak_in_flight_equals_the_concurrency(fresh_server: TestServer) -> None:
    """The server sees exactly N requests at once: never more, and N is reached."""
    urls = [fresh_server.url(f"/bytes/10?delay=0.15&i={i}") for i in range(40)]
    results = await collect(urls, Settings(concurrency=7))
    assert len(results) == 40
    assert all(isinstance(result.outcome, Ok) for result in results)
    assert fresh_server.peak_in_flight == 7


class TaskCounter(NullObserver):
    """Records the most asyncio tasks alive at any request start."""

    def __init__(self) -> None:
        self.most_tasks = 0

    def on_start(self, line: Line, attempt: int) -> None:
        self.most_tasks = max(self.most_tasks, len(asyncio.all_tasks()))


class CountedURLs:
    """URLs handed out one by one, counting how many the engine has taken."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[str]:
        for url in self.urls:
            self.pulled += 1
            yield url


async def test_tasks_and_read_ahead_are_bounded_by_the_concurrency(server: TestServer) -> None:
    """Tasks are spawned only for free permits, and input is read only as permits free up."""
    source = CountedURLs([server.url(f"/bytes/5?delay=0.01&i={i}") for i in range(300)])
    baseline = len(asyncio.all_tasks())
    counter = TaskCounter()
    results = fetch_all(source, Settings(concurrency=5), observer=counter)
    first = await anext(results)
    assert isinstance(first.outcome, Ok)
    assert source.pulled <= 5 + 1  # the permits' worth, plus the line waiting for a permit
    rest = [result async for result in results]
    assert len(rest) == 299
    # the tasks that were already there, the feeder, and at most five fetch tasks
    assert counter.most_tasks - baseline <= 1 + 5


async def test_every_line_gets_exactly_one_result(server: TestServer) -> None:
    """Duplicates are fetched again and invalid lines get results in the same stream."""
    urls = [server.url("/bytes/1"), "ftp://nope/", server.url("/bytes/1"), "", "# note"]
    results = await collect(urls)
    assert sorted(result.line.source for result in results) == ["<api>:1", "<api>:2", "<api>:3"]


@pytest.mark.parametrize(
    ("path", "kind", "status"),
    [
        ("/status/404", ErrorKind.HTTP_STATUS, 404),
        ("/status/500", ErrorKind.HTTP_STATUS, 500),
        ("/loop", ErrorKind.TOO_MANY_REDIRECTS, 302),
        ("/close", ErrorKind.PROTOCOL, None),
        ("/garbage", ErrorKind.PROTOCOL, None),
        ("/short", ErrorKind.READ, 200),
        ("/reset", ErrorKind.READ, 200),
    ],
)
@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_real_server_failures_map_to_their_kind(
    server: TestServer, path: str, kind: ErrorKind, status: int | None, transport: str
) -> None:
    """Real bad responses from a real server give the documented kinds, on both transports."""
    (result,) = await collect([server.url(path)], Settings(retries=0, transport=transport))
    assert isinstance(result.outcome, Err)
    assert result.outcome.error.kind is kind
    response = result.outcome.error.response
    assert (response.status if response else None) == status


async def test_a_redirect_chain_reports_the_final_url(server: TestServer) -> None:
    """Redirects are followed and the final URL is reported."""
    (result,) = await collect([server.url("/redirect/3")])
    assert isinstance(result.outcome, Ok)
    assert result.outcome.value.final_url == server.url("/redirect/0")
    assert result.outcome.value.bytes == len(b"arrived\n")


async def test_connection_refused_is_connect() -> None:
    """A closed port fails fast as connect, with the address in the message."""
    port = closed_port()
    (result,) = await collect([f"http://127.0.0.1:{port}/"])
    assert isinstance(result.outcome, Err)
    assert result.outcome.error.kind is ErrorKind.CONNECT
    assert result.outcome.error.message == f"connection refused by 127.0.0.1:{port}"


async def test_unresolvable_host_is_dns() -> None:
    """A .invalid name never resolves (RFC 6761), so no network is needed."""
    (result,) = await collect(["http://no-such-host.invalid/"])
    assert isinstance(result.outcome, Err)
    assert result.outcome.error.kind is ErrorKind.DNS
    assert "no-such-host.invalid" in result.outcome.error.message


async def test_a_stalled_server_times_out_at_the_deadline(server: TestServer) -> None:
    """A server that never answers is a timeout close to the deadline, not a hang."""
    (result,) = await collect([server.url("/stall")], Settings(timeout=0.5, retries=0))
    assert isinstance(result.outcome, Err)
    assert result.outcome.error.kind is ErrorKind.TIMEOUT
    assert 0.5 <= result.elapsed < 1.5


async def test_elapsed_covers_the_wait(server: TestServer) -> None:
    """elapsed is the time the URL took, in seconds."""
    (result,) = await collect([server.url("/bytes/1?delay=0.3")])
    assert 0.3 <= result.elapsed < 3


async def test_elapsed_covers_the_waits_before_a_retry_not_before_the_first_attempt(
    server: TestServer,
) -> None:
    """README: elapsed runs from the start of the request and covers retries and their
    waits; the wait for a first start token (--rate 1: the second line waits 1 s) is not
    in it, the wait before a retry (Retry-After: 1) is."""
    first, second = (server.url(f"/bytes/1?i={uuid.uuid4().hex}") for _ in range(2))
    flaky = server.url(f"/flaky?key={uuid.uuid4().hex}&times=1&status=503&retry_after=1")
    results = by_text(await collect([first, second, flaky], Settings(rate=1, retries=1)))
    assert results[second].elapsed < 0.5
    assert (results[flaky].attempts, isinstance(results[flaky].outcome, Ok)) == (2, True)
    assert results[flaky].elapsed >= 1


async def test_a_line_cancelled_while_waiting_for_a_start_token_never_started(
    server: TestServer,
) -> None:
    """Stopped while its start token is a minute away: cancelled, no attempt, elapsed 0."""
    from fetchall import Fetcher, StopReason

    urls = [server.url(f"/bytes/1?i={i}") for i in range(2)]
    async with Fetcher(Settings(rate=1 / 60)) as fetcher:
        results = fetcher.results(urls)
        first = await anext(results)
        fetcher.stop(StopReason.FAIL_FAST)
        (second,) = [result async for result in results]
    assert isinstance(first.outcome, Ok)
    assert isinstance(second.outcome, Err)
    assert second.outcome.error.kind is ErrorKind.CANCELLED
    assert (second.attempts, second.elapsed) == (0, 0.0)
    assert second.outcome.error.message.startswith("cancelled before it started: ")


async def test_lines_waiting_for_a_busy_host_are_bounded(server: TestServer) -> None:
    """With --per-host, reading pauses once 4 x concurrency lines wait beyond those in flight."""
    source = CountedURLs([server.url(f"/bytes/1?delay=0.02&i={i}") for i in range(60)])
    results = fetch_all(source, Settings(concurrency=2, per_host=1))
    await anext(results)
    assert source.pulled <= 2 + 4 * 2 + 1  # in flight, waiting room, and the line at the door
    assert len([result async for result in results]) == 59


class RetryWaits(NullObserver):
    """Records each wait the engine announces before a retry."""

    def __init__(self) -> None:
        self.waits: list[tuple[str, int, float]] = []

    def on_retry_wait(self, line: Line, attempt: int, seconds: float) -> None:
        self.waits.append((line.text, attempt, seconds))


async def test_the_observer_is_told_of_each_wait_before_a_retry(server: TestServer) -> None:
    """503 twice (Retry-After: 0), then 200: the waits before attempts 2 and 3."""
    url = server.url(f"/flaky?key={uuid.uuid4().hex}&times=2&status=503&retry_after=0")
    observer = RetryWaits()
    (result,) = await collect([url], Settings(retries=3), observer)
    assert (isinstance(result.outcome, Ok), result.attempts) == (True, 3)
    assert observer.waits == [(url, 2, 0.0), (url, 3, 0.0)]


async def test_fetcher_results_takes_what_fetch_all_takes(server: TestServer) -> None:
    """Fetcher.results takes URLs as text (parsed, numbered <api>:N, blank and comment
    entries dropped) and Line values, from an iterable or an async iterable."""
    from fetchall import Fetcher

    given = Line("mine", "list.txt:7", Ok(server.url("/bytes/2")))

    async def entries() -> AsyncIterator[str | Line]:
        for entry in ["", server.url("/bytes/1"), "# note", given]:
            yield entry

    for source in (["", server.url("/bytes/1"), "# note", given], entries()):
        async with Fetcher(Settings()) as fetcher:
            results = [result async for result in fetcher.results(source)]
        assert sorted(result.line.source for result in results) == ["<api>:2", "list.txt:7"]
        assert {result.line.text: response_bytes(result) for result in results} == {
            server.url("/bytes/1"): 1,
            "mine": 2,
        }


def response_bytes(result: FetchResult) -> int:
    assert isinstance(result.outcome, Ok)
    assert result.outcome.value is not None
    return result.outcome.value.bytes


async def test_one_string_or_an_entry_of_another_type_is_a_type_error(server: TestServer) -> None:
    """One string for the entries (it would be read character by character) is a
    TypeError at once; so is an entry neither str nor Line, once it is read."""
    with pytest.raises(TypeError, match="not one string"):
        await collect(server.url("/bytes/1"))
    with pytest.raises(TypeError, match=r"entry 2 is bytes, not str or Line"):
        await collect([server.url("/bytes/1"), b"http://x.test/"])
