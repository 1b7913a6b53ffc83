"""The attempts for one line: wait for the start rates, attempt, keep the body (saved
and/or hashed) when it succeeds, and retry a transient failure after a backoff or the
server's Retry-After."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from fetchall._bodies import BodyWriter, Saver
from fetchall._engine.hosts import Host
from fetchall._engine.observer import Observer
from fetchall._engine.rates import TokenBucket
from fetchall._engine.retry import is_transient, retry_delay
from fetchall._http import HttpClient
from fetchall._model import Err, FetchError, Line, Ok, Phase, Response, Result
from fetchall._settings import Settings


@dataclass(slots=True, eq=False)
class Flight:
    """A line being fetched: its host, when it started, attempts made so far, and where
    its body went. It reports what its attempts receive to the run's observer."""

    line: Line
    url: str
    host: Host | None
    observer: Observer
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    path: str | None = None
    sha256: str | None = None

    def on_phase(self, phase: Phase) -> None:
        """The request entered ``phase``."""
        self.observer.on_phase(self.line, phase)

    def on_headers(self, status: int) -> None:
        """The final response's head arrived."""
        self.observer.on_headers(self.line, status)

    def on_bytes(self, count: int) -> None:
        """Body bytes arrived."""
        self.observer.on_bytes(self.line, count)


class Attempts:
    """Makes the attempts of each flight with the run's client."""

    def __init__(
        self,
        client: HttpClient,
        settings: Settings,
        saver: Saver | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._client = client
        self._settings = settings
        self._saver = saver if settings.method != "HEAD" else None
        self._keeps_bodies = saver is not None or settings.sha256
        self._rate = TokenBucket(settings.rate) if settings.rate else None
        self._loop = loop

    async def run(self, flight: Flight) -> Result[Response, FetchError]:
        """Attempt until success, a lasting failure, or no retries left; the last outcome."""
        settings = self._settings
        while True:
            if self._rate is not None:
                await self._rate.acquire()
            if flight.host is not None and flight.host.bucket is not None:
                await flight.host.bucket.acquire()
            flight.attempts += 1
            flight.observer.on_start(flight.line, flight.attempts)
            outcome = await self._attempt(flight)
            match outcome:
                case Err(error) if flight.attempts <= settings.retries and is_transient(error):
                    delay = retry_delay(error, flight.attempts, settings.max_retry_wait)
                    flight.observer.on_retry_wait(flight.line, flight.attempts + 1, delay)
                    await asyncio.sleep(delay)
                case _:
                    return outcome

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
