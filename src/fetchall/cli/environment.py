"""The process environment, read once and passed down: streams, terminals, NO_COLOR."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from fetchall.cli.escaping import printable


@dataclass(frozen=True, slots=True)
class Environment:
    """The process streams and what is known of them, passed down instead of read from sys."""

    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    stdin_isatty: bool
    stdout_isatty: bool
    stderr_isatty: bool
    no_color: bool
    """True when the NO_COLOR environment variable is set and not empty."""
    same_terminal: bool = False
    """stdout and stderr are one terminal (the plain command in a shell)."""

    @classmethod
    def from_process(cls) -> Environment:
        """The environment of this process."""
        stdout_isatty, stderr_isatty = sys.stdout.isatty(), sys.stderr.isatty()
        return cls(
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr,
            stdin_isatty=sys.stdin.isatty(),
            stdout_isatty=stdout_isatty,
            stderr_isatty=stderr_isatty,
            no_color=bool(os.environ.get("NO_COLOR")),
            same_terminal=stdout_isatty and stderr_isatty and _one_device(1, 2),
        )


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
    try:
        env.stderr.write(f"fetchall: {printable(message)}\n")
        env.stderr.flush()
    except OSError:
        pass
