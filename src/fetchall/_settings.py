"""The frozen settings of one run, built once by the command line (or by an API caller).
Imports nothing of fetchall's."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONCURRENCY = 16
DEFAULT_SPEED_LIMIT = 1024
"""Bytes a second (with ``DEFAULT_SPEED_TIME``: as wget2 and aria2c, a stall fails an
attempt, a long download at a steady rate does not)."""
DEFAULT_SPEED_TIME = 30.0
"""Seconds."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds."""
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT = 60.0
"""Seconds."""
DEFAULT_MAX_HOST_ERRORS = 10
WAITING_PER_PERMIT = 4
"""With ``per_host``, lines waiting for a busy host are bounded by this times the concurrency."""


@dataclass(frozen=True, slots=True)
class Settings:
    """How to fetch: how many at once, how long to wait, how often to retry, what to send.

    Raises ValueError when a value is out of its range (each field says its range)."""

    concurrency: int = DEFAULT_CONCURRENCY
    """At most this many requests in flight (at least 1)."""
    timeout: float | None = None
    """Hard deadline in seconds for one attempt: connect, headers and body together (> 0);
    None is no deadline."""
    speed_limit: int = DEFAULT_SPEED_LIMIT
    """Bytes a second: an attempt slower than this for ``speed_time`` seconds (waiting for
    the response head included) fails as timeout; 0 turns the check off (>= 0)."""
    speed_time: float = DEFAULT_SPEED_TIME
    """Seconds over which ``speed_limit`` is measured (> 0)."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Seconds allowed to establish a connection, TLS included (> 0)."""
    retries: int = DEFAULT_RETRIES
    """Further attempts after a transient failure (>= 0)."""
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    """The longest wait in seconds before a retry, whatever Retry-After asks (>= 0)."""
    max_host_errors: int = DEFAULT_MAX_HOST_ERRORS
    """After this many failed attempts in a row at one host (``dns``, ``connect``, or
    ``timeout`` before any response), its lines not yet tried fail at once; 0 turns this off
    (>= 0)."""
    per_host: int = 0
    """At most this many requests in flight to one (scheme, host, port); 0 is no limit."""
    rate: float | None = None
    """Global request starts per second; None is unlimited."""
    host_rate: float | None = None
    """Request starts per second to one host; None is unlimited."""
    follow_redirects: bool = True
    """Follow redirects (3xx with a Location); False reports the 3xx itself."""
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    """Redirects followed before a URL fails as too_many_redirects (>= 0)."""
    max_size: int | None = None
    """Bodies larger than this many bytes fail as too_large; None is no limit."""
    method: str = "GET"
    """The request method, upper-case as sent."""
    headers: tuple[tuple[str, str], ...] = ()
    """(name, value) fields sent with every request, replacing defaults of the same name."""
    body: bytes | None = None
    """Sent with every request, again on each retry and after a 307 or 308 redirect (not
    after one that turns the method into GET), with Content-Length and, unless ``headers``
    name one, ``Content-Type: application/x-www-form-urlencoded``. The method stays
    ``method`` (the command line implies POST)."""
    user_agent: str | None = None
    """None sends ``fetchall/<version>``."""
    http2: bool = False
    """Offer HTTP/2 (needs the ``http2`` extra)."""
    verify: bool = True
    """Verify TLS certificates."""
    cacert: str | None = None
    """A PEM file of certificates to trust instead of the system's."""
    proxy: str | None = None
    """A proxy URL for every request; None honours the proxy environment variables."""
    transport: str = "fast"
    """``fast`` (fetchall's HTTP/1.1 transport) or ``httpx`` (httpx's own); HTTP/2 always
    uses httpx's."""
    fail_fast: bool = False
    """Stop at the first failed line: start nothing more, cancel what is in flight."""
    output_dir: str | None = None
    """Save each successful body under this folder."""
    skip_existing: bool = False
    """With ``output_dir``: a URL whose file is already there is not fetched."""
    sha256: bool = False
    """Give each successful result the SHA-256 of its body."""
    raw: bool = False
    """Keep bodies exactly as sent: no content decoding, ``bytes`` counted on the wire."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if (self.timeout is not None and self.timeout <= 0) or self.connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.speed_limit < 0 or self.speed_time <= 0:
            raise ValueError("speed_limit must not be negative, speed_time must be positive")
        if min(self.retries, self.max_redirects, self.per_host, self.max_host_errors) < 0:
            raise ValueError(
                "retries, max_redirects, per_host and max_host_errors must not be negative"
            )
        if self.max_retry_wait < 0:
            raise ValueError("max_retry_wait must not be negative")
        for rate in (self.rate, self.host_rate):
            if rate is not None and rate <= 0:
                raise ValueError("rates must be positive")
        if self.transport not in ("fast", "httpx"):
            raise ValueError("transport must be 'fast' or 'httpx'")
        if self.max_size is not None and self.max_size < 0:
            raise ValueError("max_size must not be negative")

    @property
    def backlog(self) -> int:
        """Lines read but not yet delivered: those in flight, plus the waiting room."""
        waiting = WAITING_PER_PERMIT * self.concurrency if self.per_host else 0
        return self.concurrency + waiting
