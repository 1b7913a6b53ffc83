"""The staggered connection race of RFC 8305 §5 (Happy Eyeballs), for any kind of
connection: fetchall's transport races asyncio connections, the backend of httpx's
transports races httpcore streams. Times are ``time.perf_counter`` seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import TypeVar

Won = TypeVar("Won")


@dataclass(frozen=True, slots=True)
class Attempted:
    """One address of a lost race: its error, None when it did not connect in time, and
    whether an attempt was started at all."""

    address: str
    error: BaseException | None
    started: bool = True


class RaceLost(Exception):
    """No address connected: ``attempts`` in the order they ended (those still connecting
    or never started at the deadline last); ``timed_out`` when the deadline ended it."""

    def __init__(self, attempts: list[Attempted], *, timed_out: bool) -> None:
        super().__init__("no address connected")
        self.attempts = attempts
        self.timed_out = timed_out


async def race(
    addresses: Sequence[str],
    connect: Callable[[str], Awaitable[Won]],
    close: Callable[[Won], Awaitable[None]],
    *,
    delay: float,
    deadline: float,
) -> tuple[Won, str]:
    """The first of ``connect(address)`` to succeed, and its address: a new attempt every
    ``delay`` seconds, or at once when the one before failed; the other attempts are
    cancelled, and any that connected meanwhile are given to ``close``. ``RaceLost``
    when every attempt failed or ``deadline`` passed (``connect``'s other exceptions are
    failures of that address)."""
    waiting = iter(addresses)
    running: dict[asyncio.Task[Won], str] = {}
    attempts: list[Attempted] = []
    next_start = perf_counter()
    try:
        while True:
            now = perf_counter()
            if now >= next_start:
                upcoming = next(waiting, None)
                next_start = float("inf") if upcoming is None else now + delay
                if upcoming is not None:
                    running[asyncio.ensure_future(connect(upcoming))] = upcoming
            if not running:
                raise RaceLost(attempts, timed_out=False)
            if now >= deadline:
                attempts += [Attempted(address, None) for address in running.values()]
                attempts += [Attempted(address, None, started=False) for address in waiting]
                raise RaceLost(attempts, timed_out=True)
            wait = max(min(next_start, deadline) - perf_counter(), 0)
            done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                address = running.pop(task)
                error = task.exception()
                if error is None:
                    return task.result(), address  # any other winner: closed below
                attempts.append(Attempted(address, error))
                next_start = perf_counter()  # §5: the next attempt starts at once
    finally:
        await _close_losers(running, close)


async def _close_losers(
    running: dict[asyncio.Task[Won], str], close: Callable[[Won], Awaitable[None]]
) -> None:
    """Cancel the attempts still running and close any that connected meanwhile (a
    cancelled attempt closes its own socket)."""
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)
    for task in running:
        if not task.cancelled() and task.exception() is None:
            await close(task.result())
