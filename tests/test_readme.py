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


def test_every_option_and_exit_status_is_documented() -> None:
    """Each option the command takes is in the options table; each exit status in its own
    table."""
    command = typer.main.get_command(app)
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(f"`{name}" in README for name in param.opts), param.opts
    exit_table = README[README.index("## Exit status") :]
    for status in ExitStatus:
        assert f"| {status.value} |" in exit_table
