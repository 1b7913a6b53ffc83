"""Every input line accounted for after a run: those the selection dropped, those never
started because the run was cut short (counted again from the files when it was), and why."""

from __future__ import annotations

import threading

from fetchall._input import LineCounts, Source, count_lines
from fetchall._model import StopReason
from fetchall.cli.stats import Accounting, RunStats
from fetchall.cli.status import Ending, Failure

COUNT_SECONDS = 1.0
"""After a stop, the longest time in seconds spent counting the lines never read."""
_FAILURE_WORDS = {
    Failure.OUTPUT: StopReason.OUTPUT_FAILED.description,
    Failure.INTERNAL: "stopped by an internal error",
}


def account_for(
    ending: Ending, counts: LineCounts, sources: list[Source], stats: RunStats
) -> Accounting:
    """Where the lines without a result went, and why the run was cut short, if it was
    (the lines never read are counted again from regular files, for at most
    ``COUNT_SECONDS``)."""
    if ending.stopped_by is not None:
        stop: str | None = ending.stopped_by.description
    else:
        stop = _FAILURE_WORDS.get(ending.failure) if ending.failure else None
    if stop is None:
        return Accounting(counts)
    total = _count_within(sources, COUNT_SECONDS)
    unread = None if total is None else max(0, total - counts.read)
    fail_fast = ending.stopped_by is StopReason.FAIL_FAST and stats.first_failures
    return Accounting(counts, unread, stop, stats.first_failures[0] if fail_fast else None)


def _count_within(sources: list[Source], seconds: float) -> int | None:
    """The lines of the sources, counted again from the files in a daemon thread; None for
    stdin, or when counting takes longer than ``seconds`` (a stopped run exits soon)."""
    counted: list[int | None] = []
    counter = threading.Thread(
        target=lambda: counted.append(count_lines(sources)), name="count lines", daemon=True
    )
    counter.start()
    counter.join(seconds)
    return counted[0] if counted else None
