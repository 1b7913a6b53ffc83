"""Limits on how long one attempt may take: a hard ``Deadline`` (``asyncio.timeout`` for a
task whose loop is already known), and a ``SpeedGuard`` that ends an attempt whose transfer
stays below a minimum speed (curl's ``--speed-limit``/``--speed-time``).

``asyncio.timeout`` asks for the running loop three times each time it is used, and on
Python 3.11 every ask is a getpid() system call: with the one ``asyncio.create_task`` makes,
a tenth of the CPU time of a small fetch on this machine (py-spy --native). And uvloop's
timers count whole milliseconds, so they can fire up to 1 ms before their delay is over; a
deadline here is never over early (a run with ``-t 1`` once recorded 0.99987 s).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType
from typing import Protocol


class Deadline:
    """Cancels the task running the block after ``delay`` seconds, and turns that
    cancellation into ``TimeoutError`` as the block is left; a cancellation from
    elsewhere stays a cancellation (the semantics of ``asyncio.timeout``)."""

    __slots__ = ("_cancelling", "_delay", "_due", "_expired", "_handle", "_loop", "_task")

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self._loop = loop
        self._delay = delay
        self._expired = False

    async def __aenter__(self) -> None:
        task = asyncio.current_task(self._loop)  # with the loop given: no system call
        if task is None:
            raise RuntimeError("a Deadline must be entered inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._due = time.perf_counter() + self._delay
        self._handle = self._loop.call_later(self._delay, self._fire)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._handle.cancel()
        if (
            self._expired
            and self._task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise self._timeout_error() from exc

    def _fire(self) -> None:
        wait = self._wait_more()
        if wait is not None:
            self._handle = self._loop.call_later(wait, self._fire)
            return
        self._expired = True
        self._task.cancel()

    def _wait_more(self) -> float | None:
        """Seconds to wait before firing again, or None to end the block now."""
        early = self._due - time.perf_counter()
        return early if early > 0 else None  # the loop's clock is coarser than the deadline

    def _timeout_error(self) -> TimeoutError:
        return TimeoutError()


class TooSlow(TimeoutError):
    """An attempt's transfer stayed below the minimum speed; the message says how slow."""


class Received(Protocol):
    """What a speed guard watches: the bytes an attempt has received so far."""

    @property
    def received(self) -> int:
        """Bytes received so far."""


class SpeedGuard(Deadline):
    """Ends the block with ``TooSlow`` once fewer than ``limit`` bytes a second arrived over
    the last ``seconds`` seconds (``limit * seconds`` bytes in that window), waiting for
    the response head included: a server that sends nothing is below any limit. Checked
    a few times a second (at most every second), so a quick attempt never meets a check."""

    __slots__ = ("_limit", "_samples", "_seconds", "_tick", "_watched")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: int, seconds: float, watched: Received
    ) -> None:
        self._tick = min(1.0, seconds / 5)
        super().__init__(loop, self._tick)
        self._limit = limit
        self._seconds = seconds
        self._watched = watched
        self._samples: deque[tuple[float, int]] = deque()

    async def __aenter__(self) -> None:
        await super().__aenter__()
        self._samples.append((time.perf_counter(), 0))

    def _wait_more(self) -> float | None:
        now = time.perf_counter()
        self._samples.append((now, self._watched.received))
        window_start = now - self._seconds
        while len(self._samples) > 2 and self._samples[1][0] <= window_start:
            self._samples.popleft()
        if self._samples[0][0] > window_start:
            return self._tick  # not yet watched for a whole window
        return None if self._in_window() < self._limit * self._seconds else self._tick

    def _in_window(self) -> int:
        return self._samples[-1][1] - self._samples[0][1]

    def _timeout_error(self) -> TimeoutError:
        return TooSlow(
            f"slower than {self._limit:,} bytes/s for {self._seconds:g}s"
            f" ({self._in_window():,} bytes in the last {self._seconds:g}s)"
        )
