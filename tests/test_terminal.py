"""fetchall in a shell, as a person sees it: stdout and stderr on one terminal, replayed
through a terminal emulator with its scrollback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.server import TestServer
from tests.terminal import run_on_terminal

LIVE_FRAME = re.compile(r"━|in flight|ok [\d,]+ · failed")
"""What only the live area draws: its bar, its overflow line, its counts line."""


def url_list(server: TestServer, tmp_path: Path, count: int) -> tuple[Path, list[str]]:
    markers = [f"i={i:03d}x" for i in range(count)]
    path = tmp_path / "urls.txt"
    path.write_text(
        "".join(server.url(f"/bytes/{i}?delay=0.{i % 4}&{m}") + "\n" for i, m in enumerate(markers))
    )
    return path, markers


@pytest.mark.parametrize("columns", [80, 40])
def test_records_and_the_live_display_share_one_screen(
    server: TestServer, tmp_path: Path, columns: int
) -> None:
    """The plain command on a terminal: every record is in the scrollback exactly once,
    no frame of the live table is left behind, and the summary follows the records."""
    path, markers = url_list(server, tmp_path, 40)
    seen = run_on_terminal("-c", "4", str(path), columns=columns)
    assert seen.returncode == 0
    records, summary, _ = seen.text.partition("done: 40 URLs")
    assert summary, seen.lines  # the summary comes after every record
    for marker in markers:
        assert records.count(marker) == 1, (marker, seen.lines)
    assert not [line for line in seen.lines if LIVE_FRAME.search(line)], seen.lines


LIVE_ROW = re.compile(r"^(···|\d{3}) +(resolving|connecting|TLS|waiting|[\d.]+ \S?B)\b")
"""A row of the live table: a request in flight."""
NOTICE = "fetchall: interrupted: cancelling the requests in flight"


@pytest.mark.parametrize("stdout_too", [True, False], ids=["records-on-screen", "redirected"])
def test_ctrl_c_leaves_the_notice_on_its_own_line_and_no_live_row(
    server: TestServer, tmp_path: Path, stdout_too: bool
) -> None:
    """Ctrl-C with the live display up (stdout on the same terminal or not): the notice is
    printed once, above the live area on a line of its own, the live area is removed as at
    a normal end, and the summary follows."""
    path = tmp_path / "urls.txt"
    fast = [server.url(f"/bytes/{i}?m=fast{i:02d}x") for i in range(6)]
    slow = [server.url(f"/stall/{i}") for i in range(20)]
    path.write_text("".join(f"{url}\n" for url in fast + slow))

    def some_records_and_stalled_rows_shown(raw: bytes) -> bool:
        return b"stall/" in raw and (raw.count(b"=fast") >= 6 or not stdout_too)

    seen = run_on_terminal(
        "-c", "8", "-r", "0", str(path), columns=80, stdout_too=stdout_too,
        interrupt_after=some_records_and_stalled_rows_shown,
    )  # fmt: skip
    assert seen.returncode == 130, seen.lines
    assert seen.lines.count(NOTICE) == 1, seen.lines
    assert sum(line.count("interrupted: cancelling") for line in seen.lines) == 1, seen.lines
    assert not [line for line in seen.lines if LIVE_ROW.search(line)], seen.lines
    frames = [line for line in seen.lines if LIVE_FRAME.search(line) and line != NOTICE]
    assert not frames, seen.lines
    assert any(line.startswith("interrupted after") for line in seen.lines), seen.lines


@pytest.mark.parametrize(
    ("args", "environ"),
    [
        (("--bogus",), {"NO_COLOR": "1"}),
        (("--no-color", "--bogus"), {}),
        (("--no-color", "--json", "--format", "csv", "x.txt"), {}),
        (("--help",), {"NO_COLOR": "1"}),
    ],
    ids=["NO_COLOR", "--no-color", "--no-color-plan-error", "NO_COLOR-help"],
)
def test_colour_off_makes_usage_errors_and_help_plain(
    args: tuple[str, ...], environ: dict[str, str]
) -> None:
    """NO_COLOR and --no-color hold for typer's usage error panel and help too, drawn
    before any option takes effect: no escape code on the terminal."""
    seen = run_on_terminal(*args, environ=environ)
    assert b"\x1b" not in seen.raw
    if args != ("--help",):
        assert seen.returncode == 2
        assert "Usage: fetchall" in seen.text


def test_usage_errors_are_coloured_on_a_terminal_by_default() -> None:
    """Without NO_COLOR or --no-color, the usage error panel keeps rich's styles."""
    seen = run_on_terminal("--bogus")
    assert seen.returncode == 2
    assert b"\x1b[" in seen.raw


@pytest.mark.parametrize("columns", [80, 40, 30])
@pytest.mark.parametrize("extra", [(), ("--shard", "0/1", "--unique")], ids=["plain", "lines"])
def test_the_summary_shows_its_counts_whole_at_any_width(
    server: TestServer, tmp_path: Path, columns: int, extra: tuple[str, ...]
) -> None:
    """On a narrow terminal the distribution's counts and shares are never cut: its bar
    shrinks, then goes; the lines table keeps its counts too."""
    path = tmp_path / "urls.txt"
    urls = [server.url(f"/bytes/{i}") for i in range(1, 31)] + [server.url("/status/404")]
    path.write_text("".join(f"{url}\n" for url in [*urls, urls[0]]))
    seen = run_on_terminal("-r", "0", *extra, str(path), columns=columns, rows=60, stdout_too=False)
    lines = [line.rstrip() for line in seen.lines]
    assert all(len(line) <= columns for line in lines)
    expected = {"status 2xx": ("31", "96.9%"), "status 4xx": ("1", "3.1%")}
    if extra:
        expected = {"status 2xx": ("30", "96.8%"), "status 4xx": ("1", "3.2%")}
        assert any(re.fullmatch(r" +lines +32", line) for line in lines), lines
        assert any(re.fullmatch(r" +duplicates +1 +--unique", line) for line in lines), lines
    for label, (count, share) in expected.items():
        row = rf" {label} +{count} +{re.escape(share)}(?: +[█▏▎▍▌▋▊▉]+)?"
        assert any(re.fullmatch(row, line) for line in lines), (label, lines)
    bars = [line for line in lines if line.startswith(" status 2xx")]
    assert ("█" in bars[0]) is (columns >= 40)
