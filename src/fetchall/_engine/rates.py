"""Start rates: a token bucket per limit (overall, and one per host)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Starts at most ``rate`` per second, with a burst of at most one second's worth
    (ValueError when ``rate`` is not positive).

    Callers that find no token reserve one (the count goes negative) and sleep until it
    is theirs, so waiters are served in order and the rate holds under contention.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock()

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one was there)."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def acquire(self) -> None:
        """Wait for a token."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    @property
    def idle(self) -> bool:
        """Whether the bucket is full again, so forgetting it changes nothing."""
        elapsed = self._clock() - self._updated
        return self._tokens + elapsed * self._rate >= self._capacity
