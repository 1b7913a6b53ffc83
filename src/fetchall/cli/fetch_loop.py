"""The run's event loop: fetch every line, write each record as it finishes (to stdout, or
above the live display), stop on a signal or a failure to write, and say how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import traceback
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace

from fetchall._engine import Fetcher
from fetchall._input import Source, SourceError, count_lines
from fetchall._model import Err, FetchResult, Line, SetupError, StopReason
from fetchall._targets import masked
from fetchall.cli.console import stderr_console
from fetchall.cli.descriptors import has_a_reader, raw_writer
from fetchall.cli.environment import Environment, say, tell
from fetchall.cli.escaping import printable_lines
from fetchall.cli.event_loop import loop_factory
from fetchall.cli.plan import Output, Plan
from fetchall.cli.progress import ProgressState
from fetchall.cli.records import record_of
from fetchall.cli.signals import SIGNAL_REASONS, WRITE_GRACE_SECONDS, SignalStop
from fetchall.cli.stats import RunStats
from fetchall.cli.status import Ending, Failure
from fetchall.cli.stderr import StderrQueue
from fetchall.cli.stream import RecordStream
from fetchall.cli.writers import RecordFormat, ScreenWriter

SCREEN_POLL_SECONDS = 0.05
"""How often records waiting for a stalled display's terminal look again."""


@dataclass(frozen=True, slots=True)
class Job:
    """What one run's event loop works with."""

    lines: AsyncIterator[Line]
    countable: list[Source] | None
    """Sources to count ahead for the display's total (None when a filter would skew it)."""
    plan: Plan
    record_format: RecordFormat
    screen: ScreenWriter | None
    """Where records go when stdout is the live display's terminal (else to stdout)."""
    preamble: bytes
    """Bytes for stdout before the first record."""
    stats: RunStats
    env: Environment
    stderr: StderrQueue | None
    """The queue behind ``env.stderr`` when its reader could stall it."""


@dataclass(frozen=True, slots=True)
class _Written:
    """How the fetching and writing ended."""

    stopped_by: StopReason | None
    failure: OSError | None
    """The error that ended the records stream, if one did."""
    unwritten: int
    """Records of finished lines that are not on stdout."""


def run_loop(job: Job) -> Ending:
    """Run the event loop; how it ended."""
    env = job.env
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            written = runner.run(_fetch_and_write(job))
    except KeyboardInterrupt:  # Ctrl-C before the run's own handler was in place
        say(env, "interrupted")
        return Ending(stopped_by=StopReason.INTERRUPTED)
    except BrokenPipeError:  # the reader of stderr went away (the live display forced on)
        return Ending(failure=Failure.BROKEN_PIPE)
    except (SourceError, SetupError) as exc:
        say(env, str(exc))
        return Ending(failure=Failure.USAGE)
    except Exception as exc:
        if job.plan.output.debug:
            _print_traceback(exc, env)
        say(env, f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)")
        return Ending(failure=Failure.INTERNAL)
    return _ending(written, env)


def _ending(written: _Written, env: Environment) -> Ending:
    """How the run ended, given how writing ended; says what went wrong with stdout."""
    ending = Ending(stopped_by=written.stopped_by, unwritten=written.unwritten)
    error = written.failure
    if isinstance(error, BrokenPipeError):
        return replace(ending, failure=Failure.BROKEN_PIPE)
    if error is not None:
        say(env, f"cannot write the records to stdout: {error.strerror or error}")
        return replace(ending, failure=Failure.OUTPUT)
    if written.unwritten:
        say(env, f"stdout was not read in time: {written.unwritten:,} records were not written")
    return ending


async def _fetch_and_write(job: Job) -> _Written:
    """Fetch every line and write each record as it finishes, with the live display when
    it is on. SIGINT, SIGTERM and SIGHUP stop the run gracefully (a second one exits at once);
    a failure to write stops it too."""
    env, settings, output = job.env, job.plan.settings, job.plan.output
    progress = ProgressState(job.stats) if output.shows_progress(env) else None
    loop = asyncio.get_running_loop()
    if progress is not None and job.countable is not None:
        _count_in_background(job.countable, progress, loop)
    stream = RecordStream(
        raw_writer(env.stdout),
        capacity=settings.concurrency,
        loop=loop,
        preamble=job.preamble,
        threaded=has_a_reader(env.stdout),
    )
    display = _display(progress, output, env, job.screen, job.stderr)
    async with Fetcher(settings, observer=progress) as fetcher, display:
        stream.start(on_failure=lambda: fetcher.stop(StopReason.OUTPUT_FAILED))
        on_signal = SignalStop(fetcher, stream, env, job.stderr)
        for signum in SIGNAL_REASONS:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await _write_records(fetcher, job, stream)
        except BaseException:
            stream.hurry(WRITE_GRACE_SECONDS)
            raise
        finally:
            await stream.close()
            for signum in SIGNAL_REASONS:
                loop.remove_signal_handler(signum)
    return _Written(fetcher.stopped_by, stream.failure, stream.unwritten)


async def _write_records(fetcher: Fetcher, job: Job, stream: RecordStream) -> None:
    """Count each result and send its record to ``stream`` (or to the display's screen),
    until the results end or the stream fails."""
    stats, format_, screen, env = job.stats, job.record_format, job.screen, job.env
    output = job.plan.output
    color = output.color and env.stdout_isatty and not env.no_color
    async with contextlib.aclosing(fetcher.results(job.lines)) as results:
        async for result in results:
            if stream.failure is not None:
                return
            stats.add(result)
            if output.debug:
                _show_bug(result, env)
            record = record_of(result)
            if screen is not None:
                screen.write(record)
                if job.stderr is not None and len(screen) >= job.plan.settings.concurrency:
                    await _screen_room(screen, job.stderr, fetcher)
                continue
            line = format_.data(record, color=color)
            if not stream.put(line):
                await stream.send(line)


async def _screen_room(screen: ScreenWriter, stderr: StderrQueue, fetcher: Fetcher) -> None:
    """Wait while the display's terminal takes nothing (stopped by Ctrl-S, or unread) and
    ``-c`` records wait for it, so that memory stays bounded; not after a stop, whose
    cancelled records are at most ``-c``."""
    limit = len(screen)
    while len(screen) >= limit and not stderr.idle and fetcher.stopped_by is None:
        await asyncio.sleep(SCREEN_POLL_SECONDS)


def _show_bug(result: FetchResult, env: Environment) -> None:
    """The traceback of a line's internal error (a bug), on stderr."""
    if isinstance(result.outcome, Err) and result.outcome.error.exception is not None:
        say(env, f"traceback of the internal error of {masked(result.line.text)}:")
        _print_traceback(result.outcome.error.exception, env)


def _print_traceback(exc: BaseException, env: Environment) -> None:
    """``exc``'s traceback for people, ``printable`` (its message may quote a server)."""
    tell(env, printable_lines("".join(traceback.format_exception(exc))))


def _count_in_background(
    sources: list[Source], progress: ProgressState, loop: asyncio.AbstractEventLoop
) -> None:
    """Count the lines of file sources in a daemon thread, so the display can show a total
    and an ETA long before the input is read to its end."""

    def count() -> None:
        total = count_lines(sources)
        if total is not None:
            with contextlib.suppress(RuntimeError):  # the run is over and the loop closed
                loop.call_soon_threadsafe(progress.expect, total)

    threading.Thread(target=count, name="count lines", daemon=True).start()


def _display(
    progress: ProgressState | None,
    output: Output,
    env: Environment,
    screen: ScreenWriter | None,
    stderr: StderrQueue | None,
) -> AbstractAsyncContextManager[None]:
    """The live display around the run (printing ``screen``'s records above it), or
    nothing; it skips a refresh while ``stderr`` has not written the last one."""
    if progress is None:
        return contextlib.nullcontext()
    from fetchall.cli.display import live_display

    ready = (lambda: True) if stderr is None else (lambda: stderr.idle)
    return live_display(stderr_console(output, env), progress, screen, env.route, ready=ready)
