"""The values every part of fetchall shares; this module imports nothing of fetchall's.

    Line ──► (engine) ──► FetchResult(line, outcome: Result[Response | None, FetchError], …)

- ``Ok(value) | Err(error)``: how a fetch ends; nothing raises across a task.
- ``ErrorKind``: the closed set of ways a URL can fail, carried in ``FetchError``:

    invalid_url          the line is not an http(s) URL, or not valid UTF-8; or a redirect
                         leads to another scheme
    dns                  the host name did not resolve
    connect              refused, unreachable, or reset before the request was sent
    tls                  the TLS handshake or certificate check failed
    timeout              the connect timeout passed, the transfer stayed below the minimum
                         speed, or the deadline of an attempt passed
    protocol             a malformed response, or the server closed without answering
    read                 the connection was lost, or the body cut short, after the response began
    too_many_redirects   more redirects than allowed
    http_status          the server answered with a status of 400 or more
    too_large            the body is larger than the size limit
    write                the body could not be saved (disk full, permission)
    cancelled            the run stopped (a signal, fail-fast, a failed stdout) while in flight
    internal             a bug in fetchall met while fetching this line (the exception is
                         kept in ``FetchError.exception``); the run goes on

- ``Phase``: what a request in flight is doing (resolving, connecting, ...).
- ``StopReason``: why a run was stopped before its input ended.
- ``SetupError``: the settings cannot make a client or an output folder; nothing was fetched.
- ``BodyWriteError``: a body could not be saved; the URL fails as ``write``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T", covariant=True)
E = TypeVar("E", covariant=True)


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """A success carrying its value."""

    value: T


@dataclass(frozen=True, slots=True)
class Err(Generic[E]):
    """A failure carrying its error."""

    error: E


Result = Ok[T] | Err[E]
"""``Ok[T] | Err[E]``: match it with ``case Ok(value)`` / ``case Err(error)``."""


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
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Response:
    """What arrived from the server: enough for a record, never the body itself."""

    status: int
    """The HTTP status code of the final response (after redirects)."""
    final_url: str
    """The URL that gave this response."""
    bytes: int
    """Body bytes received, after content decoding (gzip etc.); for a body cut short, the
    bytes that did arrive."""
    content_type: str | None
    """The Content-Type field, or None when absent."""
    retry_after: float | None = None
    """Seconds the server asked to wait before another try (Retry-After), if it did."""
    location: str | None = None
    """Where this response redirects to (its Location, made absolute) when that redirect
    was not followed: not asked to, too many, or a scheme other than http(s); else None."""
    redirects: int = 0
    """Redirects followed to reach this response."""
    content_length: int | None = None
    """The declared Content-Length in bytes (also for HEAD), or None when absent or not a
    number."""
    remote_ip: str | None = None
    """The address the response came from (IPv6 without brackets; a proxy's, through a
    proxy), as curl's ``%{remote_ip}``; None when not known (a mock transport)."""
    http_version: str | None = None
    """The response's protocol version: ``HTTP/1.1``, ``HTTP/1.0``, ``HTTP/2``."""
    time_dns: float | None = None
    """Seconds spent resolving the host name for the connection this response came on;
    None when no lookup was made (an IP literal, a reused connection, httpx's transport)."""
    time_connect: float | None = None
    """Seconds to establish TCP (every Happy Eyeballs attempt until one connected); None on
    a reused connection."""
    time_tls: float | None = None
    """Seconds of the TLS handshake; None for plain http and on a reused connection."""
    time_ttfb: float | None = None
    """Seconds from starting to send the request to receiving the response head (time to
    first byte)."""


@dataclass(frozen=True, slots=True)
class FetchError:
    """A failed URL: its kind, a message for people, and the response if one began."""

    kind: ErrorKind
    message: str
    response: Response | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    """For ``internal``: the exception, whose traceback ``--debug`` shows."""


class BodyWriteError(Exception):
    """A body could not be written to its file (disk full, permission, ...); the message
    says where and why. It fails the URL as ``write``."""


class SetupError(Exception):
    """The settings (or proxy variables) cannot make an HTTP client, or the output folder
    cannot be used; nothing was fetched. The message says which and why."""


@dataclass(frozen=True, slots=True, eq=False)
class Line:
    """One non-blank, non-comment input line: its text, its origin and the URL it names.

    Lines compare and hash by identity: the same URL on two lines is two lines."""

    text: str
    """The line as given, whitespace stripped (undecodable bytes shown as ``\\xNN``)."""
    source: str
    """Where it came from: ``path:number`` (lines numbered from 1), ``-:number`` for stdin."""
    url: Result[str, FetchError]
    """The http(s) URL to fetch, or why the line names none (``invalid_url``)."""
    https_assumed: bool = False
    """The line named no scheme, so ``https://`` was put in front of it."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome for one input line, the seconds it took and the attempts it made.

    ``Ok(None)`` is a line skipped because its file was already saved (skip-existing)."""

    line: Line
    outcome: Result[Response | None, FetchError]
    elapsed: float
    """Seconds from the first attempt's start to the end of the last (waits included)."""
    attempts: int
    """Requests made for the line, retries included; 0 when none was made."""
    path: str | None = None
    """Where the body was saved (or already was, when skipped)."""
    sha256: str | None = None
    """The hex SHA-256 of the body, when asked for."""

    @property
    def skipped(self) -> bool:
        """Whether the line was answered without a request (its file already existed)."""
        return isinstance(self.outcome, Ok) and self.outcome.value is None


class Phase(StrEnum):
    """What a request in flight is doing; its phases follow one another in this order
    (those that do not happen are skipped: a reused connection starts at ``waiting``)."""

    RESOLVING = "resolving"
    """Looking up the host name."""
    CONNECTING = "connecting"
    """Opening a TCP connection to one of its addresses."""
    TLS = "tls"
    """The TLS handshake."""
    WAITING = "waiting"
    """Sending the request, then waiting for the response head."""
    RECEIVING = "receiving"
    """The response head arrived; receiving the body."""


class StopReason(StrEnum):
    """Why a run was stopped before its input ended; each request then in flight gets a
    ``cancelled`` result naming it, and lines never started get none."""

    INTERRUPTED = "interrupted"
    """SIGINT (Ctrl-C)."""
    TERMINATED = "terminated"
    """SIGTERM (``docker stop``)."""
    HANGUP = "hangup"
    """SIGHUP (the terminal or ssh session closed)."""
    FAIL_FAST = "fail_fast"
    """The first failed line, when the settings ask to stop there."""
    OUTPUT_FAILED = "output_failed"
    """The results could not be written (the command's records stream failed)."""

    @property
    def description(self) -> str:
        """The reason in words, for messages."""
        match self:
            case StopReason.FAIL_FAST:
                return "stopped at the first failure"
            case StopReason.OUTPUT_FAILED:
                return "aborted"
            case StopReason.HANGUP:
                return "hung up"
            case _:
                return self.value
