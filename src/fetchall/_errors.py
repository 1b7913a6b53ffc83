"""The closed set of ways a URL can fail, and the error value that names one.

``FetchError.kind`` is one of:

    invalid_url          the line is not an http(s) URL, or not valid UTF-8
    dns                  the host name did not resolve
    connect              refused, unreachable, or reset before the request was sent
    tls                  the TLS handshake or certificate check failed
    timeout              the connect timeout or the per-URL deadline passed
    protocol             a malformed response, or the server closed without answering
    read                 the connection was lost, or the body cut short, after the response began
    too_many_redirects   more redirects than allowed
    http_status          the server answered with a status of 400 or more
    too_large            the body is larger than --max-size
    write                the body could not be saved (disk full, permission)
    cancelled            the run stopped (Ctrl-C, SIGTERM, --fail-fast) while it was in flight
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a URL failed; the value is what records carry in ``error_kind``."""

    INVALID_URL = "invalid_url"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    READ = "read"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    WRITE = "write"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Response:
    """What arrived from the server: enough for a record, never the body itself."""

    status: int
    final_url: str
    bytes: int
    content_type: str | None
    retry_after: float | None = None
    """Seconds the server asked to wait before another try (Retry-After), if it did."""


@dataclass(frozen=True, slots=True)
class FetchError:
    """A failed URL: its kind, a message for people, and the response if one began."""

    kind: ErrorKind
    message: str
    response: Response | None = None


class SetupError(Exception):
    """The settings (or proxy variables) cannot make an HTTP client; nothing was fetched."""
