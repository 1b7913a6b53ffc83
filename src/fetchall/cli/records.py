"""The record written for each line: the same fields, in the same order, in every format
(new fields are appended, so the order of the older ones stays)."""

from __future__ import annotations

from fetchall._model import Err, FetchError, FetchResult, Ok, Response

FIELDS = (
    "url",
    "final_url",
    "ok",
    "status",
    "bytes",
    "elapsed",
    "content_type",
    "error_kind",
    "error",
    "source",
    "attempts",
    "path",
    "skipped",
    "sha256",
    "location",
    "redirects",
    "content_length",
    "remote_ip",
    "http_version",
    "time_dns",
    "time_connect",
    "time_tls",
    "time_ttfb",
)

Record = dict[str, str | int | float | bool | None]


def record_of(result: FetchResult) -> Record:
    """The record of one result, keyed by ``FIELDS``."""
    line = result.line
    requested = line.url.value if isinstance(line.url, Ok) else None
    response: Response | None
    error: FetchError | None
    match result.outcome:
        case Ok(response):
            error = None
        case Err(error):
            response = error.response
    return {
        "url": line.text,
        "final_url": response.final_url if response else requested,
        "ok": error is None,
        "status": response.status if response else None,
        "bytes": response.bytes if response else 0,
        "elapsed": _seconds(result.elapsed),
        "content_type": response.content_type if response else None,
        "error_kind": error.kind.value if error else None,
        "error": error.message if error else None,
        "source": line.source,
        "attempts": result.attempts,
        "path": result.path,
        "skipped": result.skipped,
        "sha256": result.sha256,
        "location": response.location if response else None,
        "redirects": response.redirects if response else 0,
        "content_length": response.content_length if response else None,
        "remote_ip": response.remote_ip if response else None,
        "http_version": response.http_version if response else None,
        "time_dns": _phase(response.time_dns) if response else None,
        "time_connect": _phase(response.time_connect) if response else None,
        "time_tls": _phase(response.time_tls) if response else None,
        "time_ttfb": _phase(response.time_ttfb) if response else None,
    }


def _seconds(value: float) -> float:
    """Seconds (not negative) to the nearest microsecond: ``round(value, 6)``, but by
    arithmetic (``round`` with digits converts through a decimal string: twice as slow)."""
    return int(value * 1_000_000 + 0.5) / 1_000_000


def _phase(value: float | None) -> float | None:
    """A phase's seconds to the microsecond; None for a phase that did not happen."""
    return None if value is None else _seconds(value)
