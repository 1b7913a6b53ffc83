"""Exit statuses: the one place that names them, and the one function from how a run
ended to its status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from fetchall._model import StopReason


class ExitStatus(IntEnum):
    """What the process exit code tells a script; ``meaning`` is the words ``--help`` shows."""

    meaning: str

    def __new__(cls, value: int, meaning: str) -> ExitStatus:
        status = int.__new__(cls, value)
        status._value_ = value
        status.meaning = meaning
        return status

    OK = 0, "all succeeded"
    FAILED = 1, "some failed (or the records could not be written)"
    USAGE = 2, "usage error or unreadable SOURCE"
    INTERNAL = 3, "internal error"
    HANGUP = 129, "hung up (SIGHUP)"
    INTERRUPTED = 130, "interrupted (SIGINT)"
    BROKEN_PIPE = 141, "stdout closed"
    TERMINATED = 143, "terminated (SIGTERM)"


def exit_statuses_help() -> str:
    """Every status in one sentence, for ``--help``: ``0 all succeeded, 1 …, 143 …``."""
    return ", ".join(f"{status.value} {status.meaning}" for status in ExitStatus) + "."


class Failure(Enum):
    """A way a run ended early, other than a stop reason."""

    USAGE = "usage"
    """A source or the settings could not be used; nothing was fetched."""
    OUTPUT = "output"
    """The records could not be written."""
    BROKEN_PIPE = "broken_pipe"
    """The reader of the records went away."""
    INTERNAL = "internal"
    """A bug."""


@dataclass(frozen=True, slots=True)
class Ending:
    """How a run ended: stopped for a reason, failed as a whole, whether any line failed,
    and how many finished lines have no record on stdout."""

    stopped_by: StopReason | None = None
    failure: Failure | None = None
    any_failed: bool = False
    unwritten: int = 0


_FAILURE_STATUS = {
    Failure.USAGE: ExitStatus.USAGE,
    Failure.OUTPUT: ExitStatus.FAILED,
    Failure.BROKEN_PIPE: ExitStatus.BROKEN_PIPE,
    Failure.INTERNAL: ExitStatus.INTERNAL,
}
_STOP_STATUS = {
    StopReason.INTERRUPTED: ExitStatus.INTERRUPTED,
    StopReason.TERMINATED: ExitStatus.TERMINATED,
    StopReason.HANGUP: ExitStatus.HANGUP,
    StopReason.FAIL_FAST: ExitStatus.FAILED,
    StopReason.OUTPUT_FAILED: ExitStatus.FAILED,
}

_HUNG_UP_WITH = (Failure.OUTPUT, Failure.BROKEN_PIPE)
"""Failures that follow from the terminal going away with a hangup."""


def exit_status(ending: Ending) -> ExitStatus:
    """The exit status of a run that ended so: a failure of the whole run first, then a
    signal, then whether any line failed. After a hangup, stdout failing is the terminal
    gone with it (EIO, EPIPE): the status stays the hangup's."""
    if ending.stopped_by is StopReason.HANGUP and ending.failure in _HUNG_UP_WITH:
        return ExitStatus.HANGUP
    if ending.failure is not None:
        return _FAILURE_STATUS[ending.failure]
    if ending.stopped_by is not None:
        return _STOP_STATUS[ending.stopped_by]
    return ExitStatus.FAILED if ending.any_failed else ExitStatus.OK
