"""The installed ``fetchall`` in real subprocesses: pipes, terminals, signals, exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import FETCHALL, run_fetchall
from tests.server import TestServer


def start(*args: str, **kwargs) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [FETCHALL, *args],
        stdin=kwargs.pop("stdin", subprocess.PIPE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        **kwargs,
    )


def read_line_within(process: subprocess.Popen[bytes], seconds: float) -> bytes:
    """The next stdout line, or b"" if none arrives in time."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    return process.stdout.readline() if ready else b""


def test_stdin_is_piped_through_the_installed_command(server: TestServer) -> None:
    """`cat urls | fetchall --json` gives one record per line and exit 0."""
    urls = "".join(server.url(f"/bytes/{n}") + "\n" for n in (10, 20, 30))
    result = run_fetchall("--json", stdin=urls.encode())
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["bytes"] for r in records) == [10, 20, 30]
    assert {r["source"] for r in records} == {"-:1", "-:2", "-:3"}
    assert b"Traceback" not in result.stderr


def test_python_dash_m_works(server: TestServer) -> None:
    """`python -m fetchall` is the same command."""
    result = subprocess.run(
        [sys.executable, "-m", "fetchall", "--json", "-"],
        input=(server.url("/bytes/5") + "\n").encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bytes"] == 5


def test_records_stream_out_before_stdin_closes(server: TestServer) -> None:
    """Fetching starts while the input is still being written (a slow pipe)."""
    with start("--json") as process:
        assert process.stdin is not None
        process.stdin.write((server.url("/bytes/42") + "\n").encode())
        process.stdin.flush()
        first = read_line_within(process, 10)
        assert json.loads(first)["bytes"] == 42  # stdin is still open
        process.stdin.write((server.url("/bytes/43") + "\n").encode())
        process.stdin.close()
        assert json.loads(read_line_within(process, 10))["bytes"] == 43
        assert process.wait(10) == 0


def test_no_source_with_a_terminal_stdin_is_a_usage_error() -> None:
    """With nothing piped in and no SOURCE, fetchall says so and exits 2."""
    controller, terminal = pty.openpty()
    try:
        with start(stdin=terminal) as process:
            _, stderr = process.communicate(timeout=30)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 2
    assert b"stdin is a terminal" in stderr


def test_unreadable_source_exits_2_without_a_traceback() -> None:
    """A missing file is a short message and exit 2."""
    result = run_fetchall("/nonexistent/urls.txt")
    assert result.returncode == 2
    assert result.stderr.startswith(b"fetchall: cannot read /nonexistent/urls.txt")
    assert b"Traceback" not in result.stderr


def interrupt_mid_run(
    server: TestServer, sig: signal.Signals
) -> tuple[int, list[dict], bytes, float]:
    """Start a run with one fast URL and one that never answers, then send ``sig``.

    stdin stays open (a raw pipe), so the reader thread is blocked in a read at exit.
    """
    reader, writer = os.pipe()
    try:
        with start("--json", stdin=reader) as process:
            os.write(writer, f"{server.url('/bytes/8')}\n{server.url('/stall')}\n".encode())
            first = read_line_within(process, 10)
            sent = time.monotonic()
            process.send_signal(sig)
            stdout, stderr = process.communicate(timeout=10)
    finally:
        os.close(reader)
        os.close(writer)
    records = [json.loads(line) for line in (first + stdout).splitlines()]
    return process.returncode, records, stderr, time.monotonic() - sent


def test_ctrl_c_exits_130_after_writing_finished_records(server: TestServer) -> None:
    """SIGINT stops the run quickly with 130: the finished record, then a cancelled one
    for the request in flight."""
    status, records, stderr, took = interrupt_mid_run(server, signal.SIGINT)
    assert status == 130
    assert [(r["bytes"], r["error_kind"]) for r in records] == [(8, None), (0, "cancelled")]
    assert records[1]["url"] == server.url("/stall")
    assert records[1]["error"].endswith(": interrupted")
    assert records[1]["attempts"] == 1
    assert b"interrupted after 2 URLs" in stderr  # the summary still comes
    assert b"1 ok, 1 failed" in stderr
    assert b"interrupted" in stderr
    assert b"Traceback" not in stderr
    assert b"Fatal Python error" not in stderr  # the stdin reader thread let go cleanly
    assert took < 2


def test_sigterm_exits_143(server: TestServer) -> None:
    """SIGTERM (docker stop) ends the run with 143, records flushed."""
    status, records, stderr, took = interrupt_mid_run(server, signal.SIGTERM)
    assert status == 143
    assert [(r["bytes"], r["error_kind"]) for r in records] == [(8, None), (0, "cancelled")]
    assert records[1]["error"].endswith(": terminated")
    assert b"Traceback" not in stderr
    assert b"Fatal Python error" not in stderr
    assert took < 2


def test_sighup_stops_gracefully_with_129(server: TestServer) -> None:
    """SIGHUP (the terminal or ssh session closed) stops the run like SIGTERM: the finished
    record, a cancelled one for the request in flight, the summary saying "hung up", 129."""
    status, records, stderr, took = interrupt_mid_run(server, signal.SIGHUP)
    assert status == 129, stderr
    assert [(r["bytes"], r["error_kind"]) for r in records] == [(8, None), (0, "cancelled")]
    assert records[1]["error"].endswith(": hung up")
    assert b"hung up: cancelling the requests in flight" in stderr
    assert b"hung up after 2 URLs" in stderr
    assert b"Traceback" not in stderr
    assert took < 2


@pytest.mark.parametrize("on_terminal", [("stdout",), ("stderr",), ("stdout", "stderr")])
def test_sighup_after_the_terminal_closed_exits_129(
    fresh_server: TestServer, tmp_path: Path, on_terminal: tuple[str, ...]
) -> None:
    """The ssh case: the terminal's master side closes, then SIGHUP comes. The live
    display, the records on the terminal and the summary all meet EIO; the run still
    stops gracefully with 129 (no traceback, whose exit would be 1), the records on a pipe
    are all cancelled ones, and no temporary file is left."""
    count, folder = 5, tmp_path / "out"
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(fresh_server.url(f"/drip?i={i}") + "\n" for i in range(count)))
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    streams = {
        name: terminal if name in on_terminal else subprocess.PIPE for name in ("stdout", "stderr")
    }
    try:
        process = subprocess.Popen(
            [FETCHALL, "--json", "-c", str(count), "-o", str(folder), str(urls)],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
            **streams,
        )
    finally:
        os.close(terminal)
    with process:
        deadline = time.monotonic() + 20
        while server_busy(fresh_server, count, folder) and time.monotonic() < deadline:
            os.read(controller, 65536) if select.select([controller], [], [], 0.05)[0] else None
        os.close(controller)  # the terminal is gone
        time.sleep(0.3)  # the live display's next refreshes meet EIO
        process.send_signal(signal.SIGHUP)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 129, stderr
    if stdout is not None:
        records = [json.loads(line) for line in stdout.splitlines()]
        assert [r["error_kind"] for r in records] == ["cancelled"] * count
    if stderr is not None:
        assert b"Traceback" not in stderr
    assert list(folder.rglob("*.part")) == []


def server_busy(server: TestServer, count: int, folder: Path) -> bool:
    """Whether the ``count`` drips have not all started writing their bodies yet."""
    return server.in_flight < count or len(list(folder.rglob("*.part"))) < count


def test_a_closed_stdout_pipe_stops_quietly(server: TestServer) -> None:
    """`fetchall urls | head -1` ends without a BrokenPipeError traceback."""
    urls = "".join(server.url(f"/bytes/1?i={i}") + "\n" for i in range(200)).encode()
    reader, writer = os.pipe()
    with subprocess.Popen(
        [FETCHALL, "--json", "-c", "2"],
        stdin=subprocess.PIPE,
        stdout=writer,
        stderr=subprocess.PIPE,
    ) as process:
        os.close(writer)
        assert process.stdin is not None
        assert process.stderr is not None
        process.stdin.write(urls)
        process.stdin.close()
        with os.fdopen(reader, "rb") as head:
            assert head.readline()
        stderr = process.stderr.read()
        assert process.wait(30) == 141
    assert b"Traceback" not in stderr
    assert b"BrokenPipe" not in stderr


def test_high_concurrency_raises_a_low_open_files_limit(server: TestServer) -> None:
    """-c 100 works under a soft limit of 64 open files: fetchall raises it itself."""

    def low_limit() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))

    urls = "".join(server.url(f"/bytes/3?delay=0.3&i={i}") + "\n" for i in range(150))
    result = subprocess.run(
        [FETCHALL, "--json", "-c", "100"],
        input=urls.encode(),
        capture_output=True,
        timeout=60,
        preexec_fn=low_limit,
        check=False,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 150
    assert [r["error"] for r in records if not r["ok"]] == []
    assert result.returncode == 0


@pytest.mark.parametrize("concurrency", ["4", "50"])
@pytest.mark.parametrize("limit", [8, 12, 15, 20, 64])
def test_a_hard_open_files_limit_fits_the_run_or_refuses_it(
    server: TestServer, tmp_path: Path, limit: int, concurrency: str
) -> None:
    """Under a hard limit on open files (``ulimit -n``), the run either fits -c to it and
    every URL succeeds, or it is refused at start (exit 2) saying how many it needs:
    never a traceback, a Python warning, exit 3, or a URL failing with "Too many open
    files" (README: -c is lowered "so no URL fails with Too many open files")."""

    def hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    source = tmp_path / "urls.txt"
    source.write_text("".join(server.url(f"/bytes/2?i={i}") + "\n" for i in range(20)))
    output = tmp_path / "out"
    result = subprocess.run(
        [FETCHALL, "--json", "-r", "0", "-c", concurrency, "-o", str(output), str(source)],
        capture_output=True,
        timeout=60,
        preexec_fn=hard_limit,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr, stderr
    assert "Warning" not in stderr, stderr
    assert b"Too many open files" not in result.stdout + result.stderr
    if result.returncode == 2:
        refusal = rf"the open-files limit \({limit}\) is too low: fetchall needs at least \d+"
        assert re.search(refusal, stderr), stderr
        assert result.stdout == b""
    else:
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["ok"] for r in records] == [True] * 20, stderr
        assert result.returncode == 0
    if limit == 64:
        assert result.returncode == 0


def test_live_display_on_a_terminal_keeps_stdout_clean(server: TestServer, tmp_path) -> None:
    """With stderr a terminal, the live table is drawn there; stdout carries only records."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url(f"/bytes/2048?delay=0.3&i={i}") + "\n" for i in range(30)))
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [FETCHALL, "--json", "-c", "5", str(urls)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    ) as process:
        os.close(terminal)
        screen = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process has exited
                break
            if not chunk:
                break
            screen += chunk
        stdout, _ = process.communicate(timeout=30)
    os.close(controller)
    assert process.returncode == 0
    drawn = screen.decode("utf-8", "replace")
    assert "\x1b[" in drawn  # a terminal gets escape codes
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # the text without them
    assert "/30" in drawn  # done/total in the overall line
    assert "ETA" in drawn
    assert "/bytes/2048?delay=0.3" in drawn  # a row for a request in flight
    assert re.search(r"ok \d+ · failed 0 · \d+\.\d KiB", drawn)  # counts and bytes
    assert "done: 30 URLs" in drawn  # then the summary
    records = [json.loads(line) for line in stdout.splitlines()]
    assert len(records) == 30
    assert b"\x1b" not in stdout


def stop_bodies_mid_transfer(
    server: TestServer, tmp_path: Path, signals: list[tuple[signal.Signals, float]]
) -> tuple[int, list[dict], str, Path]:
    """Start 20 bodies that drip into ``-o``, then send each signal after its pause
    (seconds); the exit status, the records, stderr, and the output folder."""
    count, folder = 20, tmp_path / "out"
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url(f"/drip?i={i}") + "\n" for i in range(count)))
    process = subprocess.Popen(
        [FETCHALL, "--json", "-c", str(count), "-o", str(folder), str(urls)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    with process:
        deadline = time.monotonic() + 20
        while server.in_flight < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # each body's first bytes are in its temporary file
        assert len(list(folder.rglob(".fetchall-*.part"))) == count
        for signum, pause in signals:
            time.sleep(pause)
            process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=10)
    records = [json.loads(line) for line in stdout.splitlines()]
    return process.returncode, records, stderr.decode(), folder


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_signal_sent_twice_at_once_is_one_signal(
    fresh_server: TestServer, tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    """GNU timeout signals the child and then its process group: the second signal, a few
    ms later, is the same one. Every request in flight still gets its cancelled record
    (keeping its status and the bytes received), the summary comes, and no temporary file
    is left."""
    status, records, stderr, folder = stop_bodies_mid_transfer(
        fresh_server, tmp_path, [(signum, 0), (signum, 0)]
    )
    assert status == code, stderr
    assert len(records) == 20
    assert {r["error_kind"] for r in records} == {"cancelled"}
    assert all(r["status"] == 200 and r["bytes"] > 0 for r in records), records[0]
    assert all(r["http_version"] == "HTTP/1.1" for r in records)
    assert "exiting at once" not in stderr
    assert "0 ok, 20 failed" in stderr
    assert "received 0 B" not in stderr
    assert list(folder.rglob("*.part")) == []
