"""stderr whose reader takes nothing (a full pipe nobody reads, a terminal nobody reads):
signals still end the run within a second or two, with the documented status."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import FETCHALL
from tests.server import TestServer

DEADLINE_SECONDS = 3.0
"""How long after the first signal the run must have ended (0.5 s for records, 0.5 s for
stderr's reader, and room for a busy machine)."""


def full_pipe() -> tuple[int, int]:
    """A pipe (read end, write end) whose buffer is already full; the write end blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 65536)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    return read_end, write_end


def slow_urls(server: TestServer, tmp_path: Path) -> Path:
    """10,000 URLs each answered after 2 s: a run of minutes at -c 200."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url(f"/bytes/1?delay=2&i={i}") + "\n" for i in range(10_000)))
    return urls


def wait_until_busy(server: TestServer, process: subprocess.Popen[bytes]) -> None:
    """Until the run has 50 requests at the server (it is fetching, its loop running)."""
    deadline = time.monotonic() + 20
    while len(server.arrivals) < 50:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait()
            pytest.fail("the run never got going")
        time.sleep(0.05)
    time.sleep(0.3)


def signal_and_wait(process: subprocess.Popen[bytes], signals: list[signal.Signals]) -> float:
    """Send ``signals`` 0.1 s apart; seconds from the first until the process ended (it is
    killed, and the test fails, past ``DEADLINE_SECONDS``)."""
    sent = time.monotonic()
    for signum in signals:
        process.send_signal(signum)
        time.sleep(0.1)
    try:
        process.wait(timeout=DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {DEADLINE_SECONDS} s after {signals[0].name}")
    return time.monotonic() - sent


SIGNALS = pytest.mark.parametrize(
    ("signals", "status"),
    [
        ([signal.SIGTERM], 143),
        ([signal.SIGTERM, signal.SIGTERM], 143),
        ([signal.SIGINT, signal.SIGINT], 130),
    ],
    ids=["SIGTERM", "SIGTERM twice", "Ctrl-C twice"],
)


@SIGNALS
@pytest.mark.parametrize("quiet", [False, True], ids=["", "-q"])
@pytest.mark.parametrize("shared", [True, False], ids=["2>&1", "stderr only"])
def test_signals_end_a_run_whose_stderr_pipe_nobody_reads(
    fresh_server: TestServer,
    tmp_path: Path,
    signals: list[signal.Signals],
    status: int,
    quiet: bool,
    shared: bool,
) -> None:
    """``fetchall --json -c 200 urls 2>&1 | sleep 100`` (or ``2>&1 >/dev/null | …``) with
    the pipe full: SIGTERM, or a second signal, ends the run in time, with its status."""
    urls = slow_urls(fresh_server, tmp_path)
    read_end, write_end = full_pipe()
    try:
        process = subprocess.Popen(
            [FETCHALL, "--json", "-c", "200", *(["-q"] if quiet else []), str(urls)],
            stdin=subprocess.DEVNULL,
            stdout=write_end if shared else subprocess.DEVNULL,
            stderr=write_end,
            env={**os.environ, "NO_COLOR": "1"},
        )
        wait_until_busy(fresh_server, process)
        took = signal_and_wait(process, signals)
    finally:
        os.close(write_end)
        os.close(read_end)
    assert process.returncode == status
    assert took < DEADLINE_SECONDS


@pytest.mark.parametrize("records_above", [True, False], ids=["records above", "display only"])
def test_signals_end_a_run_whose_terminal_nobody_reads(
    fresh_server: TestServer, tmp_path: Path, records_above: bool
) -> None:
    """The live display on a terminal whose other end is never read (as one stopped by
    Ctrl-S): once it is full, refreshes and records above the display must not hold up
    the run, and SIGTERM ends it with 143."""
    urls = slow_urls(fresh_server, tmp_path)
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [FETCHALL, "-c", "200", str(urls)],
            stdin=subprocess.DEVNULL,
            stdout=slave if records_above else subprocess.DEVNULL,
            stderr=slave,
            env={**os.environ, "NO_COLOR": "1", "TERM": "xterm"},
        )
        wait_until_busy(fresh_server, process)
        time.sleep(2)  # 20 refreshes: the terminal's buffer is full long before
        took = signal_and_wait(process, [signal.SIGTERM])
    finally:
        os.close(slave)
        os.close(master)
    assert process.returncode == 143
    assert took < DEADLINE_SECONDS
