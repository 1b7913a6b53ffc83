"""The process environment, read once and passed down: streams, terminals, NO_COLOR; and
``say``, people's one-line messages on stderr (above the live display while it is up)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from fetchall.cli.escaping import printable

_STANDARD_FDS = {0: os.O_WRONLY, 1: os.O_RDONLY, 2: os.O_WRONLY}
"""How a closed standard descriptor is held open on /dev/null: so that reading stdin or
writing stdout fails (EBADF) as on the closed descriptor, and stderr's text is lost."""


@dataclass(slots=True)
class MessageRoute:
    """Where ``say`` writes: ``above``, while the live display is up (its console prints the
    text above the live area, so neither overwrites the other), else stderr."""

    above: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class Environment:
    """The process streams and what is known of them, passed down instead of read from sys."""

    stdin: BinaryIO | None
    """None when the process was started with stdin closed (``<&-``)."""
    stdout: BinaryIO
    stderr: TextIO
    """/dev/null when the process was started with stderr closed (``2>&-``)."""
    stdin_isatty: bool
    stdout_isatty: bool
    stderr_isatty: bool
    no_color: bool
    """True when the NO_COLOR environment variable is set and not empty."""
    same_terminal: bool = False
    """stdout and stderr are one terminal (the plain command in a shell)."""
    stdout_closed: bool = False
    """The process was started with stdout closed (``>&-``): no record can be written."""
    route: MessageRoute = field(default_factory=MessageRoute)
    """Where ``say`` writes now."""

    @classmethod
    def from_process(cls) -> Environment:
        """The environment of this process. A standard stream the process was started
        without (Python's ``sys.stdin`` and the like are None) is held open on /dev/null
        first, so that no file or socket opened later takes its descriptor."""
        _hold_closed_descriptors()
        stdin, stdout, stderr = sys.stdin, sys.stdout, sys.stderr
        if stderr is None:
            stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole run
        stdout_isatty = stdout is not None and stdout.isatty()
        stderr_isatty = stderr.isatty()
        return cls(
            stdin=None if stdin is None else stdin.buffer,
            stdout=os.fdopen(1, "wb", closefd=False) if stdout is None else stdout.buffer,
            stderr=stderr,
            stdin_isatty=stdin is not None and stdin.isatty(),
            stdout_isatty=stdout_isatty,
            stderr_isatty=stderr_isatty,
            no_color=bool(os.environ.get("NO_COLOR")),
            same_terminal=stdout_isatty and stderr_isatty and _one_device(1, 2),
            stdout_closed=stdout is None,
        )


def _hold_closed_descriptors() -> None:
    """Open /dev/null on each closed descriptor among 0, 1 and 2 (see ``_STANDARD_FDS``):
    a closed one would be the next file or socket opened, and a record, or a C library's
    message on stderr, would land in it (POSIX: open returns the lowest free descriptor)."""
    for fd, flags in _STANDARD_FDS.items():
        try:
            os.fstat(fd)
        except OSError:
            try:
                held = os.open(os.devnull, flags)
                if held != fd:
                    os.dup2(held, fd)
                    os.close(held)
            except OSError:
                pass


def _one_device(first: int, second: int) -> bool:
    """Whether two open file descriptors are the same terminal device."""
    try:
        return os.fstat(first).st_rdev == os.fstat(second).st_rdev
    except OSError:
        return False


def say(env: Environment, message: str) -> None:
    """One line for people on stderr: ``fetchall: message`` (an error, or a warning that
    ``--quiet`` has not hidden; dropped when stderr itself cannot be written: a full disk
    under ``2>&1``). The message is made ``printable``: it may quote a server or a file."""
    tell(env, f"fetchall: {printable(message)}\n")


def tell(env: Environment, text: str) -> None:
    """Text for people (whole lines) on stderr, or above the live display while it is up
    (``env.route``); dropped when stderr cannot be written."""
    try:
        if env.route.above is not None:
            env.route.above(text)
            return
        env.stderr.write(text)
        env.stderr.flush()
    except OSError:
        pass
