"""The summary accounts for every input line: ok, failed, skipped, already done,
duplicates, other shards and not started, adding up to the lines of the input; through
the CLI, and through the installed command for signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FETCHALL, invoke
from tests.server import TestServer
from tests.test_process import read_line_within

ROWS = ("lines", "ok", "failed", "skipped", "already done", "duplicates", "other shards")


def tally(stderr: str) -> dict[str, int]:
    """The summary's lines table: each row's label and count."""
    found = {}
    for label in (*ROWS, "not started"):
        match = re.search(rf"^ *{label} +([\d,]+)", stderr, re.MULTILINE)
        if match:
            found[label] = int(match.group(1).replace(",", ""))
    return found


def adds_up(counts: dict[str, int]) -> bool:
    return sum(count for label, count in counts.items() if label != "lines") == counts["lines"]


def test_skipped_lines_are_counted_and_say_skip(server: TestServer, tmp_path: Path) -> None:
    """--skip-existing: the text record says skip, the summary counts it apart from ok."""
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.url('/bytes/3')}\n{server.url('/bytes/4')}\n")
    out = tmp_path / "out"
    invoke("-q", "-o", str(out), str(urls))
    urls.write_text(
        f"{server.url('/bytes/3')}\n{server.url('/bytes/4')}\n{server.url('/bytes/5')}\n"
    )
    result = invoke("-o", str(out), "--skip-existing", str(urls))
    skipped = [row for row in result.stdout.splitlines() if row.startswith("skip ")]
    assert len(skipped) == 2
    assert "done: 3 URLs in" in result.stderr
    assert "1 ok, 0 failed, 2 skipped" in result.stderr
    counts = tally(result.stderr)
    assert counts == {"lines": 3, "ok": 1, "failed": 0, "skipped": 2}


def test_resumed_lines_are_already_done(server: TestServer, tmp_path: Path) -> None:
    """--resume: lines with an ok record are counted as already done."""
    done, again = server.url("/bytes/1"), server.url("/status/404")
    previous = tmp_path / "previous.jsonl"
    previous.write_text(invoke("--json", "-", stdin=f"{done}\n{again}\n").stdout)
    result = invoke("--resume", str(previous), "-", stdin=f"{done}\n{again}\n{done}\n")
    counts = tally(result.stderr)
    assert counts == {"lines": 3, "ok": 0, "failed": 1, "already done": 2}


def test_duplicates_are_counted(server: TestServer) -> None:
    """--unique: later duplicates are counted (the URL compared normalised)."""
    url = server.url("/bytes/1")
    stdin = f"{url}\n{url.replace('http://', 'HTTP://')}\n# a comment\n\n{url}\n"
    counts = tally(invoke("--unique", "-", stdin=stdin).stderr)
    assert counts == {"lines": 3, "ok": 1, "failed": 0, "duplicates": 2}


def test_other_shards_are_counted(server: TestServer) -> None:
    """--shard: the lines of the other shards are counted, and the shards cover all."""
    stdin = "".join(server.url(f"/bytes/1?i={i}") + "\n" for i in range(20))
    handled = 0
    for index in range(3):
        counts = tally(invoke("--shard", f"{index}/3", "-", stdin=stdin).stderr)
        assert counts["lines"] == 20
        assert adds_up(counts)
        handled += counts["ok"]
        assert counts["other shards"] == 20 - counts["ok"]
    assert handled == 20


def test_fail_fast_says_after_which_line_and_what_was_not_started(
    server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--fail-fast: the summary names the line that failed (path:line and URL) and
    counts the lines never started; the counts add up to the file's lines."""
    failing = server.url("/status/404")
    urls = tmp_path / "urls.txt"
    lines = [server.url("/bytes/1"), "# comment", failing, *[server.url("/bytes/2")] * 30]
    urls.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("COLUMNS", "300")  # the temporary folder's path is long
    result = invoke("-c", "1", "--fail-fast", str(urls))
    assert result.exit_code == 1
    assert result.stderr.startswith("stopped at the first failure after 2 URLs")
    assert f"stopped after the failure of {urls}:3 (http_status): {failing}" in result.stderr
    counts = tally(result.stderr)
    assert counts == {"lines": 32, "ok": 1, "failed": 1, "not started": 30}


def interrupt(args: list[str], stdin: bytes | int, lines: int) -> tuple[int, str]:
    """Start the installed command, wait for ``lines`` records, send SIGINT; the exit
    status and stderr."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    with subprocess.Popen(
        [FETCHALL, "--json", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        for _ in range(lines):
            assert read_line_within(process, 10)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    return process.returncode, stderr.decode()


def test_ctrl_c_counts_the_lines_not_started(server: TestServer, tmp_path: Path) -> None:
    """SIGINT mid-run over a file: finished, cancelled and never-started lines add up to
    the file's lines, counted again from the file."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url(f"/bytes/1?delay=0.2&i={i}") + "\n" for i in range(200)))
    status, stderr = interrupt(["-c", "2", str(urls)], subprocess.DEVNULL, 2)
    assert status == 130
    assert "\ninterrupted after" in stderr
    counts = tally(stderr)
    assert counts["lines"] == 200
    assert counts["not started"] > 150
    assert adds_up(counts)
    assert re.search(r"not started +[\d,]+ +interrupted *$", stderr, re.MULTILINE)


def test_ctrl_c_on_stdin_says_the_rest_was_not_read(server: TestServer) -> None:
    """SIGINT while stdin is still open: what was read is counted, and the summary says
    the rest of the input was not read."""
    reader, writer = os.pipe()
    try:
        urls = "".join(server.url(f"/bytes/1?delay=0.3&i={i}") + "\n" for i in range(6))
        os.write(writer, urls.encode())
        status, stderr = interrupt(["-c", "2", "-"], reader, 1)
    finally:
        os.close(reader)
        os.close(writer)
    assert status == 130
    counts = tally(stderr)
    assert 2 <= counts["lines"] < 6  # read as permits were free; the rest still waits
    assert adds_up(counts)
    assert re.search(r"^ *lines +[\d,]+ +the rest of the input was not read", stderr, re.M)


def test_a_complete_run_has_no_lines_table(server: TestServer) -> None:
    """A run that fetched every line keeps the one-line title."""
    stderr = invoke("-", stdin=server.url("/bytes/1") + "\n").stderr
    assert stderr.startswith("done: 1 URL in")
    assert tally(stderr) == {}


@pytest.mark.parametrize(
    "blank",
    [b"\xc2\xa0", b"\xe3\x80\x80#c", b"\xc2\x85", b"\x1c", b" \xe2\x80\x83 # note"],
    ids=["nbsp", "ideographic-space-comment", "nel", "file-separator", "em-space-comment"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_the_recount_after_a_stop_skips_the_lines_a_run_skips(
    server: TestServer, tmp_path: Path, blank: bytes, encoding: str
) -> None:
    """After --fail-fast, the lines counted again from the file are those the reader
    would give a record: Unicode whitespace is blank (and before ``#``, a comment) in
    both, with a BOM and in UTF-16 too."""
    text = "\n".join(["ftp://x", *[blank.decode()] * 3, server.url("/bytes/2")]) + "\n"
    urls = tmp_path / "urls.txt"
    urls.write_bytes(text.encode(encoding))
    full = invoke("-r", "0", str(urls))
    assert full.stderr.startswith("done: 2 URLs in"), full.stderr
    result = invoke("-r", "0", "--fail-fast", str(urls))
    assert result.exit_code == 1
    counts = tally(result.stderr)
    assert counts["lines"] == 2, result.stderr
    assert adds_up(counts)


def test_urls_are_whole_in_a_summary_off_a_terminal(
    server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr a file or a CI log: the summary's URLs (the failure that stopped the run, the
    slowest, the first failures) are given whole, however long; only a terminal's are
    shortened to fit."""
    monkeypatch.delenv("COLUMNS", raising=False)
    failing = server.url("/status/404?" + "b" * 150)
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.url('/bytes/1?' + 'a' * 150)}\n{failing}\n")
    result = invoke("-c", "1", "-r", "0", "--fail-fast", str(urls))
    assert result.exit_code == 1
    assert f"stopped after the failure of {urls}:2 (http_status): {failing}\n" in result.stderr
    assert "…" not in result.stderr
    slowest = result.stderr.split("slowest\n")[1].split("first failures\n")
    assert failing in slowest[0]
    assert re.search(rf"^ http_status +{re.escape(failing)}$", slowest[1], re.MULTILINE)
