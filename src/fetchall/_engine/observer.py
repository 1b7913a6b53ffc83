"""The events the engine reports while it runs, for displays that show progress."""

from __future__ import annotations

from typing import Protocol

from fetchall._model import FetchResult, Line, Phase


class Observer(Protocol):
    """Receives progress events; implementations only update counters (no I/O, no rendering)."""

    def on_start(self, line: Line, attempt: int) -> None:
        """Attempt number ``attempt`` (from 1) for ``line`` is about to be sent."""

    def on_phase(self, line: Line, phase: Phase) -> None:
        """A request for ``line`` entered ``phase`` (resolving, connecting, tls, waiting,
        receiving; on fetchall's transport and httpx's, not on a mock transport)."""

    def on_headers(self, line: Line, status: int) -> None:
        """The response headers for ``line`` arrived."""

    def on_retry_wait(self, line: Line, attempt: int, seconds: float) -> None:
        """Attempt number ``attempt`` for ``line`` starts after a wait of ``seconds``."""

    def on_bytes(self, line: Line, count: int) -> None:
        """``count`` more body bytes (after content decoding) arrived for ``line``."""

    def on_finish(self, result: FetchResult) -> None:
        """A line has its result (fetched or invalid)."""

    def on_input_end(self, total: int) -> None:
        """The input is read to its end: ``total`` lines will have results."""


class NullObserver:
    """An observer that ignores every event (no display)."""

    def on_start(self, line: Line, attempt: int) -> None:
        """Ignore."""

    def on_phase(self, line: Line, phase: Phase) -> None:
        """Ignore."""

    def on_headers(self, line: Line, status: int) -> None:
        """Ignore."""

    def on_retry_wait(self, line: Line, attempt: int, seconds: float) -> None:
        """Ignore."""

    def on_bytes(self, line: Line, count: int) -> None:
        """Ignore."""

    def on_finish(self, result: FetchResult) -> None:
        """Ignore."""

    def on_input_end(self, total: int) -> None:
        """Ignore."""
