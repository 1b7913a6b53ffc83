"""The frozen settings of one run, built once by the CLI (or by an API caller)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONCURRENCY = 16
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class Settings:
    """How to fetch: how many at once, and how long to wait."""

    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    """Hard deadline in seconds for one URL: connect, headers and body together."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
