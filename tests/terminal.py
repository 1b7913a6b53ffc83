"""Running the installed ``fetchall`` on a pseudo-terminal, as a person would in a shell,
and reading what they would see: the bytes it wrote, replayed through a terminal emulator
(pyte's screen with its scrollback)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyte

from tests.conftest import FETCHALL


@dataclass(frozen=True)
class Seen:
    """What the terminal showed: every line of the scrollback and the screen, in order."""

    returncode: int
    lines: list[str]
    width: int
    raw: bytes

    @property
    def text(self) -> str:
        """The lines joined as the terminal laid them out (each padded to the width), so a
        long line wrapped by the terminal reads as one."""
        return "".join(line.ljust(self.width) for line in self.lines)


def run_on_terminal(
    *args: str,
    columns: int = 80,
    rows: int = 24,
    stdout_too: bool = True,
    timeout: float = 60,
    interrupt_after: Callable[[bytes], bool] | None = None,
    environ: dict[str, str] | None = None,
) -> Seen:
    """Run ``fetchall args`` with stderr (and stdout, unless ``stdout_too`` is False) on one
    pseudo-terminal of the given size; stdin is /dev/null. With ``interrupt_after``, send
    SIGINT (as Ctrl-C does) once it says yes to the bytes written so far. Fails on expiry
    of ``timeout``. ``environ`` adds to (or overrides) the environment, NO_COLOR removed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    env.pop("NO_COLOR", None)
    env.update(environ or {})
    with subprocess.Popen(
        [FETCHALL, *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal if stdout_too else subprocess.DEVNULL,
        stderr=terminal,
        env=env,
    ) as process:
        os.close(terminal)
        interrupt = None
        if interrupt_after is not None:
            condition = interrupt_after

            def interrupt(raw: bytes) -> bool:
                if not condition(raw):
                    return False
                process.send_signal(signal.SIGINT)
                return True

        raw = _read_until_closed(controller, time.monotonic() + timeout, interrupt)
        process.wait(timeout=5)
    os.close(controller)
    return Seen(process.returncode, _replay(raw, columns, rows), columns, raw)


def _read_until_closed(
    controller: int, deadline: float, interrupt: Callable[[bytes], bool] | None = None
) -> bytes:
    raw = b""
    while True:
        if interrupt is not None and interrupt(raw):
            interrupt = None
        left = deadline - time.monotonic()
        assert left > 0, "fetchall did not end in time"
        ready, _, _ = select.select([controller], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process has exited
            return raw
        if not chunk:
            return raw
        raw += chunk


def _replay(raw: bytes, columns: int, rows: int) -> list[str]:
    screen = pyte.HistoryScreen(columns, rows, history=100_000)
    pyte.ByteStream(screen).feed(raw)
    history = [_line(line, columns) for line in screen.history.top]
    shown = [line.rstrip() for line in screen.display]
    while shown and not shown[-1]:
        shown.pop()
    return history + shown


def _line(chars: dict[int, pyte.screens.Char], columns: int) -> str:
    return "".join(chars[x].data for x in range(columns)).rstrip()
