"""The scheduler: lines in, results out, with bounded concurrency.

Permits, from the outside in:

- the *backlog* (``Settings.backlog``): a line takes one when it is read and gives it
  back when its result is delivered, so lines read ahead, waiting for a busy host,
  in flight or queued for writing are bounded by the concurrency, never by the input;
- the *in-flight* permits (``concurrency``): a task is spawned only once one is free;
- with ``per_host``, a host's slots (see ``hosts``).

A line whose host is given up on (``host_errors``, ``--max-host-errors``) fails at once
when it is read, taking no permit; one already past that point (waiting for a permit, or
for its host's slot) fails without an attempt when it would start (``attempts``).

``stop()`` stops reading and starting, cancels what is in flight, and gives each
cancelled line a ``cancelled`` result; lines never started get none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from fetchall._bodies import Saver
from fetchall._engine.attempts import Attempts, Flight
from fetchall._engine.entries import Entries, lines_of
from fetchall._engine.host_errors import HostErrors
from fetchall._engine.hosts import Host, HostGate
from fetchall._engine.observer import NullObserver, Observer
from fetchall._http import HttpClient, Resolver, Transport
from fetchall._model import (
    Err,
    ErrorKind,
    FetchError,
    FetchResult,
    Line,
    Ok,
    SetupError,
    StopReason,
)
from fetchall._origin import Origin
from fetchall._settings import Settings
from fetchall._targets import masked


@dataclass(frozen=True, slots=True)
class _Crash:
    """An exception outside any line's attempts (a source that failed mid-read, or a bug
    in reading lines) for the consumer: it ends the run."""

    error: Exception


@dataclass(frozen=True, slots=True)
class _InputEnd:
    total: int


@dataclass(frozen=True, slots=True)
class _Stopped:
    """Every result of the stopped run is queued before this marker."""


_Item = FetchResult | _Crash | _InputEnd | _Stopped


class Fetcher:
    """Fetches lines with one shared client: ``async with Fetcher(settings) as fetcher:``,
    then ``async for result in fetcher.results(urls)`` once (``urls``: see ``results``).

    Entering raises ``SetupError`` when the settings cannot make a client or the output
    folder cannot be made; nothing is fetched then."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: Transport | None = None,
        observer: Observer | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._settings = settings = settings or Settings()
        self._transport = transport
        self._resolver = resolver
        self._observer = observer or NullObserver()
        self._client: HttpClient | None = None
        self._attempts: Attempts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog = asyncio.Semaphore(settings.backlog)
        self._in_flight = asyncio.Semaphore(settings.concurrency)
        self._finished: asyncio.Queue[_Item] = asyncio.Queue()
        self._flights: dict[Flight, asyncio.Task[None]] = {}
        self._gate = HostGate(settings.per_host, settings.host_rate)
        self._host_errors = HostErrors(settings.max_host_errors)
        self._saver: Saver | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._stopped_by: StopReason | None = None
        self._stopped_tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._client = HttpClient(self._settings, self._transport, self._resolver)
        if self._settings.output_dir is not None:
            try:
                self._saver = Saver(self._settings.output_dir)
            except OSError as exc:
                await self._client.aclose()
                raise SetupError(f"cannot use {self._settings.output_dir}: {exc.strerror}") from exc
        self._attempts = Attempts(
            self._client, self._settings, self._saver, self._loop, self._host_errors
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()

    @property
    def stopped_by(self) -> StopReason | None:
        """Why ``stop()`` was called, or None."""
        return self._stopped_by

    def remove_temporary_files(self) -> None:
        """Remove the temporary files of the bodies being written (for a process about to
        exit at once, whose requests will not end and clean up themselves)."""
        if self._saver is not None:
            self._saver.remove_temporaries()

    async def results(self, entries: Entries) -> AsyncGenerator[FetchResult, None]:
        """Yield one result for each non-blank, non-comment entry as soon as it is known
        (completion order). ``entries``: an iterable or async iterable of URLs as text
        (parsed like input lines: ``https://`` put in front when no scheme is given; their
        ``source`` is ``<api>:N``, N counting entries from 1) and/or ``Line`` values.

        Call it once, inside ``async with`` (RuntimeError otherwise). TypeError for one
        string or bytes given in place of an iterable of them. An exception raised while
        reading the entries (by their source, or TypeError for an entry that is neither
        ``str`` nor ``Line``) is raised here as soon as it is read, ending the run (the
        requests in flight are cancelled, without results)."""
        if self._attempts is None:
            raise RuntimeError("use Fetcher inside 'async with'")
        if isinstance(entries, str | bytes):
            raise TypeError("results() takes an iterable of URLs, not one string")
        self._feeder = asyncio.create_task(self._feed(entries))
        delivered = 0
        total: int | None = None
        try:
            while total is None or delivered < total:
                item = await self._finished.get()
                match item:
                    case FetchResult():
                        delivered += 1
                        self._backlog.release()
                        self._observer.on_finish(item)
                        yield item
                        if self._settings.fail_fast and isinstance(item.outcome, Err):
                            self.stop(StopReason.FAIL_FAST)
                    case _InputEnd(total=count):
                        total = count
                    case _Stopped():
                        return
                    case _Crash(error=error):
                        raise error
        finally:
            await _cancel([self._feeder, *self._flights.values(), *self._stopped_tasks])

    def stop(self, reason: StopReason) -> None:
        """Read and start nothing more; cancel the requests in flight, each with a
        ``cancelled`` result naming ``reason``. Safe to call more than once (the first
        reason stays)."""
        if self._stopped_by is not None:
            return
        self._stopped_by = reason
        if self._feeder is not None:
            self._feeder.cancel()
        now = time.perf_counter()
        for flight, task in self._flights.items():
            task.cancel()
            elapsed = flight.elapsed(now)
            when = "before it started" if flight.started is None else f"after {elapsed:.2f}s"
            message = f"cancelled {when}: {reason.description}"
            error = FetchError(ErrorKind.CANCELLED, message, flight.known())
            self._finished.put_nowait(
                FetchResult(flight.line, Err(error), elapsed, flight.attempts)
            )
        self._stopped_tasks = list(self._flights.values())  # awaited as results() ends
        self._flights.clear()
        self._finished.put_nowait(_Stopped())

    async def _feed(self, entries: Entries) -> None:
        """Read entries, answer invalid ones at once, and dispatch the URLs."""
        count = 0
        try:
            async for line in lines_of(entries):
                await self._backlog.acquire()
                count += 1
                match line.url:
                    case Ok(url):
                        await self._dispatch(line, url)
                    case Err(error):
                        self._finished.put_nowait(FetchResult(line, Err(error), 0.0, 0))
        except Exception as exc:
            self._finished.put_nowait(_Crash(exc))
            return
        self._observer.on_input_end(count)
        self._finished.put_nowait(_InputEnd(count))

    async def _dispatch(self, line: Line, url: str) -> None:
        """Start ``url`` once a permit is free, or queue it behind its busy host; answer
        at once when its file is already there and skip-existing is on, or when its host
        is given up on."""
        if self._saver is not None and self._settings.skip_existing:
            path = self._saver.existing(url)
            if path is not None:
                self._finished.put_nowait(FetchResult(line, Ok(None), 0.0, 0, path=path))
                return
        if self._refused(line, url):
            return
        host = self._gate.host(url)
        if self._gate.enter(host, line, url):
            await self._in_flight.acquire()
            self._launch(line, url, host)

    def _launch(self, line: Line, url: str, host: Host | None) -> None:
        flight = Flight(line, url, host, self._observer)
        assert self._loop is not None  # set on entering
        self._flights[flight] = self._loop.create_task(self._fly(flight))

    async def _fly(self, flight: Flight) -> None:
        """Make the attempts for one line, then queue its result and free its permits
        (or hand them to the next line waiting for the same host)."""
        assert self._attempts is not None  # set on entering
        try:
            outcome = await self._attempts.run(flight)
        except Exception as exc:  # a bug: this line's record, never the end of the run
            outcome = Err(_internal_error(exc))
        del self._flights[flight]
        elapsed = flight.elapsed(time.perf_counter())
        result = FetchResult(
            flight.line, outcome, elapsed, flight.attempts, flight.path, flight.sha256
        )
        self._finished.put_nowait(result)
        waiting = self._gate.leave(flight.host, hand_on=self._stopped_by is None)
        if waiting is not None:
            self._launch(*waiting, flight.host)
        else:
            self._in_flight.release()

    def _refused(self, line: Line, url: str) -> bool:
        """Give the line its result at once (no attempt) when its host is given up on."""
        if not self._host_errors.giving_up:
            return False
        given_up = self._host_errors.refusal(Origin.of(url))
        if given_up is not None:
            self._finished.put_nowait(FetchResult(line, Err(given_up.error), 0.0, 0))
        return given_up is not None


_MAX_WORDS = 300
"""Characters of an exception's message kept in an internal error's."""


def _internal_error(exc: Exception) -> FetchError:
    """The ``internal`` error of a line whose attempts met a bug: the exception's type and
    words (a password in a URL masked), and the exception for ``--debug``."""
    words = masked(str(exc))[:_MAX_WORDS]
    message = f"internal error: {type(exc).__name__}{': ' if words else ''}{words}"
    message += " (a bug in fetchall; --debug shows the traceback)"
    return FetchError(ErrorKind.INTERNAL, message, exception=exc)


async def fetch_all(
    urls: Iterable[str] | AsyncIterable[str],
    settings: Settings | None = None,
    *,
    transport: Transport | None = None,
    observer: Observer | None = None,
    resolver: Resolver | None = None,
) -> AsyncIterator[FetchResult]:
    """Fetch every URL, yielding one result per non-blank, non-comment entry as it finishes.

    Entries are parsed like input lines (``https://`` added when no scheme is given);
    their ``source`` is ``<api>:N``; blank and ``#`` entries get no result (see
    ``Fetcher.results`` for the errors). ``resolver`` resolves host names (and a proxy's)
    for fetchall's transport and httpx's own (the system's resolver, cached, by default;
    a ``transport`` passed in resolves by itself). Raises ``SetupError`` before any fetch
    when the settings cannot make a client or an output folder."""
    async with Fetcher(
        settings, transport=transport, observer=observer, resolver=resolver
    ) as fetcher:
        async for result in fetcher.results(urls):
            yield result


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel what is still running and wait until it has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
