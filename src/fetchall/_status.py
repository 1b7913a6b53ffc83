"""Exit statuses: the one place that names them."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """What the process exit code tells a script."""

    OK = 0
    """Every URL succeeded."""
    FAILED = 1
    """At least one URL failed (or stdout could not be written)."""
    USAGE = 2
    """A usage error or an unreadable SOURCE; nothing was fetched."""
    INTERNAL = 3
    """An unexpected internal error (a bug); ``--debug`` shows the traceback."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT)."""
    BROKEN_PIPE = 141
    """stdout was closed early (``fetchall urls.txt | head``)."""
    TERMINATED = 143
    """SIGTERM (what ``docker stop`` sends)."""
