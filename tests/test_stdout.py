"""The records stream at the edge of the process, with the installed ``fetchall``: a full
disk under stdout, a reader that stops reading, and an open-files limit below -c."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FETCHALL
from tests.server import TestServer

PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def full_disk() -> Iterator[Path]:
    """A folder on a tmpfs of one page, so that stdout redirected there fills it."""
    mount_point = Path(tempfile.mkdtemp(prefix="fetchall-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={PAGE}", "tmpfs", str(mount_point)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=30, check=False)
        mount_point.rmdir()


def padded_urls(server: TestServer, count: int, record_size: int, delay: float = 0) -> str:
    """``count`` URL lines whose jsonl records are each about ``record_size`` bytes (the
    URL appears twice in a record, with about 200 bytes of other fields)."""
    pad = "x" * ((record_size - 200) // 2 - len(server.url("/bytes/1?pad=&i=000&delay=0.0")))
    query = f"&delay={delay}" if delay else ""
    return "".join(server.url(f"/bytes/1?pad={pad}&i={i:03}{query}") + "\n" for i in range(count))


def run_into(path: Path, urls: str, *args: str, unbuffered: bool) -> subprocess.CompletedProcess:
    """Run ``fetchall --json -c 1 ARGS`` with stdout appended to ``path``."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with path.open("ab") as out:
        return subprocess.run(
            [FETCHALL, "--json", "-c", "1", *args],
            input=urls.encode(),
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )


def whole_records_and_rest(data: bytes) -> tuple[list[dict], bytes]:
    """The complete jsonl lines of ``data``, and what follows the last newline."""
    *lines, rest = data.split(b"\n")
    return [json.loads(line) for line in lines], rest


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_the_last_record_meeting_a_full_disk_fails_the_run(
    full_disk: Path, server: TestServer, unbuffered: bool
) -> None:
    """Four records of which three fit: the fourth, the last, meets the full disk. Exit 1
    with a one-line message and an aborted summary, not 0 (a record lost silently) nor
    Python's 120 with "Exception ignored" (bytes left for the exit flush)."""
    records_that_fit = 3
    urls = padded_urls(server, 4, record_size=PAGE * 2 // (2 * records_that_fit + 1))
    result = run_into(full_disk / "out.jsonl", urls, unbuffered=unbuffered)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "fetchall: cannot write the records to stdout: No space left on device\n" in stderr
    assert "aborted after 4 URLs" in stderr
    assert "1 finished URL has no record on stdout" in stderr
    assert "Exception ignored" not in stderr
    assert "Traceback" not in stderr
    records, torn = whole_records_and_rest((full_disk / "out.jsonl").read_bytes())
    assert len(records) == records_that_fit
    assert torn  # the fragment the failing write left: the only partial line


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_with_stderr_on_the_full_disk_too_the_status_is_still_ours(
    full_disk: Path, server: TestServer, unbuffered: bool
) -> None:
    """`fetchall urls > full/log 2>&1`: the message and the summary cannot be written
    either, yet the exit status is 1, not Python's 120 for a failed exit flush."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    urls = padded_urls(server, 4, record_size=PAGE * 2 // 7)
    with (full_disk / "log").open("wb") as log:
        result = subprocess.run(
            [FETCHALL, "--json", "-c", "1"],
            input=urls.encode(),
            stdout=log,
            stderr=log,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_an_earlier_record_meeting_a_full_disk_stops_the_run_and_resume_recovers(
    full_disk: Path, server: TestServer, tmp_path: Path, unbuffered: bool
) -> None:
    """The third of twelve slow URLs meets the full disk: the run stops there (nothing
    more is started), exits 1 and says so; a --resume run onto a copy of the file then
    fetches every URL without an ok record, and only the torn fragment is malformed."""
    urls = padded_urls(server, 12, record_size=PAGE * 2 // 5, delay=0.2)
    result = run_into(full_disk / "out.jsonl", urls, unbuffered=unbuffered)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "fetchall: cannot write the records to stdout: No space left on device\n" in stderr
    assert "aborted after 3 URLs" in stderr  # the one in flight was cancelled, unrecorded
    assert "1 finished URL has no record on stdout" in stderr
    assert "Exception ignored" not in stderr
    assert "Traceback" not in stderr
    records, torn = whole_records_and_rest((full_disk / "out.jsonl").read_bytes())
    assert len(records) == 2
    assert torn

    kept = tmp_path / "out.jsonl"
    kept.write_bytes((full_disk / "out.jsonl").read_bytes())
    resumed = run_into(kept, urls, "--resume", str(kept), unbuffered=unbuffered)
    assert resumed.returncode == 0, resumed.stderr
    assert b"skipped 1 malformed line(s)" in resumed.stderr
    lines = kept.read_bytes().splitlines()
    ok_urls = sorted(json.loads(line)["url"] for line in lines if line.endswith(b"}"))
    assert ok_urls == sorted(urls.split())
    assert len(lines) == 13  # 12 records, and the torn fragment on a line of its own


def start_unread(server: TestServer, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A run whose stdout is a pipe nobody reads, once the pipe is full and the run is
    waiting on it (its requests to the server have stopped); stderr goes to a file."""
    urls = tmp_path / "urls.txt"
    urls.write_text(padded_urls(server, 2000, record_size=2048))
    stderr = tmp_path / "stderr.txt"
    before = len(server.arrivals)
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            [FETCHALL, "--json", "-c", "4", str(urls)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "NO_COLOR": "1"},
        )
    seen, deadline = -1, time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = len(server.arrivals) - before
        if now == seen and now >= 16:  # a pipe holds 64 KiB: 32 records of 2 KiB
            return process, stderr
        seen = now
    process.kill()
    process.communicate()
    pytest.fail(f"the run never waited on its reader ({seen} requests)")


@pytest.mark.parametrize(
    ("signals", "status", "message"),
    [
        ([signal.SIGTERM], 143, "stdout was not read in time: "),
        ([signal.SIGINT, signal.SIGINT], 130, "stdout was not read in time: "),
    ],
    ids=["SIGTERM", "Ctrl-C twice within the repeat window"],
)
def test_signals_end_a_run_whose_stdout_nobody_reads(
    fresh_server: TestServer,
    tmp_path: Path,
    signals: list[signal.Signals],
    status: int,
    message: str,
) -> None:
    """With the stdout pipe full and unread, SIGTERM (or a second Ctrl-C) still ends the
    run within a second or so, saying how many records were not written."""
    process, stderr = start_unread(fresh_server, tmp_path)
    try:
        sent = time.monotonic()
        for signum in signals:
            process.send_signal(signum)
            time.sleep(0.1)
        returncode = process.wait(timeout=5)
        took = time.monotonic() - sent
    finally:
        process.kill()
        process.communicate()
    said = stderr.read_text()
    assert returncode == status, said
    assert took < 2
    assert message in said
    assert "records were not written" in said.split(message, 1)[1].splitlines()[0]
    assert "Traceback" not in said


def test_an_open_files_limit_below_c_lowers_c_once(
    fresh_server: TestServer, other_server: TestServer
) -> None:
    """Under a hard limit of 256 open files, -c 600 is lowered to fit, with one warning,
    and no URL fails for want of a file descriptor: not even when the list moves on to a
    second host while the first one's connections are still kept for reuse."""

    def hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    urls = "".join(
        server.url(f"/bytes/3?delay=0.3&i={i}") + "\n"
        for server in (fresh_server, other_server)
        for i in range(600)
    )
    result = subprocess.run(
        [FETCHALL, "--json", "--no-progress", "-c", "600", "-r", "0"],
        input=urls.encode(),
        capture_output=True,
        timeout=120,
        preexec_fn=hard_limit,
        check=False,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    errors = Counter(record["error"] for record in records if not record["ok"])
    assert errors == Counter()
    assert len(records) == 1200
    assert result.returncode == 0
    said = [line for line in result.stderr.decode().splitlines() if line.startswith("fetchall:")]
    warning = [line for line in said if "lowered" in line]
    assert said == warning
    assert len(warning) == 1, warning
    assert warning[0].startswith("fetchall: -c 600 lowered to ")
    assert warning[0].endswith(": the open-files limit is 256")
    lowered = int(warning[0].split()[5].rstrip(":"))
    assert 100 <= lowered < 128  # two descriptors a request: a lookup's, or a connection and a file
    assert fresh_server.peak_in_flight == lowered
