"""When a failed attempt is worth another, and how long to wait before it."""

from __future__ import annotations

import random

from fetchall._model import ErrorKind, FetchError

BACKOFF_BASE = 0.5
"""Seconds: the backoff ceiling after the first failed attempt."""
BACKOFF_CAP = 30.0
"""Seconds: the backoff ceiling never grows past this."""
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_RETRY_KINDS = frozenset({ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.READ})


def is_transient(error: FetchError) -> bool:
    """Connect errors, timeouts, a connection dropped mid-body, and 429/502/503/504."""
    if error.kind is ErrorKind.HTTP_STATUS:
        return error.response is not None and error.response.status in RETRY_STATUSES
    return error.kind in _RETRY_KINDS


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter after failed attempt number ``attempt`` (1-based):
    uniform in [0, min(30, 0.5 * 2**(attempt - 1))] seconds."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return (rng or random).uniform(0, ceiling)


def retry_delay(error: FetchError, attempt: int, max_wait: float) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After when it sent
    one, otherwise the jittered backoff; never more than ``max_wait`` seconds."""
    retry_after = error.response.retry_after if error.response else None
    if retry_after is not None:
        return min(retry_after, max_wait)
    return min(backoff(attempt), max_wait)
