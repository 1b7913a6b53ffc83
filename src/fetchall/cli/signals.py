"""SIGINT and SIGTERM: the first stops the run gracefully, a second exits at once."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import NoReturn, Protocol

from fetchall._model import StopReason
from fetchall.cli.environment import Environment, say

SIGNAL_REASONS = {signal.SIGINT: StopReason.INTERRUPTED, signal.SIGTERM: StopReason.TERMINATED}
"""The signals that stop a run, and the stop reason each gives."""


class Stoppable(Protocol):
    """What a signal stops (the engine's ``Fetcher``)."""

    @property
    def stopped_by(self) -> StopReason | None:
        """Why it was stopped, or None."""

    def stop(self, reason: StopReason) -> None:
        """Stop for ``reason``."""


class SignalStop:
    """The SIGINT and SIGTERM handler: the first stops the run gracefully (cancelled
    records, summary); a second exits at once, the records written so far being flushed."""

    def __init__(
        self,
        fetcher: Stoppable,
        env: Environment,
        exit_now: Callable[[int], NoReturn] = os._exit,
    ) -> None:
        self._fetcher = fetcher
        self._env = env
        self._exit_now = exit_now

    def __call__(self, signum: signal.Signals) -> None:
        if self._fetcher.stopped_by in SIGNAL_REASONS.values():
            self._exit_now(128 + signum)
        reason = SIGNAL_REASONS[signum]
        say(self._env, f"{reason.description}: cancelling the requests in flight")
        self._fetcher.stop(reason)
