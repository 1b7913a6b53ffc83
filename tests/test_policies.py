"""Pure pieces of the robustness policy: retry decisions, backoff, Retry-After, token
buckets, option values, and the signal handler."""

from __future__ import annotations

import io
import random
import signal
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchall import ErrorKind, FetchError, Response
from fetchall._engine.rates import TokenBucket
from fetchall._engine.retry import backoff, is_transient, retry_delay
from fetchall._http.retry_after import parse_retry_after
from fetchall._origin import Origin
from fetchall.cli.environment import Environment
from fetchall.cli.options import parse_header, parse_size
from fetchall.cli.signals import REPEAT_WINDOW_SECONDS, WRITE_GRACE_SECONDS, SignalStop


def status_error(status: int, retry_after: float | None = None) -> FetchError:
    return FetchError(
        ErrorKind.HTTP_STATUS, f"HTTP {status}", Response(status, "u", 0, None, retry_after)
    )


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (FetchError(ErrorKind.CONNECT, ""), True),
        (FetchError(ErrorKind.TIMEOUT, ""), True),
        (FetchError(ErrorKind.READ, ""), True),
        (FetchError(ErrorKind.DNS, ""), False),
        (FetchError(ErrorKind.TLS, ""), False),
        (FetchError(ErrorKind.INVALID_URL, ""), False),
        (FetchError(ErrorKind.PROTOCOL, ""), False),
        (FetchError(ErrorKind.TOO_LARGE, ""), False),
        (FetchError(ErrorKind.TOO_MANY_REDIRECTS, ""), False),
        (status_error(429), True),
        (status_error(502), True),
        (status_error(503), True),
        (status_error(504), True),
        (status_error(404), False),
        (status_error(500), False),
        (status_error(501), False),
    ],
)
def test_only_transient_failures_are_retried(error: FetchError, transient: bool) -> None:
    """Connect, timeout, read, 429/502/503/504: yes; everything else: no."""
    assert is_transient(error) is transient


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempt: int, seed: int) -> None:
    """Each wait is uniform in [0, min(30, 0.5 * 2**(attempt-1))]."""
    wait = backoff(attempt, random.Random(seed))
    assert 0 <= wait <= min(30.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_spreads_over_its_whole_range() -> None:
    """Full jitter: waits after the third failure spread over [0, 2]."""
    rng = random.Random(7)
    waits = [backoff(3, rng) for _ in range(2000)]
    assert min(waits) < 0.1
    assert max(waits) > 1.9


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    """The server's Retry-After is used, but never longer than --max-retry-wait."""
    assert retry_delay(status_error(503, retry_after=7), 1, 60) == 7
    assert retry_delay(status_error(503, retry_after=700), 1, 60) == 60
    assert retry_delay(status_error(503), 1, 0.1) <= 0.1


def test_retry_after_parses_seconds_and_http_dates() -> None:
    """Both forms of Retry-After give seconds; nonsense gives None."""
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    assert parse_retry_after(None, now) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_one_seconds_burst_then_the_rate() -> None:
    """At rate 4: four at once, then each further start a quarter second later."""
    clock = FakeClock()
    bucket = TokenBucket(4, clock)
    assert [bucket.reserve() for _ in range(4)] == [0, 0, 0, 0]
    assert [bucket.reserve() for _ in range(3)] == [0.25, 0.5, 0.75]
    clock.now += 10
    assert bucket.idle


def test_token_bucket_below_one_per_second_has_a_burst_of_one() -> None:
    """At 0.5/s: one at once, the next after two seconds."""
    bucket = TokenBucket(0.5, FakeClock())
    assert bucket.reserve() == 0
    assert bucket.reserve() == 2


def test_origin_uses_default_ports_and_ignores_case() -> None:
    """(scheme, host, port) with the scheme's default port."""
    assert Origin.of("https://Example.COM/a") == ("https", "example.com", 443)
    assert Origin.of("http://example.com:8080/") == ("http", "example.com", 8080)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("500K", 500 * 1024), ("10m", 10 * 1024**2), ("1G", 1024**3), ("2KiB", 2048)],
)
def test_sizes_use_powers_of_1024(text: str, size: int) -> None:
    """K, M and G are 1024-based."""
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "1.5M", "-1", "10X", "ten"])
def test_bad_sizes_are_refused(text: str) -> None:
    """Anything else is a ValueError (a usage error on the command line)."""
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_headers_split_at_the_first_colon() -> None:
    """'Name: value' gives the pair, values may hold colons."""
    assert parse_header("Authorization: Bearer a:b") == ("Authorization", "Bearer a:b")
    with pytest.raises(ValueError, match="not a header"):
        parse_header("no colon")


class FakeFetcher:
    def __init__(self) -> None:
        self.stopped_by: str | None = None

        self.temporaries_removed = False

    def stop(self, reason: str) -> None:
        self.stopped_by = reason

    def remove_temporary_files(self) -> None:
        self.temporaries_removed = True


class FakeRecords:
    def __init__(self, unwritten: int) -> None:
        self.unwritten = unwritten
        self.hurried: list[float] = []

    def hurry(self, seconds: float) -> None:
        self.hurried.append(seconds)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_second_signal_exits_at_once(signum: signal.Signals, code: int) -> None:
    """The first signal stops the run gracefully and says so; the same signal again
    within REPEAT_WINDOW_SECONDS (GNU timeout sends two) changes nothing; one after the
    window removes the temporary files and exits at once."""
    fetcher, exits, now = FakeFetcher(), [], [100.0]
    env = Environment(io.BytesIO(), io.BytesIO(), io.StringIO(), False, False, False, True)

    def exit_now(status: int):
        exits.append(status)
        raise SystemExit(status)

    records = FakeRecords(unwritten=0)
    handler = SignalStop(fetcher, records, env, exit_now=exit_now, clock=lambda: now[0])  # type: ignore[arg-type]
    handler(signum)
    assert fetcher.stopped_by in ("interrupted", "terminated", "hangup")
    assert exits == []
    assert records.hurried == [WRITE_GRACE_SECONDS]  # records still queued get a bounded wait
    assert "cancelling the requests in flight" in env.stderr.getvalue()  # type: ignore[attr-defined]
    records.unwritten = 1234
    for later in (0.001, 0.5, REPEAT_WINDOW_SECONDS - 0.01):
        now[0] = 100.0 + later
        handler(signum)  # the same signal sent again: ignored
    assert exits == []
    assert not fetcher.temporaries_removed
    now[0] = 100.0 + REPEAT_WINDOW_SECONDS + 0.01
    with pytest.raises(SystemExit):
        handler(signum)
    assert exits == [code]
    assert fetcher.temporaries_removed
    assert env.stderr.getvalue().endswith(  # type: ignore[attr-defined]
        "fetchall: exiting at once: 1,234 records were not written\n"
    )
