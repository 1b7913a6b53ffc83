"""SIGINT, SIGTERM and SIGHUP: the first stops the run gracefully; a second within
``REPEAT_WINDOW_SECONDS`` is the same signal sent again (GNU ``timeout`` signals the child,
then its whole process group), a later one exits at once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import NoReturn, Protocol

from fetchall._model import StopReason
from fetchall.cli.environment import Environment, say
from fetchall.cli.stderr import StderrQueue

SIGNAL_REASONS = {
    signal.SIGINT: StopReason.INTERRUPTED,
    signal.SIGTERM: StopReason.TERMINATED,
    signal.SIGHUP: StopReason.HANGUP,
}
"""The signals that stop a run, and the stop reason each gives. SIGQUIT, SIGUSR1 and
SIGUSR2 keep their default actions (quit with a core dump, terminate), as with curl."""

WRITE_GRACE_SECONDS = 0.5
"""After a signal, how long the records still to be written may wait for stdout's reader;
what is not written by then is dropped, so the run ends within a second either way."""

REPEAT_WINDOW_SECONDS = 1.0
"""A stopping signal this soon after the first is taken as the same one (it changes
nothing); a person's second Ctrl-C comes later and exits at once."""

EXIT_NOTICE_SECONDS = 0.1
"""On a second signal, how long the last words may wait for stderr's reader."""


class Stoppable(Protocol):
    """What a signal stops (the engine's ``Fetcher``)."""

    @property
    def stopped_by(self) -> StopReason | None:
        """Why it was stopped, or None."""

    def stop(self, reason: StopReason) -> None:
        """Stop for ``reason``."""

    def remove_temporary_files(self) -> None:
        """Remove the temporary files of bodies being written."""


class Hurriable(Protocol):
    """What a signal hurries (the ``RecordStream``)."""

    @property
    def unwritten(self) -> int:
        """Records not written yet."""

    def hurry(self, seconds: float) -> None:
        """Wait at most ``seconds`` more for the reader."""


class SignalStop:
    """The SIGINT, SIGTERM and SIGHUP handler: the first stops the run gracefully (cancelled
    records, summary) and gives the records still to be written ``WRITE_GRACE_SECONDS``;
    another within ``REPEAT_WINDOW_SECONDS`` of the first is ignored; one after that
    removes the bodies' temporary files and exits at once, saying how many records were
    not written. ``clock`` gives seconds (``time.monotonic``)."""

    def __init__(
        self,
        fetcher: Stoppable,
        records: Hurriable,
        env: Environment,
        stderr: StderrQueue | None = None,
        exit_now: Callable[[int], NoReturn] = os._exit,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``stderr``: the queue behind ``env.stderr`` when its reader could stall it."""
        self._fetcher = fetcher
        self._records = records
        self._env = env
        self._stderr = stderr
        self._exit_now = exit_now
        self._clock = clock
        self._first: float | None = None
        """When the first signal came (``clock`` seconds)."""

    def __call__(self, signum: signal.Signals) -> None:
        now = self._clock()
        if self._first is not None and now - self._first < REPEAT_WINDOW_SECONDS:
            return  # the same signal again (GNU timeout sends it twice)
        if self._first is None:
            self._first = now
        if self._fetcher.stopped_by in SIGNAL_REASONS.values():
            self._fetcher.remove_temporary_files()
            unwritten = self._records.unwritten
            if unwritten:
                say(self._env, f"exiting at once: {unwritten:,} records were not written")
            if self._stderr is not None:
                self._stderr.drain(EXIT_NOTICE_SECONDS)
            self._exit_now(128 + signum)
        reason = SIGNAL_REASONS[signum]
        say(self._env, f"{reason.description}: cancelling the requests in flight")
        self._fetcher.stop(reason)
        self._records.hurry(WRITE_GRACE_SECONDS)
