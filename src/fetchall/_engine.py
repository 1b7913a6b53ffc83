"""The engine: lines in, results out, at most ``concurrency`` requests in flight.

A task is spawned only once a permit is free, and a permit is given back only when
its result has been taken by the consumer, so tasks, queued results and lines read
ahead are all bounded by the concurrency, never by the length of the input.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fetchall._errors import FetchError, Response
from fetchall._lines import Line, parse_line
from fetchall._observer import NullObserver, Observer
from fetchall._result import Err, Ok, Result
from fetchall._settings import Settings

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome for one input line, with the seconds it took."""

    line: Line
    outcome: Result[Response, FetchError]
    elapsed: float


_Fetch = Callable[[Line, str], Awaitable[Result[Response, FetchError]]]


@dataclass(frozen=True, slots=True)
class _Crash:
    """An unexpected exception (a bug) in the feeder or a task, handed to the consumer."""

    error: Exception


@dataclass(frozen=True, slots=True)
class _InputEnd:
    total: int


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
    async for result in fetch_lines(_api_lines(urls), settings or Settings(), transport, observer):
        yield result


async def fetch_lines(
    lines: AsyncIterable[Line],
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[FetchResult]:
    """Fetch parsed lines with one shared client, yielding results in completion order."""
    from fetchall._fetch import fetch_one, make_client

    watcher = observer or NullObserver()
    async with make_client(settings, transport) as client:

        async def fetch(line: Line, url: str) -> Result[Response, FetchError]:
            return await fetch_one(client, line, url, settings.timeout, watcher)

        async for result in _Run(fetch, settings.concurrency, watcher).results(lines):
            yield result


class _Run:
    """The state of one run: permits, live tasks and the queue of finished results."""

    # A permit is taken before a line is handled and given back once its result is
    # delivered, so at most ``concurrency`` lines are in flight or waiting to be written.

    def __init__(self, fetch: _Fetch, concurrency: int, observer: Observer) -> None:
        self._fetch_one = fetch
        self._observer = observer
        self._permits = asyncio.Semaphore(concurrency)
        self._finished: asyncio.Queue[FetchResult | _Crash | _InputEnd] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    async def results(self, lines: AsyncIterable[Line]) -> AsyncIterator[FetchResult]:
        """Yield each line's result as soon as it is known."""
        feeder = asyncio.create_task(self._feed(lines))
        delivered = 0
        total: int | None = None
        try:
            while total is None or delivered < total:
                item = await self._finished.get()
                match item:
                    case FetchResult():
                        delivered += 1
                        self._permits.release()
                        self._observer.on_finish(item)
                        yield item
                    case _InputEnd(total=count):
                        total = count
                    case _Crash(error=error):
                        raise error
        finally:
            await _cancel([feeder, *self._tasks])

    async def _feed(self, lines: AsyncIterable[Line]) -> None:
        """Read lines and spawn a task for each URL, each only once a permit is free."""
        count = 0
        try:
            async for line in lines:
                await self._permits.acquire()
                count += 1
                match line.url:
                    case Ok(url):
                        task = asyncio.create_task(self._fetch(line, url))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    case Err(error):
                        self._finished.put_nowait(FetchResult(line, Err(error), 0.0))
        except Exception as exc:  # a source that fails mid-read, or a bug: stop the run
            self._finished.put_nowait(_Crash(exc))
            return
        self._observer.on_input_end(count)
        self._finished.put_nowait(_InputEnd(count))

    async def _fetch(self, line: Line, url: str) -> None:
        try:
            self._observer.on_start(line)
            started = time.perf_counter()
            outcome = await self._fetch_one(line, url)
            self._finished.put_nowait(FetchResult(line, outcome, time.perf_counter() - started))
        except Exception as exc:
            self._finished.put_nowait(_Crash(exc))


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
