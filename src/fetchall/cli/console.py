"""The rich console for people: stderr, with colour and terminal codes as the user and
the terminal allow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fetchall.cli.environment import Environment
from fetchall.cli.plan import Output

if TYPE_CHECKING:
    from rich.console import Console


def stderr_console(output: Output, env: Environment) -> Console:
    """A console on stderr: colour unless turned off (``--no-color``, NO_COLOR), and a
    terminal's escape codes only on a terminal (or when ``--progress`` forces the display
    on). rich is imported here, on first use, so that runs without it start faster."""
    from rich.console import Console

    return Console(
        file=env.stderr,
        no_color=not output.color or env.no_color,
        force_terminal=True if output.progress else None,
        highlight=False,
    )
