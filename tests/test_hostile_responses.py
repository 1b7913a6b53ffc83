"""Responses that once hung or crashed a whole run (issue 12), through the installed
command with its default retries, on both transports: each run must end on its own, fast,
with one record per line and exit status 1. The servers hold their connections open
(5 s) after answering, so a transport that waits for the close, or for the timeout, is
caught by the wall-clock bound; the subprocess timeout ends a hang."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance_rows import CHUNKED, OK
from tests.conftest import FETCHALL, jsonl, run_fetchall
from tests.rawserver import RawServer, Reply

HOLD = 5.0
"""Seconds each server keeps a connection open after answering."""
BOUND = 3.0
"""Seconds the whole run may take: well under HOLD, and the timeout (-t 10)."""

HOSTILE = {
    "chunk size -1 (100% CPU, signals ignored)": CHUNKED + b"-1\r\nx\r\n0\r\n\r\n",
    "chunk size -5 (100% CPU, signals ignored)": CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n",
    "status of 5,000 digits (exit 3)": b"HTTP/1.1 " + b"2" * 5000 + b" OK\r\n\r\n",
    "Content-Length of 5,000 digits (exit 3)": OK + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n",
    "101 unasked (the timeout, three times)": b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
}


HTTP_1_0 = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(scope="module")
def hostile() -> Iterator[RawServer]:
    """A server for each response above, and one for a good HTTP/1.0 response."""
    replies = {
        name: Reply(data, "hold", HOLD) for name, data in {**HOSTILE, "HTTP/1.0": HTTP_1_0}.items()
    }
    server = RawServer(replies).start()
    yield server
    server.stop()


def run(*args: str, urls: list[str]) -> tuple[int, list[dict], float]:
    """Exit status, records and wall-clock seconds of a run over ``urls``."""
    started = time.monotonic()
    result = run_fetchall(
        *args, "--json", "-t", "10", "-", stdin="\n".join(urls).encode(), timeout=30
    )
    return result.returncode, jsonl(result.stdout.decode()), time.monotonic() - started


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_response_fails_its_urls_and_the_run_goes_on(
    hostile: RawServer, name: str, transport: str
) -> None:
    """Two URLs answered so fail as protocol at once; a third, good one is fetched."""
    urls = [hostile.url(name, "/a"), hostile.url(name, "/b"), hostile.url("HTTP/1.0")]
    status, records, seconds = run("--transport", transport, urls=urls)
    assert status == 1
    assert len(records) == 3
    kinds = {record["url"]: record["error_kind"] for record in records}
    assert kinds == {urls[0]: "protocol", urls[1]: "protocol", urls[2]: None}
    assert seconds < BOUND


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_http_1_0_responses_in_a_row_do_not_wait(
    hostile: RawServer, method: str, transport: str
) -> None:
    """An HTTP/1.0 response closes its connection (the server here does not): the next
    request goes on a new one at once (once 5 s a URL; POSTs failed)."""
    urls = [hostile.url("HTTP/1.0", f"/{i}") for i in range(3)]
    status, records, seconds = run("--transport", transport, "-X", method, "-c", "1", urls=urls)
    assert status == 0
    assert [record["bytes"] for record in records] == [2, 2, 2]
    assert seconds < BOUND


UNPARSABLE = {
    "conflicting lengths": OK + b"Content-Length: 5, 6\r\n\r\nhello!",
    "a length not digits": OK + b"Content-Length: 5x\r\n\r\nhello",
    "a status not digits": b"HTTP/1.1 abc Bad\r\nContent-Length: 0\r\n\r\n",
}


def test_connections_of_unparsable_responses_are_closed_at_once(tmp_path: Path) -> None:
    """300 URLs whose responses cannot be parsed, at -c 8, on servers that never close:
    when the last URL has started (and waits on a server that never answers), at most 8 of
    their connections are still open (once ~250 stayed open until the server closed)."""
    replies = {name: Reply(data, "hold", 60) for name, data in UNPARSABLE.items()}
    server = RawServer({**replies, "last": Reply(b"", "hold", 60)}).start()
    urls = [server.url(name, f"/{i}") for i in range(100) for name in UNPARSABLE]
    (tmp_path / "urls").write_text("".join(f"{url}\n" for url in [*urls, server.url("last")]))
    try:
        with (tmp_path / "out").open("wb") as out:
            child = subprocess.Popen(
                [FETCHALL, "--json", "-c", "8", "-r", "0", "-t", "3", str(tmp_path / "urls")],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
            try:
                open_at_the_end = open_once_last_started(server, child)
            finally:
                child.wait(timeout=30)
        records = jsonl((tmp_path / "out").read_text())
        assert len(records) == 301
        assert sum(record["error_kind"] == "protocol" for record in records) == 300
        assert sum(server.connections[name] for name in UNPARSABLE) == 300
        assert open_at_the_end <= 8
    finally:
        server.stop()


def open_once_last_started(server: RawServer, child: subprocess.Popen[bytes]) -> int:
    """The unparsable responses' connections still open 0.5 s after the last URL's
    request arrived (it never gets an answer; the run's -t 3 ends it)."""
    deadline = time.monotonic() + 20
    while not server.requests["last"]:
        assert child.poll() is None, "the run ended before its last URL started"
        assert time.monotonic() < deadline, "the last URL never started"
        time.sleep(0.01)
    time.sleep(0.5)
    return sum(server.open[name] for name in UNPARSABLE)
