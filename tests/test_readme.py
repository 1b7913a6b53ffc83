"""README is for users first: what it is, how to install, how to start, the options, the
output and the exit codes, then the rest; the implementation's measurements live in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer

from fetchall.cli import app
from fetchall.cli.status import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def headings() -> list[str]:
    return re.findall(r"(?m)^## (.+)$", README)


def test_sections_come_in_the_order_a_user_needs_them() -> None:
    """Install, Quick start, Options, Output and Exit status come first, in that order."""
    assert headings()[:5] == ["Install", "Quick start", "Options", "Output", "Exit status"]


def test_the_set_up_commands_stay_near_the_top() -> None:
    """Installing (pipx, uv, pip) and running the test suite are within the first lines."""
    top = "\n".join(README.splitlines()[:80])
    for command in ("pipx install .", "uv tool install .", "pip install .", "pytest"):
        assert command in top
    assert "pip install -e '.[test]' && pytest" in top


def test_measurements_of_the_implementation_live_in_docs() -> None:
    """Profiles and the history of the speed work are in docs/PERFORMANCE.md, linked."""
    for internal in ("py-spy", "getpid()", "gc.freeze", "instructions a request"):
        assert internal not in README
    assert "docs/PERFORMANCE.md" in README
    assert "docs/ARCHITECTURE.md" in README
    assert (ROOT / "docs" / "PERFORMANCE.md").is_file()


def options() -> list[click.Parameter]:
    """The command's options (typer's own, vendored click makes them: not click.Option)."""
    params = typer.main.get_command(app).params
    found = [param for param in params if param.param_type_name == "option"]
    assert len(found) > 30
    return found


def test_every_option_and_exit_status_is_documented() -> None:
    """Each option the command takes is in the options table; each exit status in its own
    table."""
    for param in options():
        assert any(f"`{name}" in README for name in param.opts), param.opts
    exit_table = README[README.index("## Exit status") :]
    for status in ExitStatus:
        assert f"| {status.value} |" in exit_table


def option_row(name: str) -> str:
    """The options table's row of the option ``name`` (its first cell names it)."""
    (row,) = re.findall(rf"(?m)^\| `{re.escape(name)}[` ,].*$", README)
    return row


def help_of(name: str) -> str:
    """The help text of the option ``name``, as --help shows it (rich markup escapes undone)."""
    (param,) = [p for p in options() if name in p.opts]
    return " ".join((getattr(param, "help", None) or "").replace("\\[", "[").split())


SAME_WORDS = {
    "-q": ("no live display", "no summary", "no warnings", "errors are still said",
           "records are written in every format, text included"),
    "--progress": ("force the live display on or off",),
}  # fmt: skip
"""Phrases the README's row and --help's text of an option both say, word for word: the
promises a user reads in either place (so one cannot drift from the other)."""


def test_help_says_what_the_readme_says_of_each_option() -> None:
    """--help and README's options table make the same promises (SAME_WORDS), and the
    help never says an option hides records, which README says none does."""
    for name, phrases in SAME_WORDS.items():
        row, text = option_row(name).lower(), help_of(name).lower()
        for phrase in phrases:
            assert phrase in row, (name, phrase, row)
            assert phrase in text, (name, phrase, text)
    for param in options():
        text = (getattr(param, "help", None) or "").lower()
        assert not re.search(r"\bno (text |jsonl |csv )?records\b", text), (param.opts, text)
