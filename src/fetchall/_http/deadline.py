"""A deadline for one attempt: ``asyncio.timeout`` for a task whose loop is already known.

``asyncio.timeout`` asks for the running loop three times each time it is used, and on
Python 3.11 every ask is a getpid() system call: with the one ``asyncio.create_task`` makes,
a tenth of the CPU time of a small fetch on this machine (py-spy --native). And uvloop's
timers count whole milliseconds, so they can fire up to 1 ms before their delay is over; a
deadline here is never over early (a run with ``-t 1`` once recorded 0.99987 s).
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType


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
        self._handle = self._loop.call_later(self._delay, self._expire)

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
            raise TimeoutError from exc

    def _expire(self) -> None:
        early = self._due - time.perf_counter()
        if early > 0:  # the loop's clock is coarser than the deadline
            self._handle = self._loop.call_later(early, self._expire)
            return
        self._expired = True
        self._task.cancel()
