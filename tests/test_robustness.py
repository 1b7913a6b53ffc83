"""Hostile and broken servers, retries, limits, request options and --fail-fast, through the
CLI against real local servers."""

from __future__ import annotations

import re
import sys
import time
import uuid
from pathlib import Path

import pytest

from fetchall import __version__
from tests import conftest
from tests.conftest import invoke, jsonl
from tests.server import TestServer


@pytest.fixture(
    autouse=True,
    params=[("fast", "uvloop"), ("httpx", "uvloop"), ("fast", "asyncio")],
    ids=["fast", "httpx", "fast-asyncio"],
)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both transports, fetchall's and httpx's own, on uvloop's
    event loop (the default where it is installed), and on asyncio's, the fallback."""
    transport, loop = request.param

    def invoke_with(*args: str, stdin: str | bytes = b""):
        return conftest.invoke("--transport", transport, *args, stdin=stdin)

    monkeypatch.setattr(sys.modules[__name__], "invoke", invoke_with)
    if loop == "asyncio":
        monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    return str(transport)


def one_record(*args: str, urls: list[str] | None = None) -> dict:
    (record,) = jsonl(invoke("--json", *args, "-", stdin="\n".join(urls or []) + "\n").stdout)
    return record


def flaky(server: TestServer, times: int, status: int, retry_after: str | None = None) -> str:
    """A URL that answers ``status`` ``times`` times, then 200."""
    query = f"key={uuid.uuid4().hex}&times={times}&status={status}"
    return server.url(f"/flaky?{query}" + (f"&retry_after={retry_after}" if retry_after else ""))


# --- deadlines and sizes ---


def test_connect_timeout_bounds_a_connection_that_hangs(unanswered_port: int) -> None:
    """--connect-timeout fails a connection nobody accepts, as timeout."""
    record = one_record(
        "--connect-timeout", "0.5", "-r", "0", urls=[f"http://127.0.0.1:{unanswered_port}/"]
    )
    assert record["error_kind"] == "timeout"
    assert record["error"] == f"could not connect to 127.0.0.1:{unanswered_port} within 0.5s"
    assert 0.5 <= record["elapsed"] < 2


@pytest.mark.parametrize("path", ["/drip", "/stall"])
def test_the_deadline_holds_against_dripping_and_stalling(server: TestServer, path: str) -> None:
    """A server that drips a byte every 0.1 s or never answers cannot outlast -t."""
    started = time.monotonic()
    record = one_record("-t", "1", "-r", "0", urls=[server.url(path)])
    assert record["error_kind"] == "timeout"
    assert record["error"] == "no complete response within 1s"
    assert 1 <= record["elapsed"] < 2.5
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/drip", "/stall"])
def test_the_speed_limit_cuts_a_drip_and_a_stall(server: TestServer, path: str) -> None:
    """Below --speed-limit for --speed-time seconds (waiting for the head included), an
    attempt fails as timeout, and the message says how slow it was."""
    record = one_record(
        "--speed-limit", "1K", "--speed-time", "1", "-r", "0", urls=[server.url(path)]
    )
    assert record["error_kind"] == "timeout"
    assert record["error"].startswith("slower than 1,024 bytes/s for 1s (")
    assert 1 <= record["elapsed"] < 3


def test_a_transfer_above_the_speed_limit_is_not_cut(server: TestServer) -> None:
    """A body arriving steadily above the limit outlasts --speed-time by far."""
    url = server.url("/steady/30000?rate=10000")  # 3 s at 10 KB/s
    record = one_record("--speed-limit", "2K", "--speed-time", "0.5", "-r", "0", urls=[url])
    assert (record["ok"], record["bytes"]) == (True, 30000)
    assert record["elapsed"] >= 2.5


def test_an_endless_body_is_too_large(server: TestServer) -> None:
    """Streaming past --max-size aborts as too_large, with the bytes counted so far."""
    record = one_record("--max-size", "1M", "-t", "20", urls=[server.url("/endless")])
    assert record["error_kind"] == "too_large"
    assert record["status"] == 200
    assert 1024**2 < record["bytes"] <= 1024**2 + 64 * 1024
    assert record["attempts"] == 1  # too_large is not transient


def test_a_declared_content_length_over_the_limit_fails_before_reading(server: TestServer) -> None:
    """Content-Length over --max-size is refused without reading the body."""
    record = one_record("--max-size", "500K", urls=[server.url(f"/bytes/{600 * 1024}")])
    assert record["error_kind"] == "too_large"
    assert record["bytes"] == 0
    assert "Content-Length 614400" in record["error"]


def test_a_chunked_body_within_the_limit_is_fine(server: TestServer) -> None:
    """A body at the limit passes (the check is 'larger than')."""
    record = one_record("--max-size", "10K", urls=[server.url("/chunked/10240")])
    assert (record["ok"], record["bytes"]) == (True, 10240)


@pytest.mark.parametrize("value", ["ten", "5X", "-1K", ""])
def test_a_bad_size_is_a_usage_error(value: str) -> None:
    """--max-size takes 500K, 10M, 1G or bytes."""
    assert invoke("--max-size", value, "-", stdin="x.test\n").exit_code == 2


# --- retries ---


def test_a_reset_mid_body_is_retried_then_reported(fresh_server: TestServer) -> None:
    """A connection dropped mid-body is read, tried 1 + --retries times."""
    record = one_record("-r", "2", urls=[fresh_server.url("/reset")])
    assert (record["error_kind"], record["attempts"], record["status"]) == ("read", 3, 200)
    assert fresh_server.requests["/reset"] == 3


def test_503_with_retry_after_then_200(server: TestServer) -> None:
    """Retry-After (seconds) is waited for, and the retry succeeds."""
    record = one_record(urls=[flaky(server, 1, 503, retry_after="1")])
    assert (record["ok"], record["status"], record["attempts"]) == (True, 200, 2)
    assert 1 <= record["elapsed"] < 3


def test_429_several_times_exhausts_the_retries(server: TestServer) -> None:
    """Three 429s with -r 2: three attempts, and the last status is reported."""
    record = one_record("-r", "2", urls=[flaky(server, 3, 429)])
    assert (record["error_kind"], record["status"], record["attempts"]) == ("http_status", 429, 3)
    assert record["error"].startswith("HTTP 429")


def test_429_then_success_within_the_retries(server: TestServer) -> None:
    """Three 429s with -r 3: the fourth attempt succeeds."""
    record = one_record("-r", "3", urls=[flaky(server, 3, 429)])
    assert (record["ok"], record["attempts"]) == (True, 4)


def test_retry_after_is_capped_by_max_retry_wait(server: TestServer) -> None:
    """A server asking for 30 s waits only --max-retry-wait."""
    record = one_record("--max-retry-wait", "0.2", urls=[flaky(server, 1, 503, retry_after="30")])
    assert (record["ok"], record["attempts"]) == (True, 2)
    assert record["elapsed"] < 2


@pytest.mark.parametrize("status", [400, 404, 500])
def test_other_error_statuses_are_not_retried(fresh_server: TestServer, status: int) -> None:
    """Only 429, 502, 503 and 504 are retried among statuses."""
    record = one_record(urls=[flaky(fresh_server, 5, status)])
    assert (record["status"], record["attempts"]) == (status, 1)
    assert fresh_server.requests["/flaky"] == 1


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried(server: TestServer, status: int) -> None:
    """502 and 504 are transient."""
    record = one_record(urls=[flaky(server, 1, status)])
    assert (record["ok"], record["attempts"]) == (True, 2)


def test_connect_errors_are_retried_and_dns_errors_are_not(unused_port: int) -> None:
    """A closed port is tried three times; an unresolvable name once; an invalid line never."""
    records = jsonl(
        invoke(
            "--json", "-", stdin=f"http://127.0.0.1:{unused_port}/\nhttp://x.invalid/\nftp://x/\n"
        ).stdout
    )
    attempts = {r["error_kind"]: r["attempts"] for r in records}
    assert attempts == {"connect": 3, "dns": 1, "invalid_url": 0}


def test_a_timeout_is_retried_and_elapsed_covers_every_attempt(fresh_server: TestServer) -> None:
    """elapsed spans all attempts and the waits between them."""
    record = one_record("-t", "0.3", "-r", "1", urls=[fresh_server.url("/stall")])
    assert (record["error_kind"], record["attempts"]) == ("timeout", 2)
    assert 0.6 <= record["elapsed"] < 3
    assert fresh_server.requests["/stall"] == 2


def test_closed_without_answer_and_lying_length(server: TestServer) -> None:
    """No answer is protocol (not retried); a short body is read (retried)."""
    stdin = f"{server.url('/close')}\n{server.url('/short')}\n"
    records = jsonl(invoke("--json", "-r", "1", "-", stdin=stdin).stdout)
    outcomes = {r["url"]: (r["error_kind"], r["attempts"]) for r in records}
    assert outcomes == {server.url("/close"): ("protocol", 1), server.url("/short"): ("read", 2)}


# --- redirects ---


def test_max_redirects_and_no_follow(server: TestServer) -> None:
    """--max-redirects bounds a loop; --no-follow reports the 3xx itself."""
    looped = one_record("--max-redirects", "3", urls=[server.url("/loop")])
    assert looped["error_kind"] == "too_many_redirects"
    assert looped["error"] == "more than 3 redirects"
    unfollowed = one_record("--no-follow", urls=[server.url("/redirect/2")])
    assert (unfollowed["ok"], unfollowed["status"]) == (True, 302)
    assert unfollowed["final_url"] == server.url("/redirect/2")


# --- TLS ---


def test_self_signed_tls_fails_without_trust(tls_server: TestServer) -> None:
    """An unknown CA is a tls error, not retried."""
    record = one_record(urls=[tls_server.url("/bytes/5")])
    assert (record["error_kind"], record["attempts"]) == ("tls", 1)
    assert "certificate verify failed" in record["error"]


def test_insecure_skips_verification(tls_server: TestServer) -> None:
    """-k fetches from a self-signed server."""
    record = one_record("-k", urls=[tls_server.url("/bytes/5")])
    assert (record["ok"], record["bytes"]) == (True, 5)


def test_https_assumed_for_a_plain_http_server_says_so(plain_http_port: int) -> None:
    """A line without a scheme gets https://; when the server speaks plain HTTP, the TLS
    error says https:// was assumed and how to ask for http://. With https:// written out,
    the error is the plain TLS error."""
    assumed, written = f"127.0.0.1:{plain_http_port}/a", f"https://127.0.0.1:{plain_http_port}/b"
    records = {
        r["url"]: r
        for r in jsonl(invoke("--json", "-r", "0", "-", stdin=f"{assumed}\n{written}\n").stdout)
    }
    hint = "(https:// was assumed for this line; write http:// to fetch it over plain HTTP)"
    assert records[assumed]["error_kind"] == "tls"
    assert records[assumed]["error"].endswith(hint)
    assert records[written]["error_kind"] == "tls"
    assert "was assumed" not in records[written]["error"]


def test_cacert_trusts_the_given_ca(tls_server: TestServer, ca_file: Path) -> None:
    """--cacert FILE verifies against that CA."""
    record = one_record("--cacert", str(ca_file), urls=[tls_server.url("/bytes/6")])
    assert (record["ok"], record["bytes"]) == (True, 6)


def test_an_unreadable_cacert_is_a_usage_error(tmp_path: Path) -> None:
    """A missing --cacert file stops before fetching, exit 2."""
    result = invoke("--cacert", str(tmp_path / "none.pem"), "-", stdin="x.test\n")
    assert result.exit_code == 2
    assert "cannot load" in result.stderr


# --- request options ---


def test_method_headers_and_user_agent_are_sent(fresh_server: TestServer) -> None:
    """-X, -H (repeatable) and -A reach the server as given."""
    args = ["-X", "delete", "-H", "X-One: 1", "-H", "X-Two:  two ", "-A", "probe/9"]
    assert one_record(*args, urls=[fresh_server.url("/echo")])["ok"] is True
    method, headers = fresh_server.last_request["/echo"]
    assert method == "DELETE"
    assert (headers["X-One"], headers["X-Two"], headers["User-Agent"]) == ("1", "two", "probe/9")


def test_cookies_are_not_carried_from_one_url_to_the_next(fresh_server: TestServer) -> None:
    """A cookie set by one response is not sent with the next request, nor along a redirect
    (as curl without -b/-c)."""
    stdin = f"{fresh_server.url('/cookie')}\n{fresh_server.url('/echo')}\n"
    assert invoke("--json", "-c", "1", "-", stdin=stdin).exit_code == 0
    _, headers = fresh_server.last_request["/echo"]
    assert "Cookie" not in headers
    assert invoke("--json", "-", stdin=fresh_server.url("/cookie?then=/echo") + "\n").exit_code == 0
    _, headers = fresh_server.last_request["/echo"]
    assert "Cookie" not in headers


def test_default_user_agent_names_fetchall(fresh_server: TestServer) -> None:
    """The User-Agent is fetchall/<version> unless -A says otherwise."""
    one_record(urls=[fresh_server.url("/echo")])
    _, headers = fresh_server.last_request["/echo"]
    assert headers["User-Agent"] == f"fetchall/{__version__}"


def test_head_works(server: TestServer) -> None:
    """-X HEAD gets the status and no body."""
    record = one_record("-X", "HEAD", urls=[server.url("/bytes/5000")])
    assert (record["ok"], record["status"], record["bytes"]) == (True, 200, 0)


@pytest.mark.parametrize("value", ["no-colon", ": empty name", "Bad Name: x"])
def test_a_malformed_header_is_a_usage_error(value: str) -> None:
    """-H must look like 'Name: value'."""
    assert invoke("-H", value, "-", stdin="x.test\n").exit_code == 2


def test_http2_with_its_extra_fetches(tls_server: TestServer) -> None:
    """--http2 works where h2 is installed (this server offers only HTTP/1.1 via ALPN)."""
    record = one_record("--http2", "-k", urls=[tls_server.url("/bytes/12")])
    assert (record["ok"], record["bytes"]) == (True, 12)


def test_http2_without_its_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """--http2 without h2 installed is a clear usage error."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "h2" else real_find_spec(name)
    )
    result = invoke("--http2", "-", stdin="x.test\n")
    assert result.exit_code == 2
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "pip install 'fetchall[http2]'" in said
    assert "pipx inject fetchall 'httpx[http2]'" in said  # pipx and uv installs too
    assert "uv tool install --with 'httpx[http2]'" in said


# --- politeness ---


def test_per_host_caps_each_host(fresh_server: TestServer, other_server: TestServer) -> None:
    """--per-host 2 holds each host to two in flight, measured at each server."""
    urls = [
        s.url(f"/bytes/1?delay=0.15&i={i}") for i in range(12) for s in (fresh_server, other_server)
    ]
    result = invoke("-q", "-c", "10", "--per-host", "2", "-", stdin="\n".join(urls) + "\n")
    assert result.exit_code == 0
    assert fresh_server.peak_in_flight == 2
    assert other_server.peak_in_flight == 2


def test_a_busy_host_does_not_hold_up_the_others(
    fresh_server: TestServer, other_server: TestServer
) -> None:
    """Lines waiting for a busy host hold no permit: a later host starts at once."""
    slow = [fresh_server.url(f"/bytes/1?delay=0.2&i={i}") for i in range(10)]
    fast = [other_server.url(f"/bytes/1?i={i}") for i in range(4)]
    result = invoke("-q", "-c", "4", "--per-host", "1", "-", stdin="\n".join(slow + fast) + "\n")
    assert result.exit_code == 0
    last_slow_start = max(when for _, when in fresh_server.arrivals)
    assert all(when < last_slow_start for _, when in other_server.arrivals)
    assert fresh_server.peak_in_flight == 1


def test_rate_limits_request_starts(fresh_server: TestServer) -> None:
    """--rate 10 starts 25 requests over about 1.5 s (a burst of 10, then one per 0.1 s)."""
    urls = [fresh_server.url(f"/bytes/1?i={i}") for i in range(25)]
    invoke("-q", "-c", "25", "--rate", "10", "-", stdin="\n".join(urls) + "\n")
    starts = sorted(when for _, when in fresh_server.arrivals)
    assert len(starts) == 25
    for index, when in enumerate(starts):
        # no more than the burst (10) plus ten per second since the first start
        assert when - starts[0] >= (index - 10) / 10 - 0.05
    assert starts[-1] - starts[0] < 3


def test_host_rate_limits_each_host_separately(
    fresh_server: TestServer, other_server: TestServer
) -> None:
    """--host-rate 5 paces each host on its own: both finish in about the same time."""
    urls = [s.url(f"/bytes/1?i={i}") for i in range(10) for s in (fresh_server, other_server)]
    invoke("-q", "-c", "20", "--host-rate", "5", "-", stdin="\n".join(urls) + "\n")
    for server in (fresh_server, other_server):
        starts = sorted(when for _, when in server.arrivals)
        assert len(starts) == 10
        assert 0.8 <= starts[-1] - starts[0] < 2.5  # five at once, then one per 0.2 s


@pytest.mark.parametrize("limit", ["--rate", "--host-rate"])
def test_rate_waits_are_not_in_elapsed_or_latency(fresh_server: TestServer, limit: str) -> None:
    """A line waiting for a start token has not started: 8 lines at 4 starts a second take
    about 1 s in all, but each record's elapsed, the latency and "slowest" are those of a
    fast local response (README: elapsed runs from the start of the request)."""
    urls = [fresh_server.url(f"/bytes/1?i={i}") for i in range(8)]
    started = time.monotonic()
    result = invoke("--json", "-r", "0", "-c", "8", limit, "4", "-", stdin="\n".join(urls) + "\n")
    assert time.monotonic() - started >= 0.9  # the rate was kept
    records = jsonl(result.stdout)
    assert [r["status"] for r in records] == [200] * 8
    assert max(r["elapsed"] for r in records) < 0.4, [r["elapsed"] for r in records]
    (latency,) = [line for line in result.stderr.splitlines() if line.strip().startswith("latency")]
    assert re.search(r"max [\d.]+ [mµ]s$", latency.rstrip()), latency  # not seconds


def test_per_host_queueing_is_not_in_elapsed(fresh_server: TestServer) -> None:
    """A line queued for its host's slot (--per-host 1) has not started either."""
    urls = [fresh_server.url(f"/bytes/1?delay=0.2&i={i}") for i in range(5)]
    result = invoke("--json", "-c", "5", "--per-host", "1", "-", stdin="\n".join(urls) + "\n")
    records = jsonl(result.stdout)
    assert [r["status"] for r in records] == [200] * 5
    assert max(r["elapsed"] for r in records) < 0.6, [r["elapsed"] for r in records]


# --- fail-fast ---


def test_fail_fast_cancels_in_flight_and_starts_nothing_more(fresh_server: TestServer) -> None:
    """After the first failure: in-flight lines are cancelled, later lines never start."""
    urls = [fresh_server.url("/stall"), fresh_server.url("/stall"), fresh_server.url("/status/404")]
    urls += [fresh_server.url(f"/bytes/1?i={i}") for i in range(50)]
    started = time.monotonic()
    result = invoke("--json", "--fail-fast", "-c", "3", "-", stdin="\n".join(urls) + "\n")
    assert result.exit_code == 1
    kinds = sorted(r["error_kind"] for r in jsonl(result.stdout))
    assert kinds == ["cancelled", "cancelled", "http_status"]
    assert fresh_server.requests["/bytes/1"] == 0
    assert time.monotonic() - started < 5


def test_fail_fast_counts_an_invalid_line(fresh_server: TestServer) -> None:
    """An invalid line is a failure that stops the run."""
    urls = ["ftp://x/"] + [fresh_server.url(f"/bytes/1?delay=0.5&i={i}") for i in range(5)]
    result = invoke("--json", "--fail-fast", "-c", "1", "-", stdin="\n".join(urls) + "\n")
    assert result.exit_code == 1
    assert jsonl(result.stdout)[0]["error_kind"] == "invalid_url"
    assert fresh_server.requests["/bytes/1"] <= 1


def test_proxy_variables_carry_the_requests(fresh_server: TestServer, transport: str) -> None:
    """HTTP_PROXY in the environment is honoured, as httpx does, whichever transport is asked."""
    result = conftest.CliRunner().invoke(
        conftest.app,
        ["--transport", transport, "--json", "-"],
        input="http://far-away.test/bytes/4\n",
        env={"HTTP_PROXY": fresh_server.url(""), "NO_PROXY": ""},
    )
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["bytes"]) == (True, 4)
    assert fresh_server.requests["/bytes/4"] == 1


def test_proxy_carries_the_requests(fresh_server: TestServer) -> None:
    """--proxy URL sends the request to the proxy (here the test server, which answers it)."""
    record = one_record("--proxy", fresh_server.url(""), urls=["http://far-away.test/bytes/9"])
    assert (record["ok"], record["bytes"]) == (True, 9)
    assert fresh_server.requests["/bytes/9"] == 1
