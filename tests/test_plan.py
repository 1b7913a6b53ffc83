"""From option values to a plan, and from how a run ended to its exit status: pure
functions, tested without typer or a run."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from fetchall import Settings, StopReason
from fetchall._input import Shard
from fetchall._origin import Origin
from fetchall.cli.environment import Environment
from fetchall.cli.options import MAX_BODY_BYTES
from fetchall.cli.plan import Options, UsageError, make_plan
from fetchall.cli.status import Ending, ExitStatus, Failure, exit_status, exit_statuses_help
from fetchall.cli.writers import OutputFormat

DEFAULTS = Options(
    sources=["urls.txt"], concurrency=16, output_format=None, json=False,
    quiet=False, no_color=False, progress=None, timeout=None, connect_timeout=10.0,
    speed_limit="1024", speed_time=30.0,
    retries=2, max_retry_wait=60.0, max_host_errors=10, fail_fast=False, per_host=0,
    rate=None, host_rate=None,
    method=None, header=None, data=None, data_binary=None, user_agent=None, max_redirects=10,
    no_follow=False, max_size=None, http2=False, insecure=False, cacert=None, proxy=None,
    raw=False, output_dir=None, skip_existing=False, sha256=False, resume=None, unique=False,
    shard=None,
    transport="fast", debug=False,
)  # fmt: skip


def env(*, stdin_isatty: bool = False) -> Environment:
    return Environment(io.BytesIO(), io.BytesIO(), io.StringIO(), stdin_isatty, False, False, False)


def plan(**changes: object):
    return make_plan(dataclasses.replace(DEFAULTS, **changes), env())  # type: ignore[arg-type]


def test_values_become_settings_output_and_selection() -> None:
    """Each option lands in its place: methods upper-cased, sizes and headers parsed,
    --no-follow and -k inverted, --json as the jsonl format, --shard parsed."""
    made = plan(
        method="head",
        max_size="10K",
        header=["X-A: 1", "X-B:two"],
        no_follow=True,
        insecure=True,
        json=True,
        shard="1/4",
        unique=True,
        raw=True,
    )
    assert made.sources == ["urls.txt"]
    assert made.settings.method == "HEAD"
    assert made.settings.max_size == 10 * 1024
    assert made.settings.headers == (("X-A", "1"), ("X-B", "two"))
    assert (made.settings.follow_redirects, made.settings.verify) == (False, False)
    assert made.output.format is OutputFormat.JSONL
    assert (made.selection.shard, made.selection.unique) == (Shard(1, 4), True)
    assert made.settings.raw is True


@pytest.mark.parametrize(
    ("changes", "param", "words"),
    [
        ({"json": True, "output_format": OutputFormat.CSV}, "--json", "--format csv"),
        ({"json": True, "output_format": OutputFormat.TEXT}, "--json", "--format text"),
        ({"max_size": "10X"}, "--max-size", "not a size"),
        ({"header": ["no colon"]}, "--header", "not a header"),
        ({"header": ["X Y: 1"]}, "--header", "not a header name"),
        ({"header": ["X-A: 1\r\n"]}, "--header", "line break or NUL"),
        ({"method": "GET\r\nX-Inj: 1"}, "--method", "not an HTTP method"),
        ({"method": "GE T"}, "--method", "not an HTTP method"),
        ({"method": ""}, "--method", "not an HTTP method"),
        ({"user_agent": "a\nb"}, "--user-agent", "line break or NUL"),
        ({"proxy": "http://"}, "--proxy", "names no host"),
        ({"proxy": "http://p:99999"}, "--proxy", "the port is not a number in 1-65535"),
        ({"shard": "4/4"}, "--shard", "0 <= K < N"),
        ({"transport": "h3"}, "--transport", "fast or httpx"),
        ({"skip_existing": True}, "--skip-existing", "-o/--output-dir"),
    ],
)
def test_values_that_cannot_be_used_name_their_option(
    changes: dict[str, object], param: str, words: str
) -> None:
    """A bad value is a UsageError naming the option, with the reason."""
    with pytest.raises(UsageError, match=words) as raised:
        plan(**changes)
    assert raised.value.param == param


def test_a_body_implies_post_unless_a_method_is_given(tmp_path: Path) -> None:
    """-d and --data-binary make the body (curl's way) and POST; -X still wins."""
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"a\r\nb\x00\n")
    assert (plan().settings.method, plan().settings.body) == ("GET", None)
    assert (plan(data=["a=1", "b=2"]).settings.method, plan(data=["a=1", "b=2"]).settings.body) == (
        "POST",
        b"a=1&b=2",
    )
    assert plan(data=[f"@{raw}"]).settings.body == b"ab\x00"
    assert plan(data_binary=[f"@{raw}"]).settings.body == b"a\r\nb\x00\n"
    assert plan(data=["x"], method="put").settings.method == "PUT"


@pytest.mark.parametrize(
    ("changes", "param", "words"),
    [
        ({"data": ["@-"]}, "--data", "stdin may carry the URLs"),
        ({"data_binary": ["@-"]}, "--data-binary", "stdin may carry the URLs"),
        ({"data_binary": ["@/no/such/file"]}, "--data-binary", "cannot read /no/such/file"),
        ({"data": ["a"], "data_binary": ["b"]}, "--data-binary", "cannot be combined"),
        ({"data": ["a"], "method": "head"}, "--method", "HEAD cannot send a body"),
    ],
)
def test_bodies_that_cannot_be_sent_are_usage_errors(
    changes: dict[str, object], param: str, words: str
) -> None:
    """A body from stdin, an unreadable file, two kinds of body, or HEAD with a body."""
    with pytest.raises(UsageError, match=words) as raised:
        plan(**changes)
    assert raised.value.param == param


def test_a_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    """A file larger than the body limit is refused before anything is read in full."""
    big = tmp_path / "big.bin"
    with big.open("wb") as file:
        file.truncate(MAX_BODY_BYTES + 1)
    with pytest.raises(UsageError, match="16 MiB"):
        plan(data_binary=[f"@{big}"])
    big.write_bytes(b"x" * MAX_BODY_BYTES)
    assert len(plan(data_binary=[f"@{big}"]).settings.body or b"") == MAX_BODY_BYTES


def test_no_source_means_stdin_unless_it_is_a_terminal() -> None:
    """Without SOURCE, piped stdin is read; a terminal is a usage error."""
    options = dataclasses.replace(DEFAULTS, sources=None)
    assert make_plan(options, env()).sources == ["-"]
    with pytest.raises(UsageError, match="stdin is a terminal"):
        make_plan(options, env(stdin_isatty=True))


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        (Ending(), ExitStatus.OK),
        (Ending(any_failed=True), ExitStatus.FAILED),
        (Ending(stopped_by=StopReason.FAIL_FAST, any_failed=True), ExitStatus.FAILED),
        (Ending(stopped_by=StopReason.INTERRUPTED), ExitStatus.INTERRUPTED),
        (Ending(stopped_by=StopReason.TERMINATED, any_failed=True), ExitStatus.TERMINATED),
        (Ending(failure=Failure.USAGE), ExitStatus.USAGE),
        (Ending(failure=Failure.OUTPUT), ExitStatus.FAILED),
        (Ending(failure=Failure.BROKEN_PIPE, any_failed=True), ExitStatus.BROKEN_PIPE),
        (Ending(failure=Failure.INTERNAL), ExitStatus.INTERNAL),
        (Ending(stopped_by=StopReason.HANGUP, any_failed=True), ExitStatus.HANGUP),
        # the terminal hung up takes stdout with it: the hangup's status stays
        (Ending(stopped_by=StopReason.HANGUP, failure=Failure.OUTPUT), ExitStatus.HANGUP),
        (Ending(stopped_by=StopReason.HANGUP, failure=Failure.BROKEN_PIPE), ExitStatus.HANGUP),
        (Ending(stopped_by=StopReason.TERMINATED, failure=Failure.OUTPUT), ExitStatus.FAILED),
    ],
)
def test_how_a_run_ended_gives_one_exit_status(ending: Ending, status: ExitStatus) -> None:
    """A failure of the whole run wins over a signal, a signal over failed lines."""
    assert exit_status(ending) is status


def test_help_lists_every_exit_status_from_the_enum() -> None:
    """The help's sentence names each status once, with its meaning."""
    text = exit_statuses_help()
    for status in ExitStatus:
        assert f"{status.value} {status.meaning}" in text


@pytest.mark.parametrize(
    ("url", "origin", "authority", "netloc"),
    [
        ("https://Example.COM/a", ("https", "example.com", 443), "example.com:443", "example.com"),
        ("http://e.test:8080/", ("http", "e.test", 8080), "e.test:8080", "e.test:8080"),
        ("http://[::1]/", ("http", "::1", 80), "[::1]:80", "[::1]"),
        ("HTTP://e.test:443/", ("http", "e.test", 443), "e.test:443", "e.test:443"),
    ],
)
def test_one_origin_rule(
    url: str, origin: tuple[str, str, int], authority: str, netloc: str
) -> None:
    """Scheme and host lower-cased, the default port filled in; the authority always
    names the port, the netloc only when it is not the default."""
    parsed = Origin.of(url)
    assert parsed == origin
    assert (parsed.authority, parsed.netloc) == (authority, netloc)


@pytest.mark.parametrize(
    ("changes", "param", "words"),
    [
        ({"timeout": "nan"}, "--timeout", "a positive number of seconds, or 0 for none"),
        ({"timeout": "-1"}, "--timeout", "a positive number of seconds, or 0 for none"),
        ({"timeout": "inf"}, "--timeout", "a positive number of seconds, or 0 for none"),
        ({"connect_timeout": float("nan")}, "--connect-timeout", "a positive number of seconds"),
        ({"connect_timeout": 0.0}, "--connect-timeout", "a positive number of seconds"),
        ({"speed_time": float("inf")}, "--speed-time", "a positive number of seconds"),
        ({"speed_limit": "-1"}, "--speed-limit", "bytes per second"),
        ({"rate": float("nan")}, "--rate", "a positive number of requests per second"),
        ({"host_rate": 0.0}, "--host-rate", "a positive number of requests per second"),
        ({"max_retry_wait": float("inf")}, "--max-retry-wait", "a number of seconds, 0 or more"),
        ({"concurrency": 0}, "-c", "a whole number of requests, 1 or more"),
        ({"retries": -1}, "--retries", "a whole number, 0 or more"),
        ({"per_host": -2}, "--per-host", "or 0 for no limit"),
        ({"max_redirects": -1}, "--max-redirects", "a whole number, 0 or more"),
        ({"max_host_errors": -1}, "--max-host-errors", "failed attempts, or 0 for no limit"),
    ],
)
def test_numbers_out_of_range_name_the_option_and_the_range(
    changes: dict[str, object], param: str, words: str
) -> None:
    """NaN, infinities, negatives and zeros where they mean nothing: usage errors in words."""
    with pytest.raises(UsageError, match=words) as raised:
        plan(**changes)
    assert raised.value.param == param


@pytest.mark.parametrize("count", [0, 1, 10, 500])
def test_max_host_errors_is_a_count_where_0_is_off(count: int) -> None:
    """--max-host-errors takes any whole number from 0 (off) up, as given."""
    assert plan(max_host_errors=count).settings.max_host_errors == count


@pytest.mark.parametrize(("text", "seconds"), [("0", None), ("none", None), ("2.5", 2.5)])
def test_timeout_is_optional(text: str, seconds: float | None) -> None:
    """-t 0 and -t none mean no deadline; a number is the deadline in seconds."""
    assert plan(timeout=text).settings.timeout == seconds
    assert plan().settings.timeout is None


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "GET /x HTTP/1.1\r\nX-Inj:"},
        {"method": "GE T"},
        {"headers": (("X Y", "1"),)},
        {"headers": (("X-A", "1\r\nX-Inj: 1"),)},
        {"headers": (("Content-Type", "text/plain\nX-Inj: 1"),)},
        {"user_agent": "ua\r\nX-Inj: 1"},
        {"proxy": "http://"},
        {"proxy": "http://p:0"},
    ],
)
def test_settings_refuse_request_fields_that_would_change_the_framing(
    changes: dict[str, object],
) -> None:
    """The API's Settings check what the command line checks: ValueError."""
    with pytest.raises(ValueError, match=r"method|header|line break|proxy"):
        Settings(**changes)  # type: ignore[arg-type]


def test_settings_take_a_proxy_without_a_scheme_as_http() -> None:
    """curl's scheme-less proxy form: ``http://`` is put in front."""
    assert Settings(proxy="127.0.0.1:3128").proxy == "http://127.0.0.1:3128"
