"""Process housekeeping around a run: the open-files limit, stdout after a closed pipe,
and a fresh line in a resumed records file."""

from __future__ import annotations

import contextlib
import os
import resource

from fetchall.cli.environment import Environment

SPARE_FILES = 64
"""Descriptors beyond one per connection: sources, stdio, the event loop, DNS."""


def allow_open_files(concurrency: int) -> None:
    """Raise the soft limit on open files (up to the hard limit) so that ``concurrency``
    connections fit, instead of failing the excess as connect errors."""
    wanted = concurrency + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def silence_stdout(env: Environment) -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail
    (the "Note on SIGPIPE" in Python's signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, env.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's in-memory stream)
        pass


def fresh_line(resume: str, env: Environment) -> bytes:
    """A newline to write first when stdout appends to the --resume file and a killed
    run left its last record cut short (so the first new record is not glued onto it);
    otherwise nothing."""
    try:
        out, previous = os.fstat(env.stdout.fileno()), os.stat(resume)
        if (out.st_dev, out.st_ino) != (previous.st_dev, previous.st_ino) or not out.st_size:
            return b""
        with open(resume, "rb") as file:
            file.seek(-1, os.SEEK_END)
            return b"" if file.read(1) == b"\n" else b"\n"
    except (OSError, ValueError):  # not a file, or an in-memory stream in tests
        return b""
