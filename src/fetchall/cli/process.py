"""Process housekeeping around a run: the open-files limit, stdout after a closed pipe,
and a fresh line in a resumed records file."""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from fetchall.cli.environment import Environment

UVLOOP_FILES = 11
"""Descriptors uvloop's event loop keeps open (measured with uvloop 0.21 on Linux 6: epoll,
io_uring, an eventfd, two pipes, a socket pair and two of /dev/null, one opened with the
first connection)."""
ASYNCIO_FILES = 3
"""Descriptors asyncio's own event loop keeps open: epoll and a socket pair."""
FILES_PER_REQUEST = 2
"""Descriptors one request holds at once, at most: while its host name is looked up (on one
of up to -c lookup threads), a UDP socket and /etc/hosts or /etc/resolv.conf while it is
read; then its connection, and with -o the file its body is saved to."""
LATER_FILES = 8
"""Descriptors opened for a while during a run: the CA file while TLS loads it, a file
counted for the display, modules imported late (2), connections closing (2), and with -o
two folders while a body's folders are walked (one body at a time, on the loop's thread)."""


@dataclass(frozen=True, slots=True)
class FittedConcurrency:
    """The concurrency the open-files limit allows, and that limit."""

    concurrency: int
    limit: int | None
    """The soft limit on open files after raising it; None for no limit."""


class TooFewFiles(Exception):
    """The open-files limit cannot hold even one request besides what a run keeps open."""

    def __init__(self, limit: int, needed: int) -> None:
        super().__init__(
            f"the open-files limit ({limit}) is too low: fetchall needs at least {needed} "
            f"(ulimit -n {needed})"
        )
        self.limit = limit
        self.needed = needed


def fit_open_files(concurrency: int, loop_files: int = UVLOOP_FILES) -> FittedConcurrency:
    """Raise the soft limit on open files (up to the hard limit) so that ``concurrency``
    requests fit, each holding ``FILES_PER_REQUEST`` descriptors, besides the descriptors
    open now (standard streams, sources), the event loop's ``loop_files`` (see
    ``UVLOOP_FILES``, ``ASYNCIO_FILES``; the loop is made after this), and ``LATER_FILES``.
    When the hard limit is too low, the concurrency that fits; ``TooFewFiles`` when not
    even one request fits (README: no URL fails with "Too many open files")."""
    files_per_request = FILES_PER_REQUEST
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return FittedConcurrency(concurrency, None)
    besides = _open_now(soft) + loop_files + LATER_FILES
    wanted = besides + concurrency * files_per_request
    if soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):  # a limit the kernel will not grant (nr_open)
            pass
    if soft >= wanted:
        return FittedConcurrency(concurrency, soft)
    fitting = (soft - besides) // files_per_request
    if fitting < 1:
        raise TooFewFiles(soft, besides + files_per_request)
    return FittedConcurrency(fitting, soft)


def loop_files(factory: Callable[[], asyncio.AbstractEventLoop]) -> int:
    """The descriptors an event loop made by ``factory`` keeps open."""
    return ASYNCIO_FILES if factory is asyncio.new_event_loop else UVLOOP_FILES


def _open_now(limit: int) -> int:
    """Descriptors open in this process now, below ``limit`` (inherited ones included)."""
    try:
        names = os.listdir("/dev/fd")
    except OSError:
        return 3
    listing = 1  # the descriptor listdir held while it listed
    return sum(1 for name in names if name.isdigit() and int(name) < limit) - listing


def silence_stdout(env: Environment) -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail
    (the "Note on SIGPIPE" in Python's signal docs)."""
    _to_devnull(env.stdout)


def settle_stderr(env: Environment) -> None:
    """When stderr cannot take what is left in its buffer (a full disk under ``2>&1``),
    point it at /dev/null, so the interpreter's exit flush cannot fail with Python's own
    status 120 instead of the run's."""
    try:
        env.stderr.flush()
    except OSError:
        _to_devnull(env.stderr)


def _to_devnull(stream: IO[bytes] | IO[str]) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
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
