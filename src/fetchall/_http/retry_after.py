"""The Retry-After field (RFC 9110 §10.2.3): how long a server asks a client to wait."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value: delta-seconds (ASCII digits only: ``str.isdigit``
    also takes ``²``, which ``float`` refuses) or an HTTP date (a date in the past is 0);
    None when absent or anything else, so the backoff is used. Never raises."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)  # float() has no digit limit; a huge value is inf, then capped
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
