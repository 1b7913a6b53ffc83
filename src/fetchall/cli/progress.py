"""Progress state for the live display: an observer that only updates counters, and the
immutable snapshot the display renders on its own clock. Finished lines are counted once,
in the run's ``RunStats``, which the snapshot reads."""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fetchall._model import Err, FetchResult, Line, Phase
from fetchall._targets import masked
from fetchall.cli.stats import RunStats

MAX_PENDING_FAILURES = 1000
"""Failure lines kept for the next refresh; beyond that only their number is kept."""


@dataclass(slots=True)
class _Row:
    """A request in flight, as the display shows it."""

    url: str
    started: float
    attempt: int = 1
    status: int | None = None
    bytes: int = 0
    retry_at: float | None = None
    """When the next attempt starts, while waiting for it (the clock's seconds)."""
    phase: Phase | None = None
    """What the attempt is doing, once its transport has said."""


@dataclass(frozen=True, slots=True)
class RowView:
    """One in-flight row of a snapshot."""

    url: str
    status: int | None
    bytes: int
    elapsed: float
    attempt: int
    retry_in: float | None = None
    """Seconds until attempt ``attempt`` starts, while waiting for it."""
    phase: Phase | None = None
    """What the attempt is doing (None before its transport has said)."""


@dataclass(frozen=True, slots=True)
class FailureLine:
    """A finished failure, printed above the display: status or error kind, URL, message."""

    label: str
    url: str
    message: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole run at one instant: what ``render_live`` draws."""

    rows: tuple[RowView, ...]
    in_flight: int
    done: int
    total: int | None
    ok: int
    failed: int
    skipped: int
    bytes: int
    elapsed: float


class ProgressState:
    """Receives the engine's events and keeps the rows in flight, the bytes received so
    far and the failures not yet shown; ``stats`` counts the finished lines (the run adds
    each result to it)."""

    def __init__(self, stats: RunStats, clock: Callable[[], float] = time.monotonic) -> None:
        self._stats = stats
        self._clock = clock
        self._started = clock()
        self._rows: dict[Line, _Row] = {}
        self._bytes = 0
        self._total: int | None = None
        self._total_is_final = False
        self._failures: deque[FailureLine] = deque()
        self._dropped_failures = 0

    def on_start(self, line: Line, attempt: int) -> None:
        """A request is about to be sent (again, for a retry)."""
        row = self._rows.get(line)
        if row is None:
            self._rows[line] = _Row(line.text, self._clock(), attempt)
        else:
            row.attempt, row.status, row.bytes, row.retry_at = attempt, None, 0, None
            row.phase = None

    def on_phase(self, line: Line, phase: Phase) -> None:
        """The request entered ``phase`` (resolving, connecting, ...)."""
        row = self._rows.get(line)
        if row is not None:
            row.phase = phase

    def on_retry_wait(self, line: Line, attempt: int, seconds: float) -> None:
        """Attempt ``attempt`` starts in ``seconds``: the row shows the wait."""
        row = self._rows.get(line)
        if row is not None:
            row.attempt, row.retry_at = attempt, self._clock() + seconds

    def on_headers(self, line: Line, status: int) -> None:
        """Headers arrived."""
        row = self._rows.get(line)
        if row is not None:
            row.status = status

    def on_bytes(self, line: Line, count: int) -> None:
        """Body bytes arrived."""
        self._bytes += count
        row = self._rows.get(line)
        if row is not None:
            row.bytes += count

    def on_finish(self, result: FetchResult) -> None:
        """A line has its result."""
        self._rows.pop(result.line, None)
        if isinstance(result.outcome, Err):
            error = result.outcome.error
            label = str(error.response.status) if error.response else error.kind.value
            if len(self._failures) < MAX_PENDING_FAILURES:
                self._failures.append(
                    FailureLine(label, masked(result.line.text), masked(error.message))
                )
            else:
                self._dropped_failures += 1

    def on_input_end(self, total: int) -> None:
        """The total is known."""
        self._total = total
        self._total_is_final = True

    def expect(self, total: int) -> None:
        """A count of the input made ahead of reading it; the engine's own count wins."""
        if not self._total_is_final:
            self._total = total

    def take_failures(self) -> tuple[list[FailureLine], int]:
        """The failure lines since the last call, and how many more were not kept."""
        lines, dropped = list(self._failures), self._dropped_failures
        self._failures.clear()
        self._dropped_failures = 0
        return lines, dropped

    def snapshot(self, max_rows: int) -> Snapshot:
        """The state now, with the ``max_rows`` longest-running requests."""
        now = self._clock()
        oldest = heapq.nsmallest(max_rows, self._rows.values(), key=lambda row: row.started)
        rows = tuple(
            RowView(
                row.url,
                row.status,
                row.bytes,
                now - row.started,
                row.attempt,
                None if row.retry_at is None else max(0.0, row.retry_at - now),
                row.phase,
            )
            for row in oldest
        )
        return Snapshot(
            rows=rows,
            in_flight=len(self._rows),
            done=self._stats.done,
            total=self._total,
            ok=self._stats.ok,
            failed=self._stats.failed,
            skipped=self._stats.skipped,
            bytes=self._bytes,
            elapsed=now - self._started,
        )
