"""Writers and the summary, on in-memory streams: colour rules and the summary text."""

from __future__ import annotations

import io
import json

import pytest

from fetchall import Err, ErrorKind, FetchError, FetchResult, Line, Ok, Response
from fetchall._settings import Settings
from fetchall.cli.environment import Environment
from fetchall.cli.plan import Output, Plan, Selection
from fetchall.cli.records import record_of
from fetchall.cli.run import run
from fetchall.cli.writers import JsonlFormat, OutputFormat, TextFormat

OK = FetchResult(
    Line("a.test", "f:1", Ok("https://a.test")),
    Ok(Response(200, "https://a.test/", 5, None)),
    0.25,
    1,
)
FAILED = FetchResult(
    Line("ftp://b", "f:2", Err(FetchError(ErrorKind.INVALID_URL, "bad"))),
    Err(FetchError(ErrorKind.INVALID_URL, "bad")),
    0.0,
    0,
)


def test_text_is_coloured_only_when_asked() -> None:
    """Green for ok and red for failures when colour is on; plain text when off."""
    text = TextFormat()
    first, second = (text.data(record_of(result), color=True).decode() for result in (OK, FAILED))
    assert first.startswith("\x1b[32m")
    assert second.startswith("\x1b[31m")
    plain = [text.data(record_of(result), color=False) for result in (OK, FAILED)]
    assert all(b"\x1b[" not in line for line in plain)


def test_only_text_is_ever_coloured() -> None:
    """JSON lines stay JSON on a terminal: colour applies to text records only."""
    line = JsonlFormat().data(record_of(OK), color=True)
    assert line.startswith(b"{")
    assert line.endswith(b"}\n")
    assert json.loads(line)["url"] == "a.test"


def test_a_record_orjson_refuses_is_written_by_the_standard_library() -> None:
    """A lone surrogate (which UTF-8 cannot carry) still gives a JSON line, escaped."""
    record = record_of(FAILED)
    record["error"] = "bad \udcff byte"
    line = JsonlFormat().data(record, color=False)
    assert json.loads(line)["error"] == "bad \udcff byte"
    assert b"\\udcff" in line


def fake_env(*, stdout_isatty: bool, no_color: bool, stdin: bytes = b"") -> Environment:
    return Environment(
        stdin=io.BytesIO(stdin),
        stdout=io.BytesIO(),
        stderr=io.StringIO(),
        stdin_isatty=False,
        stdout_isatty=stdout_isatty,
        stderr_isatty=False,
        no_color=no_color,
    )


@pytest.mark.parametrize(
    ("stdout_isatty", "no_color", "flag", "coloured"),
    [
        (True, False, True, True),
        (True, True, True, False),  # NO_COLOR
        (True, False, False, False),  # --no-color
        (False, False, True, False),  # not a terminal
    ],
)
def test_colour_needs_a_terminal_and_no_opt_out(
    stdout_isatty: bool, no_color: bool, flag: bool, coloured: bool
) -> None:
    """Colour appears only on a terminal, and NO_COLOR or --no-color turn it off."""
    env = fake_env(stdout_isatty=stdout_isatty, no_color=no_color, stdin=b"ftp://x/\n")
    run(Plan(["-"], Settings(), Output(OutputFormat.TEXT, color=flag), Selection()), env)
    assert isinstance(env.stdout, io.BytesIO)
    assert ("\x1b[" in env.stdout.getvalue().decode()) is coloured
