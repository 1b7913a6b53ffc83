"""README is for users first: what it is, how to install, how to start, the options, the
output and the exit codes, then the rest; the implementation's measurements live in docs/."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import click
import httpx
import pytest
import typer

import fetchall
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


def python_api_blocks() -> list[str]:
    section = README[README.index("## Python API") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"(?s)```python\n(.*?)```", section)


def test_the_python_api_examples_run_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's Python API blocks, run in order in one namespace as a reader would paste
    them, with every request answered by an ``httpx.MockTransport`` (no network): each
    prints what it promises, and blank and comment entries get no result."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=b"hello")

    monkeypatch.setitem(sys.modules, "fetchall", _offline(httpx.MockTransport(answer)))
    blocks = python_api_blocks()
    assert len(blocks) == 3
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert sorted(printed[:3]) == [  # completion order
        "example.org 200 5",
        "ftp://nope/ invalid_url unsupported scheme 'ftp': only http and https are fetched",
        "https://example.com/ 200 5",
    ]
    assert printed[3] == "<api>:1 Err"
    assert "https://example.org" in asked  # https:// put in front
    (staged,) = namespace["results"]  # type: ignore[misc]
    assert isinstance(staged.outcome, fetchall.Ok)


def _offline(transport: httpx.MockTransport) -> types.ModuleType:
    """``fetchall`` with ``fetch_all`` and ``Fetcher`` given ``transport`` by default."""
    module = types.ModuleType("fetchall")
    for name in fetchall.__all__:
        setattr(module, name, getattr(fetchall, name))

    def fetch_all(urls, settings=None, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("transport", transport)
        return fetchall.fetch_all(urls, settings, **kwargs)

    class Fetcher(fetchall.Fetcher):
        def __init__(self, settings=None, **kwargs):  # type: ignore[no-untyped-def]
            kwargs.setdefault("transport", transport)
            super().__init__(settings, **kwargs)

    module.fetch_all = fetch_all  # type: ignore[attr-defined]
    module.Fetcher = Fetcher  # type: ignore[attr-defined]
    return module
