"""Run statistics in constant memory: counts, bytes, a latency histogram, the slowest
few URLs and the first few failures; and the accounting of lines without a result."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field

from fetchall._engine import not_tried
from fetchall._input import LineCounts
from fetchall._model import Err, FetchResult, Ok, Response
from fetchall._settings import DEFAULT_MAX_HOST_ERRORS

KEEP = 5
"""How many slowest URLs and first failures the summary lists."""
PHASES = ("dns", "connect", "tls", "ttfb")
"""The phases whose times the summary shows (a response's ``time_<phase>``)."""


class LatencyHistogram:
    """Percentiles from log-spaced buckets, each 2% wider than the last.

    A percentile is reported as the geometric middle of the bucket holding the value of
    that rank, so it is within 1% of the exact (nearest-rank) value for latencies from
    0.1 ms to a day; shorter ones count as 0.1 ms. The exact minimum and maximum are kept.
    Memory is fixed (about a thousand counters) whatever the number of URLs.
    """

    GROWTH = 1.02
    FLOOR = 1e-4
    CEILING = 86_400.0

    def __init__(self) -> None:
        size = int(math.log(self.CEILING / self.FLOOR) / math.log(self.GROWTH)) + 2
        self._counts = [0] * size
        self._bounds = [self.FLOOR * self.GROWTH**index for index in range(size - 1)]
        """Where each bucket but the first begins: bucket ``i`` holds [bounds[i-1],
        bounds[i]); found by bisection (a few comparisons in C, a third of the cost of
        a logarithm and a division measured per result)."""
        self.count = 0
        self.max = 0.0
        self.min = math.inf

    def add(self, seconds: float) -> None:
        """Count one latency."""
        self.count += 1
        if seconds > self.max:
            self.max = seconds
        if seconds < self.min:
            self.min = seconds
        self._counts[0 if seconds <= self.FLOOR else bisect_right(self._bounds, seconds)] += 1

    def percentile(self, fraction: float) -> float | None:
        """The latency below which ``fraction`` (0..1] of the samples fall; None if empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        if rank >= self.count:
            return self.max
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                return min(self.max, max(self.min, self._middle(index)))
        return self.max

    def _middle(self, index: int) -> float:
        if index == 0:
            return self.FLOOR
        return self.FLOOR * self.GROWTH ** (index - 1) * math.sqrt(self.GROWTH)


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed line, as the summary lists it."""

    url: str
    kind: str
    message: str
    source: str
    """``path:line`` of the input line."""


@dataclass(slots=True)
class RunStats:
    """Everything the summary shows, updated once per result."""

    ok: int = 0
    """Lines fetched with success."""
    skipped: int = 0
    """Lines not fetched because their file was already saved (--skip-existing)."""
    failed_by_kind: Counter[str] = field(default_factory=Counter)
    status_classes: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    phases: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {phase: LatencyHistogram() for phase in PHASES}
    )
    """The time of each phase (``PHASES``), over the responses where it happened."""
    slowest: list[tuple[float, str]] = field(default_factory=list)
    """A min-heap of the ``KEEP`` longest (elapsed, url)."""
    first_failures: list[Failure] = field(default_factory=list)
    not_tried: int = 0
    """Failed lines not tried because their host failed ``max_host_errors`` times in a row."""
    max_host_errors: int = DEFAULT_MAX_HOST_ERRORS
    """The run's ``--max-host-errors``, for the summary's words."""

    @property
    def failed(self) -> int:
        """How many lines failed, of any kind."""
        return sum(self.failed_by_kind.values())

    @property
    def done(self) -> int:
        """How many lines have a result."""
        return self.ok + self.failed + self.skipped

    def add(self, result: FetchResult) -> None:
        """Count one result."""
        response: Response | None
        match result.outcome:
            case Ok(None):
                response = None
                self.skipped += 1
            case Ok(response):
                self.ok += 1
            case Err(error):
                response = error.response
                self.failed_by_kind[error.kind.value] += 1
                if not_tried(result):
                    self.not_tried += 1
                if len(self.first_failures) < KEEP:
                    line = result.line
                    failure = Failure(line.text, error.kind.value, error.message, line.source)
                    self.first_failures.append(failure)
        if response is not None:
            self.bytes += response.bytes
            self.status_classes[f"{response.status // 100}xx"] += 1
            self._add_phases(response)
        if result.attempts:
            self.latency.add(result.elapsed)
            entry = (result.elapsed, result.line.text)
            if len(self.slowest) < KEEP:
                heapq.heappush(self.slowest, entry)
            else:
                heapq.heappushpop(self.slowest, entry)

    def _add_phases(self, response: Response) -> None:
        phases = self.phases
        if response.time_dns is not None:
            phases["dns"].add(response.time_dns)
        if response.time_connect is not None:
            phases["connect"].add(response.time_connect)
        if response.time_tls is not None:
            phases["tls"].add(response.time_tls)
        if response.time_ttfb is not None:
            phases["ttfb"].add(response.time_ttfb)


@dataclass(frozen=True, slots=True)
class Accounting:
    """The input lines besides their results: those the selection dropped, and those not
    started because the run was cut short."""

    counts: LineCounts
    unread: int | None = 0
    """Lines never read: 0 when the input was read to its end, None when not known (the
    rest of stdin, or files too long to count again in time)."""
    stop: str | None = None
    """Why the run was cut short, in words (``interrupted``); None when it was not."""
    failed_line: Failure | None = None
    """The line whose failure stopped the run (--fail-fast)."""

    def not_started(self, done: int) -> int:
        """Lines read or known to be there that got no result (``done`` lines did)."""
        counts = self.counts
        return max(0, counts.read - counts.dropped - done) + (self.unread or 0)
