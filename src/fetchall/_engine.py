"""The engine: lines in, results out, with bounded concurrency and politeness limits.

Permits, from the outside in:

- the *backlog* (``Settings.backlog``): a line takes one when it is read and gives it
  back when its result is delivered, so lines read ahead, waiting for a busy host,
  in flight or queued for writing are bounded by the concurrency, never by the input;
- the *in-flight* permits (``concurrency``): a task is spawned only once one is free;
- with ``per_host``, a host's slots: a line for a busy host waits in that host's queue
  holding no in-flight permit, and a finishing request hands its permit and slot
  straight to the next line waiting for the same host.

``stop()`` stops reading and starting, cancels what is in flight, and gives each
cancelled line a ``cancelled`` result; lines never started get none.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

from fetchall._errors import ErrorKind, FetchError, Response, SetupError
from fetchall._limits import HostKey, TokenBucket, host_key
from fetchall._lines import Line, parse_line
from fetchall._observer import NullObserver, Observer
from fetchall._result import Err, Ok, Result
from fetchall._retry import is_transient, retry_delay
from fetchall._saving import BodySink, BodyWriteError, Saver
from fetchall._settings import Settings

if TYPE_CHECKING:
    import httpx

_PRUNE_EVERY = 1024
"""Forget idle hosts after this many finished requests."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome for one input line, the seconds it took and the attempts it made.

    ``Ok(None)`` is a line skipped by --skip-existing: its file was already there."""

    line: Line
    outcome: Result[Response | None, FetchError]
    elapsed: float
    attempts: int
    path: str | None = None
    """Where the body was saved (or already was, when skipped)."""
    sha256: str | None = None

    @property
    def skipped(self) -> bool:
        """Whether the line was answered without a request (its file already existed)."""
        return isinstance(self.outcome, Ok) and self.outcome.value is None


@dataclass(slots=True)
class _Host:
    """One host's requests in flight, lines waiting for it, and its start-rate bucket."""

    active: int = 0
    waiting: deque[tuple[Line, str]] = field(default_factory=deque)
    bucket: TokenBucket | None = None

    @property
    def idle(self) -> bool:
        """Nothing in flight or waiting, and no rate history worth keeping."""
        return not self.active and not self.waiting and (self.bucket is None or self.bucket.idle)


@dataclass(slots=True, eq=False)
class _Flight:
    """A line being fetched: its host, when it started, and attempts made so far."""

    line: Line
    url: str
    host: _Host | None
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    path: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class _Crash:
    """An unexpected exception (a bug, or a source that failed mid-read) for the consumer."""

    error: Exception


@dataclass(frozen=True, slots=True)
class _InputEnd:
    total: int


@dataclass(frozen=True, slots=True)
class _Stopped:
    """Every result of the stopped run is queued before this marker."""


_Item = FetchResult | _Crash | _InputEnd | _Stopped
_FetchOne = Callable[[Line, str, BodySink | None], Awaitable[Result[Response, FetchError]]]


class Fetcher:
    """Fetches lines with one shared client; use ``async with`` and then ``results()``."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._settings = settings = settings or Settings()
        self._transport = transport
        self._observer = observer or NullObserver()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog = asyncio.Semaphore(settings.backlog)
        self._in_flight = asyncio.Semaphore(settings.concurrency)
        self._finished: asyncio.Queue[_Item] = asyncio.Queue()
        self._flights: dict[_Flight, asyncio.Task[None]] = {}
        self._hosts: dict[HostKey, _Host] | None = (
            {} if settings.per_host or settings.host_rate else None
        )
        self._rate = TokenBucket(settings.rate) if settings.rate else None
        self._saver: Saver | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._stopped_by: str | None = None
        self._stopped_tasks: list[asyncio.Task[None]] = []
        self._finished_count = 0

    async def __aenter__(self) -> Self:
        from fetchall._fetch import make_client

        self._loop = asyncio.get_running_loop()
        try:
            self._client = make_client(self._settings, self._transport)
        except (ValueError, ImportError, OSError) as exc:  # bad proxy, missing extra, CA file
            raise SetupError(f"cannot set up the HTTP client: {exc}") from exc
        if self._settings.output_dir is not None:
            try:
                self._saver = Saver(self._settings.output_dir)
            except OSError as exc:
                await self._client.aclose()
                raise SetupError(f"cannot use {self._settings.output_dir}: {exc.strerror}") from exc
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
    def stopped_by(self) -> str | None:
        """Why ``stop()`` was called, or None."""
        return self._stopped_by

    async def results(self, lines: AsyncIterable[Line]) -> AsyncIterator[FetchResult]:
        """Yield each line's result as soon as it is known (completion order)."""
        fetch = self._fetch_function()
        self._feeder = asyncio.create_task(self._feed(lines, fetch))
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
                            self.stop("--fail-fast")
                    case _InputEnd(total=count):
                        total = count
                    case _Stopped():
                        return
                    case _Crash(error=error):
                        raise error
        finally:
            await _cancel([self._feeder, *self._flights.values(), *self._stopped_tasks])

    def stop(self, reason: str) -> None:
        """Read and start nothing more; cancel the requests in flight, each with a
        ``cancelled`` result naming ``reason``. Safe to call more than once."""
        if self._stopped_by is not None:
            return
        self._stopped_by = reason
        if self._feeder is not None:
            self._feeder.cancel()
        now = time.perf_counter()
        for flight, task in self._flights.items():
            task.cancel()
            elapsed = now - flight.started
            error = FetchError(ErrorKind.CANCELLED, f"cancelled after {elapsed:.2f}s: {reason}")
            self._finished.put_nowait(
                FetchResult(flight.line, Err(error), elapsed, flight.attempts)
            )
        self._stopped_tasks = list(self._flights.values())  # awaited as results() ends
        self._flights.clear()
        self._finished.put_nowait(_Stopped())

    def _fetch_function(self) -> _FetchOne:
        from fetchall._fetch import fetch_one

        client, settings, observer, loop = self._client, self._settings, self._observer, self._loop
        if client is None:
            raise RuntimeError("use Fetcher inside 'async with'")

        async def fetch(
            line: Line, url: str, sink: BodySink | None
        ) -> Result[Response, FetchError]:
            return await fetch_one(client, line, url, settings, observer, sink, loop=loop)

        return fetch

    async def _feed(self, lines: AsyncIterable[Line], fetch: _FetchOne) -> None:
        """Read lines, answer invalid ones at once, and dispatch the URLs."""
        count = 0
        try:
            async for line in lines:
                await self._backlog.acquire()
                count += 1
                match line.url:
                    case Ok(url):
                        await self._dispatch(line, url, fetch)
                    case Err(error):
                        self._finished.put_nowait(FetchResult(line, Err(error), 0.0, 0))
        except Exception as exc:
            self._finished.put_nowait(_Crash(exc))
            return
        self._observer.on_input_end(count)
        self._finished.put_nowait(_InputEnd(count))

    async def _dispatch(self, line: Line, url: str, fetch: _FetchOne) -> None:
        """Start ``url`` once a permit is free, or queue it behind its busy host; answer
        at once when its file is already there and --skip-existing is on."""
        if self._saver is not None and self._settings.skip_existing:
            path = self._saver.existing(url)
            if path is not None:
                self._finished.put_nowait(FetchResult(line, Ok(None), 0.0, 0, path=path))
                return
        host = self._host(url)
        if host is not None and self._settings.per_host:
            if host.active >= self._settings.per_host:
                host.waiting.append((line, url))
                return
            host.active += 1
        await self._in_flight.acquire()
        self._launch(line, url, host, fetch)

    def _launch(self, line: Line, url: str, host: _Host | None, fetch: _FetchOne) -> None:
        flight = _Flight(line, url, host)
        assert self._loop is not None  # set on entering
        self._flights[flight] = self._loop.create_task(self._fly(flight, fetch))

    async def _fly(self, flight: _Flight, fetch: _FetchOne) -> None:
        """Make the attempts for one line, then queue its result and free its permits."""
        try:
            outcome = await self._attempts(flight, fetch)
        except Exception as exc:
            self._finished.put_nowait(_Crash(exc))
            return
        del self._flights[flight]
        elapsed = time.perf_counter() - flight.started
        result = FetchResult(
            flight.line, outcome, elapsed, flight.attempts, flight.path, flight.sha256
        )
        self._finished.put_nowait(result)
        self._hand_on(flight.host, fetch)

    async def _attempts(self, flight: _Flight, fetch: _FetchOne) -> Result[Response, FetchError]:
        """Attempt, and retry transient failures after a backoff or the server's Retry-After."""
        settings = self._settings
        while True:
            if self._rate is not None:
                await self._rate.acquire()
            if flight.host is not None and flight.host.bucket is not None:
                await flight.host.bucket.acquire()
            flight.attempts += 1
            self._observer.on_start(flight.line, flight.attempts)
            outcome = await self._attempt(flight, fetch)
            match outcome:
                case Err(error) if flight.attempts <= settings.retries and is_transient(error):
                    await asyncio.sleep(
                        retry_delay(error, flight.attempts, settings.max_retry_wait)
                    )
                case _:
                    return outcome

    async def _attempt(self, flight: _Flight, fetch: _FetchOne) -> Result[Response, FetchError]:
        """One attempt, its body saved and/or hashed when asked; a body that is not kept
        (failure, cancellation) leaves no file behind."""
        settings = self._settings
        if self._saver is None and not settings.sha256:
            return await fetch(flight.line, flight.url, None)
        save = self._saver if settings.method != "HEAD" else None
        sink = BodySink(save, flight.url, digest=settings.sha256)
        try:
            outcome = await fetch(flight.line, flight.url, sink)
            if isinstance(outcome, Ok):
                try:
                    flight.path, flight.sha256 = sink.commit()
                except BodyWriteError as exc:
                    return Err(FetchError(ErrorKind.WRITE, str(exc), outcome.value))
            return outcome
        finally:
            sink.discard()

    def _hand_on(self, host: _Host | None, fetch: _FetchOne) -> None:
        """Give a finished request's permit and host slot to the next line waiting for
        that host, or free them."""
        if host is not None and self._settings.per_host:
            if host.waiting and self._stopped_by is None:
                line, url = host.waiting.popleft()
                self._launch(line, url, host, fetch)
                return
            host.active -= 1
        self._in_flight.release()
        self._finished_count += 1
        if self._hosts is not None and self._finished_count % _PRUNE_EVERY == 0:
            self._hosts = {key: state for key, state in self._hosts.items() if not state.idle}

    def _host(self, url: str) -> _Host | None:
        if self._hosts is None:
            return None
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            rate = self._settings.host_rate
            host = self._hosts[key] = _Host(bucket=TokenBucket(rate) if rate else None)
        return host


async def fetch_all(
    urls: Iterable[str] | AsyncIterable[str],
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[FetchResult]:
    """Fetch every URL, yielding one result per non-blank, non-comment entry as it finishes.

    Entries are parsed like input lines (``https://`` added when no scheme is given);
    their ``source`` is ``<api>:N``.
    """
    async with Fetcher(settings, transport=transport, observer=observer) as fetcher:
        async for result in fetcher.results(_api_lines(urls)):
            yield result


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel what is still running and wait until it has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _api_lines(urls: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[Line]:
    number = 0
    async for text in _aiter(urls):
        number += 1
        line = parse_line(text.encode("utf-8", "surrogateescape"), f"<api>:{number}")
        if line is not None:
            yield line


async def _aiter(items: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
