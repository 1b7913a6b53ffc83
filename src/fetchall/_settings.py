"""The frozen settings of one run, built once by the command line (or by an API caller),
and the checks of what they put on the wire (method, header fields, proxy URL), which the
command line uses too. Imports only ``_targets`` (to mask a password in a message)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fetchall._targets import masked

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

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110 §5.6.2: ``token = 1*tchar``, what a method (§9.1) and a field name (§5.1) are."""
_LINE_BREAK_OR_NUL = re.compile(r"[\r\n\0]")
"""What a field value must not hold (RFC 9110 §5.5): a line break would start a new field."""
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
"""The proxy schemes httpx speaks (SOCKS ones with the ``socks`` extra)."""


def checked_method(method: str) -> str:
    """``method`` when it is an HTTP token (RFC 9110 §9.1: ``method = token``); ValueError
    otherwise (a space or line break in it would change the request line)."""
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"{method!r} is not an HTTP method (letters, digits and !#$%&'*+-.^_`|~)")
    return method


def checked_field(name: str, value: str) -> tuple[str, str]:
    """``(name, value)`` when ``name`` is a token (RFC 9110 §5.1) and ``value`` holds no CR,
    LF or NUL (§5.5); ValueError otherwise."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"{name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~)")
    if _LINE_BREAK_OR_NUL.search(value):
        raise ValueError(f"the value of header {name!r} contains a line break or NUL")
    return name, value


_FRAMING_FIELDS = frozenset({"content-length", "transfer-encoding"})
"""The fields that say where a request's body ends (RFC 9112 §6): fetchall sets them."""


def checked_header(name: str, value: str) -> tuple[str, str]:
    """``checked_field``, and ValueError for a framing field (Content-Length,
    Transfer-Encoding): fetchall frames the body itself, and a length given by hand that
    is not the body's makes the server wait for bytes that never come (curl sends it as
    given, and hangs). Host may be given: a virtual host of an address."""
    checked_field(name, value)
    if name.lower() in _FRAMING_FIELDS:
        raise ValueError(
            f"{name} is set by fetchall from the body (none, or -d/--data-binary's): "
            "it cannot be given as a header"
        )
    return name, value


def checked_proxy(url: str) -> str:
    """The proxy URL ``url`` names: without ``://``, ``http://`` is put in front (as curl
    and httpx's proxy variables do); ValueError when it has no host, a port that is not
    1-65535, a scheme httpx cannot use, or whitespace or a control character."""
    text = url if "://" in url else f"http://{url}"
    url = masked(url)
    if re.search(r"[\x00-\x20\x7f]", text):
        raise ValueError(f"proxy {url!r} contains whitespace or a control character")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise ValueError(f"proxy {url!r} is not a URL: {exc}") from exc
    try:
        port = parts.port
    except ValueError:  # not digits, or over 65535
        raise ValueError(f"proxy {url!r}: the port is not a number in 1-65535") from None
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise ValueError(
            f"proxy {url!r}: unsupported scheme {parts.scheme!r} (http, https, socks5 or socks5h)"
        )
    if not parts.hostname:
        raise ValueError(f"proxy {url!r} names no host")
    if port == 0:
        raise ValueError(f"proxy {url!r}: the port is not a number in 1-65535")
    return text


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
    """The request method, as sent: an HTTP token (RFC 9110 §9.1)."""
    headers: tuple[tuple[str, str], ...] = ()
    """(name, value) fields sent with every request, replacing defaults of the same name:
    each name a token, no value with CR, LF or NUL (RFC 9110 §5)."""
    body: bytes | None = None
    """Sent with every request, again on each retry and after a 307 or 308 redirect (not
    after one that turns the method into GET), with Content-Length and, unless ``headers``
    name one, ``Content-Type: application/x-www-form-urlencoded``. The method stays
    ``method`` (the command line implies POST)."""
    user_agent: str | None = None
    """None sends ``fetchall/<version>``; no CR, LF or NUL."""
    http2: bool = False
    """Offer HTTP/2 (needs the ``http2`` extra)."""
    verify: bool = True
    """Verify TLS certificates."""
    cacert: str | None = None
    """A PEM file of certificates to trust instead of the system's."""
    proxy: str | None = None
    """A proxy URL for every request (without a scheme, ``http://`` is assumed; it must name
    a host); None honours the proxy environment variables."""
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
        self._check_request_fields()

    def _check_request_fields(self) -> None:
        """ValueError for a method, field or proxy that would change the request's framing."""
        checked_method(self.method)
        headers = self.headers
        fields = headers.items() if isinstance(headers, Mapping) else headers  # a dict works too
        for name, value in fields:
            checked_header(name, value)
        if self.user_agent is not None:
            checked_field("User-Agent", self.user_agent)
        if self.proxy is not None:
            object.__setattr__(self, "proxy", checked_proxy(self.proxy))

    @property
    def backlog(self) -> int:
        """Lines read but not yet delivered: those in flight, plus the waiting room."""
        waiting = WAITING_PER_PERMIT * self.concurrency if self.per_host else 0
        return self.concurrency + waiting
