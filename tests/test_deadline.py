"""Deadline behaves as asyncio.timeout does: a late block ends in TimeoutError, a block in
time is untouched, and a cancellation from elsewhere is never mistaken for the deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from fetchall._http.deadline import Deadline, SpeedGuard, TooSlow

pytestmark = pytest.mark.anyio


async def test_a_block_that_overruns_ends_in_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with Deadline(loop, 0.05):
            await asyncio.sleep(5)
    assert 0.05 <= loop.time() - started < 1
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_block_in_time_is_untouched_and_not_cancelled_later() -> None:
    loop = asyncio.get_running_loop()
    async with Deadline(loop, 0.05):
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # past the deadline: nothing is cancelled


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()

    async def guarded() -> None:
        async with Deadline(loop, 5):
            await asyncio.sleep(5)

    task = asyncio.create_task(guarded())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancellation_racing_the_deadline_is_not_swallowed() -> None:
    """Cancelled from outside just as the deadline fires: the task still ends cancelled."""
    loop = asyncio.get_running_loop()

    async def guarded() -> None:
        async with Deadline(loop, 0.02):
            await asyncio.sleep(5)

    task = asyncio.create_task(guarded())
    loop.call_later(0.02, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("make_loop", ["asyncio", "uvloop"])
def test_a_deadline_is_never_over_early(make_loop: str) -> None:
    """Not even on uvloop, whose timers count whole milliseconds."""
    factory = asyncio.new_event_loop
    if make_loop == "uvloop":
        factory = pytest.importorskip("uvloop").new_event_loop

    async def shortest() -> float:
        loop = asyncio.get_running_loop()
        timings = []
        for _ in range(100):
            started = time.perf_counter()
            with pytest.raises(TimeoutError):
                async with Deadline(loop, 0.0025):
                    await asyncio.sleep(1)
            timings.append(time.perf_counter() - started)
        return min(timings)

    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(shortest()) >= 0.0025


class Counter:
    """Bytes received so far, as an attempt counts them."""

    def __init__(self) -> None:
        self.received = 0


async def test_a_speed_guard_cuts_a_burst_then_a_stall_a_window_later() -> None:
    """A burst well above the limit, then nothing: cut once the burst has left the window,
    with the bytes of that window in the message."""
    loop = asyncio.get_running_loop()
    counter = Counter()
    started = loop.time()

    async def burst_then_stall() -> None:
        async with SpeedGuard(loop, 1000, 0.5, counter):
            counter.received = 100_000
            await asyncio.sleep(5)

    with pytest.raises(TooSlow, match=r"slower than 1,000 bytes/s for 0.5s \(0 bytes"):
        await burst_then_stall()
    assert 0.5 <= loop.time() - started < 1.5


async def test_a_speed_guard_leaves_a_steady_transfer_above_the_limit() -> None:
    """2,000 bytes a second against a limit of 1,000: never cut, however long it runs."""
    loop = asyncio.get_running_loop()
    counter = Counter()
    async with SpeedGuard(loop, 1000, 0.3, counter):
        for _ in range(30):
            counter.received += 100
            await asyncio.sleep(0.05)
