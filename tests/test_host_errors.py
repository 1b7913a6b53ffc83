"""--max-host-errors: a host whose attempts fail again and again (dns, connect, timeout)
costs N attempts, and the rest of its lines fail at once without a try."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from fetchall import (
    Err,
    ErrorKind,
    FetchError,
    FetchResult,
    Line,
    NullObserver,
    Ok,
    Response,
    Settings,
    fetch_all,
)
from fetchall._engine.host_errors import HostErrors
from fetchall._input import LineCounts
from fetchall._origin import Origin
from fetchall.cli.stats import Accounting, RunStats
from fetchall.cli.summary import render_summary
from tests.conftest import invoke, jsonl, run_fetchall
from tests.server import TestServer
from tests.test_display import text_of

pytestmark = pytest.mark.anyio


class Starts(NullObserver):
    """Counts the attempts started, and the waits announced before a retry."""

    def __init__(self) -> None:
        self.count = 0
        self.waits = 0

    def on_start(self, line: Line, attempt: int) -> None:
        self.count += 1

    def on_retry_wait(self, line: Line, attempt: int, seconds: float) -> None:
        self.waits += 1


async def collect(
    urls: list[str],
    settings: Settings,
    observer: Starts | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[FetchResult]:
    results = fetch_all(urls, settings, observer=observer, transport=transport)
    return [result async for result in results]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_urls(count: int) -> tuple[list[str], int]:
    port = closed_port()
    return [f"http://127.0.0.1:{port}/{i}" for i in range(count)], port


def error(result: FetchResult) -> FetchError:
    assert isinstance(result.outcome, Err), result
    return result.outcome.error


@pytest.fixture
def silent_port() -> Iterator[socket.socket]:
    """A listener whose queue takes connections that nobody accepts or answers; after the
    run, ``accept_all`` counts the connections made to it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener


def accept_all(listener: socket.socket) -> int:
    """The connections waiting in ``listener``'s queue (each one a connection made)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


async def test_a_refused_host_costs_10_attempts_then_its_lines_fail_at_once() -> None:
    """The default 10: a closed port with 30 lines (-c 1, -r 0) gets exactly 10 attempts;
    the other 20 lines fail as connect with attempts 0, saying why they were not tried."""
    urls, port = refused_urls(30)
    starts = Starts()
    results = await collect(urls, Settings(concurrency=1, retries=0), starts)
    assert starts.count == 10
    assert [result.attempts for result in results] == [1] * 10 + [0] * 20
    last = f"connection refused by 127.0.0.1:{port}"
    assert {error(result) for result in results[:10]} == {FetchError(ErrorKind.CONNECT, last)}
    why = f"not tried: 10 attempts at 127.0.0.1:{port} failed in a row (last: {last})"
    assert {error(result) for result in results[10:]} == {FetchError(ErrorKind.CONNECT, why)}


async def test_lines_in_flight_finish_and_the_lines_read_later_fail_at_once() -> None:
    """At -c 4, the lines in flight when the 10th attempt failed finish normally (at most
    3 more attempts); every line read after that fails without a try. Attempts made and
    attempts counted in the records agree exactly."""
    urls, _ = refused_urls(30)
    starts = Starts()
    results = await collect(urls, Settings(concurrency=4, retries=0), starts)
    assert len(results) == 30
    tried = sorted(int(result.line.source.split(":")[1]) for result in results if result.attempts)
    assert 10 <= len(tried) <= 13
    assert tried == list(range(1, len(tried) + 1))
    assert starts.count == sum(result.attempts for result in results) == len(tried)
    not_tried = [error(result).message for result in results if not result.attempts]
    assert len(not_tried) == 30 - len(tried)
    assert all(message.startswith("not tried: 10 attempts at ") for message in not_tried)


async def test_each_failed_attempt_counts_retries_included() -> None:
    """With -r 2 each retry counts: lines 1-3 make 3 attempts each, line 4 one (its retries
    are dropped at once, with no wait, and its error says so), and the other 26 lines
    none: 10 in all."""
    urls, port = refused_urls(30)
    starts = Starts()
    results = await collect(urls, Settings(concurrency=1, retries=2, max_retry_wait=0), starts)
    assert (starts.count, starts.waits) == (10, 6)
    assert [result.attempts for result in results] == [3, 3, 3, 1] + [0] * 26
    why = f"10 attempts at 127.0.0.1:{port} failed in a row"
    assert error(results[3]) == FetchError(
        ErrorKind.CONNECT, f"connection refused by 127.0.0.1:{port} (not retried: {why})"
    )
    assert error(results[4]).message.startswith(f"not tried: {why} (last: ")


async def test_a_success_resets_the_count(fresh_server: TestServer) -> None:
    """9 timeouts, a success, 10 timeouts on one host: the success ends the run of
    failures, so no line is cut off until the 10th timeout after it."""
    stall, ok = fresh_server.url("/stall"), fresh_server.url("/bytes/1")
    urls = [stall] * 9 + [ok] + [stall] * 10 + [ok]
    results = await collect(urls, Settings(concurrency=1, retries=0, timeout=0.1))
    assert [result.attempts for result in results] == [1] * 20 + [0]
    assert isinstance(results[9].outcome, Ok)
    assert {error(result).kind for result in results[:9] + results[10:]} == {ErrorKind.TIMEOUT}
    assert error(results[20]).message.startswith("not tried: 10 attempts at ")


async def test_0_turns_it_off() -> None:
    """--max-host-errors 0: every line of a dead host is tried."""
    urls, _ = refused_urls(30)
    starts = Starts()
    results = await collect(urls, Settings(concurrency=1, retries=0, max_host_errors=0), starts)
    assert starts.count == 30
    assert all(result.attempts == 1 for result in results)


async def test_another_hosts_lines_are_unaffected(server: TestServer) -> None:
    """Lines of a live host between those of a dead one are all fetched; the dead host's
    count is its own."""
    dead, _ = refused_urls(20)
    live = [server.url(f"/bytes/{i}") for i in range(10)]
    urls = [url for pair in zip(dead[:10], live, strict=True) for url in pair] + dead[10:]
    results = await collect(urls, Settings(concurrency=1, retries=0))
    by_url = {result.line.text: result for result in results}
    assert all(isinstance(by_url[url].outcome, Ok) for url in live)
    assert [by_url[url].attempts for url in dead] == [1] * 10 + [0] * 10


async def test_timeouts_count_and_keep_their_kind(unanswered_port: int) -> None:
    """Connect timeouts (a listen queue that is full) count: after 10, the other lines
    fail as timeout without a try, their message quoting the last timeout."""
    urls = [f"http://127.0.0.1:{unanswered_port}/{i}" for i in range(12)]
    results = await collect(urls, Settings(concurrency=1, retries=0, connect_timeout=0.1))
    assert [result.attempts for result in results] == [1] * 10 + [0] * 2
    assert {error(result).kind for result in results} == {ErrorKind.TIMEOUT}
    assert error(results[11]).message.endswith("(last: " + error(results[9]).message + ")")


async def test_a_server_that_never_answers_gets_exactly_10_connections(
    silent_port: socket.socket,
) -> None:
    """A server that takes connections and never answers: exactly 10 connections arrive
    for 30 lines (-t 0.1, -c 1, -r 0), and 20 lines fail as timeout with attempts 0."""
    port = silent_port.getsockname()[1]
    urls = [f"http://127.0.0.1:{port}/{i}" for i in range(30)]
    results = await collect(urls, Settings(concurrency=1, retries=0, timeout=0.1))
    assert accept_all(silent_port) == 10
    assert [result.attempts for result in results] == [1] * 10 + [0] * 20
    assert {error(result).kind for result in results} == {ErrorKind.TIMEOUT}


def dns_failure(request: httpx.Request) -> httpx.Response:
    """A transport's answer for a name that does not resolve (no resolver is asked)."""
    raise httpx.ConnectError("lookup failed") from socket.gaierror(-2, "Name not known")


async def test_dns_failures_count_per_host_name() -> None:
    """dns failures count against the name whatever the scheme and port: 6 http and
    6 https lines of one name make 10 lookups, and the last 2 fail as dns untried."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return dns_failure(request)

    urls = [f"http://gone.test/{i}" for i in range(6)] + [
        f"https://gone.test:8443/{i}" for i in range(6)
    ]
    results = await collect(urls, Settings(concurrency=1), transport=httpx.MockTransport(handler))
    assert len(calls) == 10
    assert [result.attempts for result in results] == [1] * 10 + [0] * 2
    last = "could not resolve host gone.test"
    why = f"not tried: 10 attempts at gone.test failed in a row (last: {last})"
    assert {error(result) for result in results[10:]} == {FetchError(ErrorKind.DNS, why)}


async def test_a_line_waiting_to_retry_is_not_retried_once_its_host_is_given_up() -> None:
    """Line a fails at once and waits for a start token (--rate 2) to retry; line b's
    failure 0.1 s later is the host's 2nd in a row: a is then not retried."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/b":
            await asyncio.sleep(0.1)
        raise httpx.ConnectError("refused") from ConnectionRefusedError(111, "refused")

    settings = Settings(concurrency=2, retries=1, max_retry_wait=0, rate=2, max_host_errors=2)
    transport = httpx.MockTransport(handler)
    results = await collect(["http://gone.test/a", "http://gone.test/b"], settings, None, transport)
    assert [result.attempts for result in results] == [1, 1]
    assert all(
        "(not retried: 2 attempts at gone.test:80" in error(result).message for result in results
    )


async def test_a_line_read_after_its_host_is_given_up_waits_for_no_permit(
    server: TestServer,
) -> None:
    """-c 1: a dead host's lines read while a slow line holds the only permit fail at
    once, before the slow line ends (--per-host lets lines be read ahead)."""
    dead, _ = refused_urls(13)
    slow = server.url("/bytes/1?delay=0.5")
    urls = [*dead[:10], slow, *dead[10:]]
    results = await collect(urls, Settings(concurrency=1, per_host=1, retries=0))
    assert [result.line.text for result in results][-1] == slow
    assert [result.attempts for result in results[10:13]] == [0, 0, 0]


@dataclass
class Target:
    origin: Origin


REFUSED: Err[FetchError] = Err(FetchError(ErrorKind.CONNECT, "connection refused"))
HOST = Target(Origin("http", "dead.test", 80))


def fail(errors: HostErrors, target: Target, times: int) -> None:
    for _ in range(times):
        errors.record(target, REFUSED)


@pytest.mark.parametrize(
    ("outcome", "resets"),
    [
        (Ok(Response(200, "http://dead.test/", 0, None)), True),
        (Err(FetchError(ErrorKind.HTTP_STATUS, "HTTP 503", Response(503, "u", 0, None))), True),
        (Err(FetchError(ErrorKind.TLS, "TLS failed")), True),
        (Err(FetchError(ErrorKind.TIMEOUT, "too slow", Response(200, "u", 10, None))), True),
        (Err(FetchError(ErrorKind.CANCELLED, "cancelled")), False),
        (Err(FetchError(ErrorKind.INTERNAL, "a bug")), False),
    ],
)
def test_what_ends_a_run_of_failures(outcome: object, resets: bool) -> None:
    """A host that answered (any status, a TLS failure, a timeout after the response head)
    ends the run; cancelled and internal say nothing of the host."""
    errors = HostErrors(3)
    fail(errors, HOST, 2)
    errors.record(HOST, outcome)  # type: ignore[arg-type]
    fail(errors, HOST, 1)
    assert (errors.refusal(HOST.origin) is None) is resets


def test_a_host_that_answers_again_is_no_longer_given_up() -> None:
    """A line in flight when its host was given up on that then succeeds revives it."""
    errors = HostErrors(2)
    fail(errors, HOST, 2)
    assert errors.refusal(HOST.origin) is not None
    errors.record(HOST, Ok(Response(200, "http://dead.test/", 0, None)))
    assert errors.refusal(HOST.origin) is None
    assert not errors.giving_up


def test_the_state_is_bounded_by_max_hosts() -> None:
    """At most max_hosts runs and max_hosts given-up hosts are kept, the least recently
    failed (or refused) forgotten first."""
    hosts = [Target(Origin("http", f"h{i}.test", 80)) for i in range(5)]
    counting = HostErrors(2, max_hosts=3)
    for host in hosts:
        fail(counting, host, 1)
    fail(counting, hosts[0], 1)  # its first failure was forgotten: a run of 1 again
    fail(counting, hosts[4], 1)
    assert counting.refusal(hosts[0].origin) is None
    assert counting.refusal(hosts[4].origin) is not None

    given_up = HostErrors(1, max_hosts=3)
    for host in hosts[:3]:
        fail(given_up, host, 1)
    assert given_up.refusal(hosts[0].origin) is not None  # used: kept over hosts[1]
    for host in hosts[3:]:
        fail(given_up, host, 1)
    kept = [given_up.refusal(host.origin) is not None for host in hosts]
    assert kept == [True, False, False, True, True]


def test_the_summary_counts_the_lines_not_tried() -> None:
    """The summary says how many lines were not tried and why; nothing when none were."""
    stats = RunStats(max_host_errors=10)
    line = Line("http://127.0.0.1:9/", "urls.txt:1", Ok("http://127.0.0.1:9/"))
    failure = Err(FetchError(ErrorKind.CONNECT, "connection refused by 127.0.0.1:9"))
    stats.add(FetchResult(line, failure, 0.01, 1))
    assert "not tried" not in text_of(
        render_summary(stats, 1.0, lines=Accounting(LineCounts()), width=100)
    )
    refused = Err(FetchError(ErrorKind.CONNECT, "not tried: ..."))
    for _ in range(20):
        stats.add(FetchResult(line, refused, 0.0, 0))
    text = text_of(render_summary(stats, 1.0, lines=Accounting(LineCounts()), width=100))
    assert "20 lines not tried: their host failed 10 times in a row (--max-host-errors)" in text


def test_the_default_is_10_through_the_command(url_file) -> None:
    """Without the option, 12 lines of a closed port: 10 tried, 2 not, and the summary
    says so."""
    urls, _ = refused_urls(12)
    result = invoke("--json", "-c", "1", "-r", "0", str(url_file(*urls)))
    assert [record["attempts"] for record in jsonl(result.stdout)] == [1] * 10 + [0] * 2
    assert "2 lines not tried: their host failed 10 times in a row" in result.stderr
    assert result.exit_code == 1


def test_a_negative_count_is_a_usage_error(url_file) -> None:
    """--max-host-errors -1 stops before fetching, naming the option and the range."""
    result = invoke("--max-host-errors", "-1", str(url_file("http://127.0.0.1:9/")))
    assert result.exit_code == 2
    assert "--max-host-errors" in result.stderr
    assert "or 0 for no limit" in result.stderr


def test_the_installed_command_gives_up_on_a_dead_host(url_file) -> None:
    """Through the installed fetchall: --max-host-errors 3 on 8 lines of a closed port
    makes 3 attempts; 5 records say not tried, and so does the summary."""
    urls, port = refused_urls(8)
    done = run_fetchall(
        "--json", "-c", "1", "-r", "0", "--max-host-errors", "3", str(url_file(*urls))
    )
    records = jsonl(done.stdout.decode())
    assert [record["attempts"] for record in records] == [1] * 3 + [0] * 5
    assert {record["error_kind"] for record in records} == {"connect"}
    assert records[3]["error"] == (
        f"not tried: 3 attempts at 127.0.0.1:{port} failed in a row "
        f"(last: connection refused by 127.0.0.1:{port})"
    )
    assert "5 lines not tried: their host failed 3 times in a row" in done.stderr.decode()
    assert done.returncode == 1


def test_a_redirect_to_a_dead_target_is_not_held_against_the_line_host(
    fresh_server: TestServer, unused_port: int
) -> None:
    """Lines on a live host that redirects to a closed port: every line is tried (the live
    host answered each time), and each record keeps the redirect that led to the failure."""
    target = f"http://127.0.0.1:{unused_port}/gone"
    urls = [fresh_server.url(f"/to?location={target}&i={i}") for i in range(15)]
    result = invoke("--json", "-c", "1", "-r", "0", "-", stdin="\n".join(urls) + "\n")
    records = jsonl(result.stdout)
    assert len(records) == 15
    assert all(record["attempts"] == 1 for record in records), records
    first = records[0]
    assert (first["error_kind"], first["status"], first["redirects"]) == ("connect", 302, 1)
    assert first["location"] == target
    assert f"127.0.0.1:{unused_port}" in first["error"]
