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
