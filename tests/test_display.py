"""The live display, the summary and the latency histogram, rendered to a recorded
console of fixed width and read as text."""

from __future__ import annotations

import math
import random
import re

import pytest
from rich.console import Console

from fetchall import Err, ErrorKind, FetchError, FetchResult, Line, Ok, Phase, Response
from fetchall._input import LineCounts
from fetchall.cli.display import print_failures, render_live
from fetchall.cli.progress import FailureLine, ProgressState, Snapshot
from fetchall.cli.stats import Accounting, LatencyHistogram, RunStats
from fetchall.cli.summary import render_summary
from fetchall.cli.units import human_bytes, human_duration, shorten


def text_of(renderable, width: int = 80, color: bool = False) -> str:
    console = Console(
        width=width,
        record=True,
        force_terminal=True,
        color_system="truecolor" if color else None,
        no_color=not color,
        file=open("/dev/null", "w"),  # noqa: SIM115 - closed with the console's file
    )
    console.print(renderable)
    console.file.close()
    return console.export_text(styles=color)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line(text: str) -> Line:
    return Line(text, "t:1", Ok(text))


def finish(line_: Line, status: int | None, size: int = 0, kind: ErrorKind | None = None):
    response = Response(status, line_.text, size, None) if status is not None else None
    if kind is None:
        assert response is not None
        return FetchResult(line_, Ok(response), 0.5, 1)
    return FetchResult(line_, Err(FetchError(kind, f"{kind} happened", response)), 0.5, 1)


def busy_state(in_flight: int, stats: RunStats | None = None) -> tuple[ProgressState, Clock]:
    clock = Clock()
    state = ProgressState(stats or RunStats(), clock)
    for i in range(in_flight):
        current = line(f"https://host{i}.test/file{i}.bin")
        state.on_start(current, 1)
        clock.now += 0.1
        if i % 2 == 0:
            state.on_headers(current, 200)
            state.on_bytes(current, 1536 * (i + 1))
    return state, clock


def test_rows_show_status_bytes_rate_elapsed_and_url() -> None:
    """Each in-flight row shows status once headers arrived, bytes, rate, elapsed, URL."""
    state, clock = busy_state(3)
    clock.now += 1
    text = text_of(render_live(state.snapshot(10), 80, 24))
    rows = text.splitlines()
    assert rows[0].startswith("200")
    assert "1.5 KiB" in rows[0]
    assert "https://host0.test/file0.bin" in rows[0]
    assert "1.3s" in rows[0]
    assert rows[1].startswith("···")  # no headers yet
    assert "4.5 KiB" in rows[2]


def test_attempt_number_shows_on_retries() -> None:
    """A retried request is marked with its attempt number."""
    state = ProgressState(RunStats(), Clock())
    current = line("https://flaky.test/")
    state.on_start(current, 1)
    state.on_start(current, 3)
    assert "#3 https://flaky.test/" in text_of(render_live(state.snapshot(5), 80, 24))


def test_overflow_line_when_rows_exceed_the_height() -> None:
    """More requests than rows: a line says how many more."""
    state, _ = busy_state(30)
    text = text_of(render_live(state.snapshot(30), 80, 10))
    assert "… and 23 more in flight" in text
    assert len(text.splitlines()) <= 10


def test_counts_bytes_and_eta_once_the_total_is_known() -> None:
    """Done, ok and failed counts and bytes; ETA appears only once the total is known."""
    stats = RunStats()
    clock = Clock()
    state = ProgressState(stats, clock)
    for i in range(4):
        current = line(f"https://d{i}.test/")
        state.on_start(current, 1)
        state.on_bytes(current, 1024)
        result = finish(current, 200 if i else 404, 1024, None if i else ErrorKind.HTTP_STATUS)
        state.on_finish(result)
        stats.add(result)  # as the run does for each result
    clock.now += 2
    before = text_of(render_live(state.snapshot(10), 80, 24))
    assert "4 done" in before
    assert "ok 3" in before
    assert "failed 1" in before
    assert "4.0 KiB" in before
    assert "ETA" not in before
    state.on_input_end(10)
    after = text_of(render_live(state.snapshot(10), 80, 24))
    assert "4/10" in after
    assert "40%" in after
    assert "ETA 0:00:03" in after  # 6 left at 2 per second


def test_failures_are_kept_for_printing_above_the_display() -> None:
    """Each failure becomes a short line: status or error kind, then URL."""
    state = ProgressState(RunStats(), Clock())
    state.on_finish(finish(line("https://a.test/"), 503, 0, ErrorKind.HTTP_STATUS))
    state.on_finish(finish(line("https://b.test/"), None, 0, ErrorKind.DNS))
    state.on_finish(finish(line("https://c.test/"), 200))
    assert state.take_failures() == (
        [
            FailureLine("503", "https://a.test/", "http_status happened"),
            FailureLine("dns", "https://b.test/", "dns happened"),
        ],
        0,
    )
    assert state.take_failures() == ([], 0)


def printed_failures(failures: list[FailureLine], width: int) -> list[str]:
    """What the display prints above itself for ``failures``, at ``width`` columns."""
    state = ProgressState(RunStats(), Clock())
    for failure in failures:
        error = FetchError(ErrorKind.CONNECT, failure.message)
        state.on_finish(FetchResult(line(failure.url), Err(error), 0.1, 1))
    console = Console(width=width, record=True, force_terminal=True, color_system=None)
    console.file = open("/dev/null", "w")  # noqa: SIM115 - closed below
    print_failures(console, state)
    console.file.close()
    return [row.rstrip() for row in console.export_text().splitlines()]


@pytest.mark.parametrize("width", [80, 40])
def test_failure_lines_carry_their_message_shortened_to_fit(width: int) -> None:
    """A failure line shows kind, URL and message on one line; when they do not fit, the
    URL is shortened in the middle and the message cut at its end, keeping both in view."""
    url = "http://very-long-host-name.example.test/some/deep/path/to/a/file.bin"
    short, long = printed_failures(
        [
            FailureLine("connect", "http://a.test/", "refused by a:80"),
            FailureLine("connect", url, "connection refused by very-long-host-name:80"),
        ],
        width,
    )
    assert short == "connect http://a.test/  refused by a:80"
    assert len(long) <= width
    assert long.startswith("connect http://ver")
    assert "e.bin  connection re" in long
    assert long.endswith("…")


@pytest.mark.parametrize("width", [80, 40])
def test_a_row_waiting_to_retry_shows_the_wait_not_the_transfer(width: int) -> None:
    """While waiting for attempt 3, the row counts down instead of showing the failed
    attempt's bytes and rate; once attempt 3 starts, its own figures are back."""
    clock = Clock()
    state = ProgressState(RunStats(), clock)
    current = line("https://flaky.test/api")
    state.on_start(current, 2)
    state.on_headers(current, 503)
    state.on_bytes(current, 2048)
    state.on_retry_wait(current, 3, 2.1)
    row = text_of(render_live(state.snapshot(5), width, 24), width).splitlines()[0]
    assert row.startswith("503")
    assert "retry in 2.1s (#3)" in row
    assert "2.0 KiB" not in row
    assert row.rstrip().endswith("t/api")  # shortened in the middle at 40 columns
    assert len(row) <= width
    clock.now += 1.5
    assert "retry in 0.6s (#3)" in text_of(render_live(state.snapshot(5), width, 24), width)
    state.on_start(current, 3)
    row = text_of(render_live(state.snapshot(5), width, 24), width).splitlines()[0]
    assert "retry in" not in row
    assert "#3 https://flaky" in row


@pytest.mark.parametrize("width", [80, 40])
def test_display_fits_narrow_terminals(width: int) -> None:
    """No line is longer than the terminal, at 80 or 40 columns."""
    stats = RunStats()
    state, clock = busy_state(12, stats)
    result = finish(line("https://done.test/"), 200)
    state.on_finish(result)
    stats.add(result)  # as the run does for each result
    state.on_input_end(1000)
    clock.now += 3
    text = text_of(render_live(state.snapshot(12), width, 12), width)
    assert all(len(row) <= width for row in text.splitlines())
    assert "ETA" in text


def test_no_colour_codes_without_colour() -> None:
    """With colour off, the display has no escape codes; with colour on it has some."""
    state, _ = busy_state(3)
    assert "\x1b[" not in text_of(render_live(state.snapshot(5), 80, 24))
    assert "\x1b[" in text_of(render_live(state.snapshot(5), 80, 24), color=True)


def summary_stats() -> RunStats:
    stats = RunStats()
    for i in range(8):
        stats.add(finish(line(f"https://ok{i}.test/"), 200, 1000))
    stats.add(finish(line("https://missing.test/"), 404, 50, ErrorKind.HTTP_STATUS))
    stats.add(finish(line("https://nowhere.test/"), None, 0, ErrorKind.DNS))
    return stats


def test_summary_shows_counts_classes_kinds_bytes_and_latency() -> None:
    """The summary's content, as plain text."""
    text = text_of(render_summary(summary_stats(), 2.0, lines=Accounting(LineCounts()), width=80))
    assert "done: 10 URLs in 2.00s: 8 ok, 2 failed" in text
    assert "status 2xx   8  80.0%" in text
    assert "status 4xx   1  10.0%" in text
    assert "http_status  1  10.0%" in text
    assert "dns          1  10.0%" in text
    assert "7.9 KiB (8,050 bytes)" in text
    assert "5.0 URLs/s" in text
    assert "p50 500 ms" in text
    assert "max 500 ms" in text
    assert "https://missing.test/" in text
    assert "dns happened" in text


def test_summary_says_when_interrupted() -> None:
    """An interrupted run's summary says so."""
    counts = LineCounts(read=10)
    lines = Accounting(counts, unread=0, stop="interrupted")
    text = text_of(render_summary(summary_stats(), 1.0, lines=lines, width=80))
    assert text.startswith("interrupted after 10 URLs")


def test_summary_of_an_aborted_run_counts_the_urls_without_a_record() -> None:
    """When stdout failed, the summary says the run was aborted and how many finished URLs
    have no record."""
    stats = summary_stats()
    lines = Accounting(LineCounts(read=10), unread=0, stop="aborted")
    text = text_of(render_summary(stats, 1.0, lines=lines, unwritten=3, width=80))
    first, second = text.splitlines()[:2]
    assert first.startswith("aborted after 10 URLs")
    assert second == "3 finished URLs have no record on stdout"


def test_summary_lists_the_slowest_first() -> None:
    """The slowest URLs come in descending order, at most five."""
    stats = RunStats()
    for i in range(9):
        stats.add(FetchResult(line(f"https://s{i}.test/"), Ok(Response(200, "u", 1, None)), i, 1))
    text = text_of(render_summary(stats, 10, lines=Accounting(LineCounts()), width=80))
    listed = [row.split()[1] for row in text.splitlines() if "https://s" in row]
    assert listed == [f"https://s{i}.test/" for i in (8, 7, 6, 5, 4)]


def stopped_run() -> tuple[RunStats, Accounting]:
    """10 results (one skipped) of 40 lines: 2 resumed, 3 duplicates, 4 in other shards,
    21 not started (6 read, 15 never read)."""
    stats = summary_stats()
    stats.add(FetchResult(line("https://saved.test/"), Ok(None), 0.0, 0, path="o/saved"))
    counts = LineCounts(read=25, other_shard=4, already_done=2, duplicate=3)
    failure = stats.first_failures[0]
    lines = Accounting(counts, unread=15, stop="stopped at the first failure", failed_line=failure)
    return stats, lines


def test_summary_accounts_for_every_line() -> None:
    """The lines table: each way a line can end, adding up to the lines of the input,
    and the line whose failure stopped the run."""
    stats, lines = stopped_run()
    text = text_of(render_summary(stats, 2.0, lines=lines, width=100), 100)
    assert text.startswith(
        "stopped at the first failure after 11 URLs in 2.00s: 8 ok, 2 failed, 1 skipped"
    )
    assert "stopped after the failure of t:1 (http_status): https://missing.test/" in text
    rows = {
        label: int(count)
        for label, count in re.findall(r"^ *([a-z ]+?) +(\d+)(?:  |$)", text, re.MULTILINE)
    }
    assert rows["lines"] == 40
    assert (rows["ok"], rows["failed"], rows["skipped"]) == (8, 2, 1)
    assert (rows["already done"], rows["duplicates"], rows["other shards"]) == (2, 3, 4)
    assert rows["not started"] == 40 - 8 - 2 - 1 - 2 - 3 - 4


def test_summary_of_an_unread_rest_says_so() -> None:
    """When the rest of the input could not be counted, the summary says it was not read."""
    stats = summary_stats()
    lines = Accounting(LineCounts(read=12), unread=None, stop="interrupted")
    text = text_of(render_summary(stats, 1.0, lines=lines, width=80))
    assert re.search(r"^ lines +12 +the rest of the input was not read", text, re.MULTILINE)
    assert re.search(r"^  not started +2 +interrupted", text, re.MULTILINE)


@pytest.mark.parametrize("width", [80, 40])
@pytest.mark.parametrize("stopped", [False, True])
def test_summary_fits_the_width(width: int, stopped: bool) -> None:
    """Every summary line fits the console, with the lines table too."""
    stats, lines = stopped_run() if stopped else (summary_stats(), Accounting(LineCounts()))
    text = text_of(render_summary(stats, 2.0, lines=lines, width=width), width)
    assert all(len(row) <= width for row in text.splitlines())


def test_histogram_percentiles_are_within_one_percent() -> None:
    """On 100,000 log-normal latencies, p50/p90/p99 are within 1% of the exact values."""
    rng = random.Random(42)
    samples = [rng.lognormvariate(-3, 1.2) for _ in range(100_000)]
    histogram = LatencyHistogram()
    for sample in samples:
        histogram.add(sample)
    ordered = sorted(samples)
    for fraction in (0.5, 0.9, 0.99, 0.999):
        exact = ordered[math.ceil(fraction * len(ordered)) - 1]
        estimate = histogram.percentile(fraction)
        assert estimate is not None
        assert abs(estimate - exact) / exact <= 0.01
    assert histogram.max == ordered[-1]
    assert histogram.percentile(1.0) == ordered[-1]


def test_histogram_memory_is_fixed() -> None:
    """The histogram keeps counters, not samples."""
    histogram = LatencyHistogram()
    size = len(histogram._counts)
    for i in range(10_000):
        histogram.add(i / 1000)
    assert len(histogram._counts) == size < 1200
    assert histogram.count == 10_000


def test_empty_histogram_has_no_percentiles() -> None:
    """No samples, no numbers."""
    assert LatencyHistogram().percentile(0.5) is None


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**4, "3.0 TiB"),
    ],
)
def test_human_bytes(count: int, shown: str) -> None:
    """Byte counts read in binary units."""
    assert human_bytes(count) == shown


def test_durations_and_shortening() -> None:
    """Clock times, and URLs cut in the middle to a width."""
    assert human_duration(3725) == "1:02:05"
    short = shorten("https://example.com/a/very/long/path", 20)
    assert (len(short), short[:12], short[-4:]) == (20, "https://exam", "path")
    assert len(shorten("x" * 100, 7)) == 7


def test_snapshot_is_a_value() -> None:
    """A snapshot does not change when the state moves on."""
    state, clock = busy_state(2)
    before = state.snapshot(5)
    clock.now += 5
    state.on_bytes(line("other"), 10)
    assert isinstance(before, Snapshot)
    assert before.bytes != state.snapshot(5).bytes


@pytest.mark.parametrize("width", [80, 40])
def test_rows_show_what_each_request_is_doing(width: int) -> None:
    """Before its response head, a row says what its request is doing (resolving,
    connecting, TLS, waiting), in the place of the bytes; once the head arrived, its
    status and bytes; a retry starts blank again. No row is longer than the terminal."""
    clock = Clock()
    state = ProgressState(RunStats(), clock)
    doing = {"resolving": Phase.RESOLVING, "connecting": Phase.CONNECTING, "TLS": Phase.TLS}
    doing["waiting"] = Phase.WAITING
    for word, phase in doing.items():
        current = line(f"https://{word}.test/")
        state.on_start(current, 1)
        state.on_phase(current, phase)
        clock.now += 0.1
    received = line("https://receiving.test/")
    state.on_start(received, 1)
    state.on_phase(received, Phase.RECEIVING)
    state.on_headers(received, 200)
    state.on_bytes(received, 2048)
    clock.now += 1
    rows = text_of(render_live(state.snapshot(10), width, 24), width).splitlines()[:5]
    for row, word in zip(rows, [*doing, None], strict=True):
        assert len(row) <= width
        if word is None:
            assert row.startswith("200")
            assert "2.0 KiB" in row
        else:
            assert row.startswith(f"··· {word:>10} ")
            assert f"https://{word}.test/" in row
            assert "B/s" not in row
    state.on_start(current, 2)  # waiting.test's second attempt: nothing said yet
    rows = text_of(render_live(state.snapshot(10), width, 24), width).splitlines()
    (row,) = [row for row in rows if "waiting.test" in row]
    assert "waiting" not in row.split("https://")[0]
    assert "0 B" in row


def test_summary_shows_the_phases_that_happened() -> None:
    """p50 and p90 of each phase, over the responses that had it (a reused connection has
    no dns, connect or tls), and no row for a phase none had."""
    stats = RunStats()
    for i in range(10):
        new = i % 2 == 0  # every other response on a new connection
        timings = {"time_dns": 0.02, "time_connect": 0.001} if new else {}
        response = Response(200, "u", 1, None, time_ttfb=0.005 * (i + 1), **timings)
        stats.add(FetchResult(line(f"https://t{i}.test/"), Ok(response), 0.1, 1))
    text = text_of(render_summary(stats, 1.0, lines=Accounting(LineCounts()), width=80))
    rows = [row.rstrip() for row in text.splitlines()]
    assert " dns       p50 20 ms · p90 20 ms (5)" in rows
    assert " connect   p50 1 ms · p90 1 ms (5)" in rows
    assert " ttfb      p50 24.8 ms · p90 45 ms (10)" in rows  # within 1% of 25 and 45 ms
    assert not [row for row in rows if row.startswith(" tls")]
