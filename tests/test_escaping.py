"""Terminal controls from an input file or a server never reach people's terminal: text
records, the summary, messages on stderr and the live display show them escaped (``\\xNN``,
``\\uNNNN``), and rich markup in data is shown as it is; JSON lines and CSV keep the exact
values, and CSV stays parsable."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fetchall.cli.escaping import printable
from tests.conftest import FETCHALL, jsonl, run_fetchall
from tests.rawserver import RawServer, Reply
from tests.server import TestServer
from tests.terminal import run_on_terminal

REASON = "Not \x1b]0;pwned\x07Found\x1b[2J\x01\x7f"
"""A reason phrase that sets the window title and clears the screen (its other bytes than
ASCII are dropped: httpx reads it as ASCII)."""
REASON_SHOWN = r"Not \x1b]0;pwned\x07Found\x1b[2J\x01\x7f"
LINE_TAIL = "/a\x1b]0;pwned\x07\x1b[2J\t\u2066[bold]x[/]"
"""An input line's end: an invalid URL (ESC, BEL, tab), with an isolate and rich markup."""
LINE_TAIL_SHOWN = r"/a\x1b]0;pwned\x07\x1b[2J\x09\u2066[bold]x[/]"
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
"""What people's text never holds (line feeds end its lines)."""


@pytest.fixture(scope="module")
def hostile() -> Iterator[RawServer]:
    """A 404 with a reason phrase of controls, and a redirect to a refused target."""
    replies = {
        "reason": Reply(
            f"HTTP/1.1 404 {REASON}\r\nContent-Type: text/\x1b[31mhtml\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        ),
        "location": Reply(
            b"HTTP/1.1 302 Found\r\nLocation: ftp://x/\x1b[2J\xc2\x9b\xe2\x80\xae\r\n"
            b"Content-Length: 0\r\n\r\n"
        ),
    }
    server = RawServer(replies).start()
    yield server
    server.stop()


def run_wide(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``run_fetchall`` with 200 columns for the summary, so that no URL is shortened."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([FETCHALL, *args], capture_output=True, timeout=60, env=env, check=False)


def assert_people_safe(text: str) -> None:
    """No control (but line feeds), C1, bidi control or separator in ``text``."""
    found = UNSAFE.findall(text)
    assert not found, (found, text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://e.com/plain", "http://e.com/plain"),
        ("\x00\x07\t\n\r\x1b\x7f", r"\x00\x07\x09\x0a\x0d\x1b\x7f"),
        ("\x80\x85\x9b\x9f\xa0é", r"\x80\x85\x9b\x9f" + "\xa0é"),
        ("a\u202eb\u2066c\u2069\u200e\u200f\u061c", r"a\u202eb\u2066c\u2069\u200e\u200f\u061c"),
        ("\u2028\u2029", r"\u2028\u2029"),
        ("\ud800", r"\ud800"),
        (r"a\x1b stays", r"a\x1b stays"),
        ("[bold]x[/]", "[bold]x[/]"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_text_records_and_the_summary_escape_controls(
    hostile: RawServer, transport: str, tmp_path: Path
) -> None:
    """An input line and a server's reason phrase and redirect target with terminal
    controls: stdout and stderr show them escaped, on both transports."""
    path = tmp_path / "urls.txt"
    urls = [hostile.url("reason", LINE_TAIL), hostile.url("reason"), hostile.url("location")]
    path.write_bytes("".join(f"{url}\n" for url in urls).encode())
    result = run_wide("--transport", transport, "--format", "text", str(path))
    assert result.returncode == 1
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert_people_safe(stdout)
    assert_people_safe(stderr)
    assert hostile.url("reason", LINE_TAIL_SHOWN) + "  [invalid_url]" in stdout
    assert f"[http_status] HTTP 404 {REASON_SHOWN}\n" in stdout
    assert r"redirect to ftp://x/\x1b[2J\x9b\u202e refused" in stdout
    assert hostile.url("reason", LINE_TAIL_SHOWN) in stderr  # the summary's failures
    assert "[bold]x[/]" in stderr  # markup shown as it is, not interpreted
    assert f"HTTP 404 {REASON_SHOWN}" in stderr


def test_jsonl_keeps_the_exact_values(hostile: RawServer, tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_bytes(f"{hostile.url('reason', LINE_TAIL)}\n{hostile.url('reason')}\n".encode())
    result = run_fetchall("--json", str(path))
    records = {record["url"]: record for record in jsonl(result.stdout.decode())}
    assert sorted(records) == sorted([hostile.url("reason", LINE_TAIL), hostile.url("reason")])
    assert records[hostile.url("reason")]["error"] == f"HTTP 404 {REASON}"
    assert records[hostile.url("reason")]["content_type"] == "text/\x1b[31mhtml"


def test_csv_keeps_the_exact_values_and_stays_parsable(hostile: RawServer, tmp_path: Path) -> None:
    """A carriage return inside a line, and controls from the server: each record is one
    row of the exact values (a cell holding a line end quoted); formulas still neutralised."""
    urls = [hostile.url("reason", "/a\rb"), hostile.url("reason", LINE_TAIL), hostile.url("reason")]
    path = tmp_path / "urls.txt"
    path.write_bytes("".join(f"{url}\n" for url in urls).encode() + b"=1+2\n")
    result = run_fetchall("--format", "csv", str(path))
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode(), newline="")))
    by_url = {row["url"]: row for row in rows}
    assert sorted(by_url) == sorted([*urls, "'=1+2"])
    assert len(rows) == 4
    assert by_url[urls[2]]["error"] == f"HTTP 404 {REASON}"


def test_messages_on_stderr_escape_controls(tmp_path: Path) -> None:
    """A file name of the command line, quoted in an error message."""
    missing = tmp_path / "no\x1b]0;pwned\x07file"
    result = run_fetchall(str(missing))
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert_people_safe(stderr)
    assert r"no\x1b]0;pwned\x07file" in stderr


def test_a_saved_path_is_shown_escaped(server: TestServer, tmp_path: Path) -> None:
    """A file name with a right-to-left override (percent-decoded from the URL): saved as
    named, shown escaped in the text record."""
    url = server.url("/bytes/3?x=1").replace("/bytes/3", "/bytes/3/%E2%80%AEtxt.exe")
    result = run_fetchall("-o", str(tmp_path / "out"), "--format", "text", "-", stdin=url.encode())
    stdout = result.stdout.decode()
    assert_people_safe(stdout)
    assert r"/bytes/3/\u202etxt" in stdout


@pytest.mark.parametrize("stdout_too", [True, False])
def test_the_live_display_escapes_controls(
    hostile: RawServer, server: TestServer, tmp_path: Path, stdout_too: bool
) -> None:
    """On a terminal with the live display: the records (or the failures) printed above
    it, its rows in flight, and the summary show controls escaped and markup as it is."""
    slow = server.url("/bytes/1?x=\u202e\u0085[bold]x[/]&delay=0.6")
    path = tmp_path / "urls.txt"
    urls = [hostile.url("reason", LINE_TAIL), hostile.url("reason"), slow]
    path.write_bytes("".join(f"{url}\n" for url in urls).encode())
    seen = run_on_terminal(str(path), "--progress", columns=200, stdout_too=stdout_too)
    assert seen.returncode == 1
    for unsafe in (b"\x1b]0;", b"\x07", b"\x1b[2J", b"\xc2\x85", b"\xe2\x80\xae", b"\xe2\x81\xa6"):
        assert unsafe not in seen.raw
    assert hostile.url("reason", LINE_TAIL_SHOWN) in seen.text
    assert f"HTTP 404 {REASON_SHOWN}" in seen.text
    assert r"?x=\u202e\x85[bold]x[/]&delay=0.6" in seen.text
