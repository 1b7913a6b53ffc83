"""Containment (issue 12, point 6): nothing one URL does ends the run or escapes as a
traceback. A bug inside a line's attempts is that line's ``internal`` record; numbers a
server sends are read only when they are plain ASCII digits."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchall import Ok, Response, Settings
from fetchall._http import HttpClient
from fetchall._http.retry_after import parse_retry_after
from tests.conftest import invoke, jsonl, run_fetchall
from tests.server import TestServer

SUMMARY_LINE = "1 internal error: a bug in fetchall; run with --debug and report it"


def test_a_bug_in_one_attempt_is_that_lines_internal_record(
    monkeypatch, server: TestServer, url_file
) -> None:
    """A bug raised in one line's attempt gives that line an internal record naming the
    exception's type, the other lines are fetched, the exit status is 1 and the summary
    says plainly that it is a bug; the traceback shows only with --debug."""
    original = HttpClient.attempt

    async def buggy(self, url, *args, **kwargs):
        if "bug" in url:
            raise RuntimeError("boom")
        return await original(self, url, *args, **kwargs)

    monkeypatch.setattr(HttpClient, "attempt", buggy)
    path = str(url_file(server.url("/bytes/1"), server.url("/bytes/2?bug"), server.url("/bytes/3")))
    result = invoke("--json", path)
    records = {record["url"]: record for record in jsonl(result.stdout)}
    assert result.exit_code == 1
    assert [records[server.url(f"/bytes/{n}")]["ok"] for n in (1, 3)] == [True, True]
    broken = records[server.url("/bytes/2?bug")]
    assert (broken["error_kind"], broken["attempts"]) == ("internal", 1)
    assert broken["error"].startswith("internal error: RuntimeError: boom (a bug in fetchall")
    assert SUMMARY_LINE in result.stderr
    assert "Traceback" not in result.stderr
    debugged = invoke("--json", "--debug", path)
    assert debugged.exit_code == 1
    assert "Traceback" in debugged.stderr
    assert 'raise RuntimeError("boom")' in debugged.stderr


def test_a_bug_outside_any_line_still_ends_the_run_with_3(
    monkeypatch, server: TestServer, url_file
) -> None:
    """A bug that is no line's (here in writing the records) ends the run: exit 3, one
    short line, the traceback only with --debug."""

    def broken(result):
        raise RuntimeError("no record")

    monkeypatch.setattr("fetchall.cli.fetch_loop.record_of", broken)
    path = str(url_file(server.url("/bytes/1")))
    result = invoke(path)
    assert result.exit_code == 3
    assert "internal error: RuntimeError: no record" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" in invoke("--debug", path).stderr


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_a_retry_after_of_superscript_two_is_ignored(server: TestServer, transport: str) -> None:
    """Retry-After: ² on a 503 (str.isdigit() takes it, float() does not) is no wait:
    the backoff is used, the retry succeeds, one record, exit 0, well within the bound."""
    key = uuid.uuid4().hex
    url = server.url(f"/flaky?key={key}&times=1&status=503&retry_after=%C2%B2")
    started = time.monotonic()
    result = run_fetchall("--json", "-t", "30", "--transport", transport, "-", stdin=url.encode())
    elapsed = time.monotonic() - started
    (record,) = jsonl(result.stdout.decode())
    assert result.returncode == 0, result.stderr
    assert (record["ok"], record["attempts"]) == (True, 2)
    assert elapsed < 10


@given(
    st.text(max_size=60)
    | st.from_regex(r"\s*[0-9\u00b2\u00b3\u00b9\u0660-\u0669]{1,6000}\s*", fullmatch=True)
)
def test_retry_after_never_raises(value: str) -> None:
    """Any Retry-After text gives seconds or None, never an exception; only ASCII digits
    count as delta-seconds."""
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0
    if seconds is not None and value.strip().isdigit():
        assert value.strip().isascii()


@pytest.mark.anyio
@pytest.mark.parametrize("declared", ["²".encode(), b"9" * 5000])
async def test_a_content_length_that_is_no_plain_number_is_not_compared(declared: bytes) -> None:
    """With --max-size, a Content-Length of ``²`` or of 5,000 digits (past int()'s limit)
    is left to the framing and the byte count, never parsed into an exception."""

    def handler(request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(b"abc")
        return httpx.Response(200, headers=[(b"Content-Length", declared)], stream=stream)

    settings = Settings(max_size=10)
    async with HttpClient(settings, httpx.MockTransport(handler)) as client:
        loop = asyncio.get_running_loop()
        result = await client.attempt("http://site.test/", _NoProgress(), loop=loop)
    assert result == Ok(Response(200, "http://site.test/", 3, None, http_version="HTTP/1.1"))


class _NoProgress:
    def on_phase(self, phase: object) -> None:
        """Nothing."""

    def on_attempt(self, known: object) -> None:
        """Nothing."""

    def on_headers(self, status: int) -> None:
        """Nothing."""

    def on_bytes(self, count: int) -> None:
        """Nothing."""
