"""The attempts for one line: wait for the start rates, attempt, keep the body (saved
and/or hashed) when it succeeds, and retry a transient failure after a backoff or the
server's Retry-After; none more once the line's host is given up on (``host_errors``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fetchall._bodies import BodyWriter, Saver
from fetchall._engine.host_errors import GivenUp, HostErrors
from fetchall._engine.hosts import Host
from fetchall._engine.observer import Observer
from fetchall._engine.rates import TokenBucket
from fetchall._engine.retry import is_transient, retry_delay
from fetchall._http import HttpClient
from fetchall._model import Err, FetchError, Line, Ok, Phase, Response, Result
from fetchall._origin import Origin
from fetchall._settings import Settings


def _unknown() -> Response | None:
    """Nothing is known of a response: no attempt in flight."""
    return None


@dataclass(slots=True, eq=False)
class Flight:
    """A line being fetched: its host, when its first attempt started, attempts made so
    far, and where its body went. It reports what its attempts receive to the run's
    observer."""

    line: Line
    url: str
    host: Host | None
    observer: Observer
    started: float | None = None
    """``time.perf_counter()`` when the first attempt started (after the start rates):
    README's ``elapsed`` runs "from the start of the request"; None before."""
    attempts: int = 0
    path: str | None = None
    sha256: str | None = None
    known: Callable[[], Response | None] = field(default=_unknown, repr=False)
    """What is known of the latest attempt's response (for a ``cancelled`` result)."""
    _origin: Origin | None = field(default=None, init=False, repr=False)

    @property
    def origin(self) -> Origin:
        """The origin (scheme, host, port) of the line's URL, parsed on first use."""
        if self._origin is None:
            self._origin = Origin.of(self.url)
        return self._origin

    def elapsed(self, now: float) -> float:
        """Seconds from the first attempt's start to ``now``; 0.0 when none started (a
        line waiting for a rate token or refused before its first attempt)."""
        return 0.0 if self.started is None else now - self.started

    def on_phase(self, phase: Phase) -> None:
        """The request entered ``phase``."""
        self.observer.on_phase(self.line, phase)

    def on_headers(self, status: int) -> None:
        """The final response's head arrived."""
        self.observer.on_headers(self.line, status)

    def on_bytes(self, count: int) -> None:
        """Body bytes arrived."""
        self.observer.on_bytes(self.line, count)

    def on_attempt(self, known: Callable[[], Response | None]) -> None:
        """An attempt began; ``known()`` says what is known of its response."""
        self.known = known


class Attempts:
    """Makes the attempts of each flight with the run's client."""

    def __init__(
        self,
        client: HttpClient,
        settings: Settings,
        saver: Saver | None,
        loop: asyncio.AbstractEventLoop,
        host_errors: HostErrors,
    ) -> None:
        self._client = client
        self._settings = settings
        self._saver = saver if settings.method != "HEAD" else None
        self._keeps_bodies = saver is not None or settings.sha256
        self._rate = TokenBucket(settings.rate) if settings.rate else None
        self._loop = loop
        self._host_errors = host_errors

    async def run(self, flight: Flight) -> Result[Response, FetchError]:
        """Attempt until success, a lasting failure, or no retries left; the last outcome.
        A line whose host is given up on before its first attempt gets the refusal (no
        attempt made); before a retry, its last failure, saying it was not retried."""
        settings = self._settings
        given_up = await self._start(flight)
        if given_up is not None:
            return Err(given_up.error)
        while True:
            outcome = await self._attempt(flight)
            flight.known = _unknown  # it and its trace held the flight in a cycle
            self._host_errors.record(flight, outcome)
            match outcome:
                case Err(error) if flight.attempts <= settings.retries and is_transient(error):
                    given_up = await self._retry(flight, error)
                    if given_up is not None:
                        return Err(given_up.not_retried(error))
                case _:
                    return outcome

    async def _retry(self, flight: Flight, error: FetchError) -> GivenUp | None:
        """Wait before the next attempt after ``error`` and start it; or why not, when the
        line's host is given up on before or after the wait."""
        given_up = self._refusal(flight)
        if given_up is not None:
            return given_up
        delay = retry_delay(error, flight.attempts, self._settings.max_retry_wait)
        flight.observer.on_retry_wait(flight.line, flight.attempts + 1, delay)
        await asyncio.sleep(delay)
        return await self._start(flight)

    async def _start(self, flight: Flight) -> GivenUp | None:
        """Wait for the start rates, then count and announce the next attempt; or, when the
        line's host is given up on by then, why not (and make none). The line's ``elapsed``
        starts with its first attempt: the wait for a first token is not in it (README:
        "from the start of the request"), the waits before a retry are ("the waits")."""
        if self._rate is not None:
            await self._rate.acquire()
        if flight.host is not None and flight.host.bucket is not None:
            await flight.host.bucket.acquire()
        given_up = self._refusal(flight)
        if given_up is None:
            if flight.started is None:
                flight.started = time.perf_counter()
            flight.attempts += 1
            flight.observer.on_start(flight.line, flight.attempts)
        return given_up

    def _refusal(self, flight: Flight) -> GivenUp | None:
        host_errors = self._host_errors
        return host_errors.refusal(flight.origin) if host_errors.giving_up else None

    async def _attempt(self, flight: Flight) -> Result[Response, FetchError]:
        """One attempt, its body saved and/or hashed when asked; a body that is not kept
        (failure, cancellation) leaves no file behind."""
        assumed = flight.line.https_assumed
        if not self._keeps_bodies:
            return await self._client.attempt(
                flight.url, flight, loop=self._loop, https_assumed=assumed
            )
        body = BodyWriter(self._saver, flight.url, digest=self._settings.sha256)
        try:
            outcome = await self._client.attempt(
                flight.url, flight, body, loop=self._loop, https_assumed=assumed
            )
            if isinstance(outcome, Ok):
                flight.path, flight.sha256 = body.path, body.sha256
            return outcome
        finally:
            body.discard()
