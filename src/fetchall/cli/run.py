"""One run of the command: wire sources, engine, records stream, display and summary
together, run the event loop, and say how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace

from fetchall._engine import Fetcher
from fetchall._input import (
    LineCounts,
    ResumeState,
    Source,
    SourceError,
    close_sources,
    count_lines,
    open_sources,
    read_lines,
    read_resume,
    select_lines,
)
from fetchall._model import Err, FetchResult, Line, SetupError, StopReason
from fetchall._settings import Settings
from fetchall._targets import masked
from fetchall.cli.accounting import account_for
from fetchall.cli.console import stderr_console
from fetchall.cli.descriptors import has_a_reader, raw_writer
from fetchall.cli.environment import Environment, say, tell
from fetchall.cli.escaping import printable_lines
from fetchall.cli.event_loop import loop_factory
from fetchall.cli.plan import Output, Plan, Selection
from fetchall.cli.process import (
    TooFewFiles,
    fit_open_files,
    fresh_line,
    loop_files,
    settle_stderr,
    silence_stdout,
)
from fetchall.cli.progress import ProgressState
from fetchall.cli.records import record_of
from fetchall.cli.signals import SIGNAL_REASONS, WRITE_GRACE_SECONDS, SignalStop
from fetchall.cli.stats import Accounting, RunStats
from fetchall.cli.status import Ending, ExitStatus, Failure, exit_status
from fetchall.cli.stderr import StderrQueue, unstalled
from fetchall.cli.stream import RecordStream
from fetchall.cli.writers import RecordFormat, ScreenWriter, record_format

SCREEN_POLL_SECONDS = 0.05
"""How often records waiting for a stalled display's terminal look again."""


def run(plan: Plan, env: Environment) -> ExitStatus:
    """Fetch every URL of the plan's sources, write the records, and say how it went.

    When stderr has a reader that can stall it, what people are told goes out through a
    ``StderrQueue`` (never waiting on that reader); at the end it waits for the reader as
    long as it takes, unless a signal stopped the run (then ``WRITE_GRACE_SECONDS``) or
    comes during that wait (then no longer: the signal's status)."""
    if not has_a_reader(env.stderr):
        return exit_status(_run(plan, env, None))
    stderr, queue = unstalled(env.stderr, raw_writer(env.stderr.buffer), env.stderr.fileno())
    ending = _run(plan, replace(env, stderr=stderr), queue)
    signalled = ending.stopped_by in SIGNAL_REASONS.values()
    with _giving_up_on(queue) as late_signal:
        queue.drain(WRITE_GRACE_SECONDS if signalled else None)
    if late_signal and ending.stopped_by is None and ending.failure is None:
        ending = replace(ending, stopped_by=SIGNAL_REASONS[late_signal[0]])
    return exit_status(ending)


@contextlib.contextmanager
def _giving_up_on(queue: StderrQueue) -> Iterator[list[signal.Signals]]:
    """While the body runs, SIGINT, SIGTERM and SIGHUP end the wait for stderr's reader (the
    signals that came, listed)."""
    came: list[signal.Signals] = []

    def handle(signum: int, _frame: object) -> None:
        came.append(signal.Signals(signum))
        queue.give_up = True

    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    previous = {signum: signal.signal(signum, handle) for signum in SIGNAL_REASONS}
    try:
        yield came
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(plan: Plan, env: Environment, stderr: StderrQueue | None) -> Ending:
    """The run, and how it ended; ``stderr``: the queue behind ``env.stderr``, if any."""
    selection, output = plan.selection, plan.output
    try:
        resume = _read_resume(selection.resume, env, quiet=output.quiet)
        sources = open_sources(plan.sources, env.stdin)
    except SourceError as exc:
        say(env, str(exc))
        return Ending(failure=Failure.USAGE)
    if env.stdout_closed:  # every record would be lost: fetch nothing
        close_sources(sources)
        say(env, "cannot write the records to stdout: it is closed")
        return Ending(failure=Failure.OUTPUT)
    preamble = b"" if selection.resume is None else fresh_line(selection.resume, env)
    counts = LineCounts()
    lines = select_lines(
        read_lines(sources),
        shard=selection.shard,
        resume=resume,
        unique=selection.unique,
        counts=counts,
    )
    try:
        plan = replace(plan, settings=_fit_open_files(plan.settings, env, quiet=output.quiet))
    except TooFewFiles as exc:
        close_sources(sources)
        say(env, str(exc))
        return Ending(failure=Failure.USAGE)
    format_ = record_format(output.format)
    screen = ScreenWriter(format_) if output.shows_progress(env) and env.same_terminal else None
    if screen is None and format_.header is not None:
        preamble += (format_.header + "\n").encode("utf-8")
    stats = RunStats(max_host_errors=plan.settings.max_host_errors)
    started = time.perf_counter()
    countable = sources if selection == Selection() else None  # a filter changes the count
    try:
        job = _Job(lines, countable, plan, format_, screen, preamble, stats, env, stderr)
        ending = _run_loop(job)
    finally:
        close_sources(sources)
    ending = replace(ending, any_failed=stats.failed > 0)
    if ending.failure is Failure.BROKEN_PIPE:
        silence_stdout(env)
    elif not output.quiet and ending.failure is not Failure.USAGE:
        wall = time.perf_counter() - started
        lines_ = account_for(ending, counts, sources, stats)
        with contextlib.suppress(OSError):  # stderr on a full disk too: the status tells
            _print_summary(stats, wall, lines_, ending.unwritten, output, env)
    settle_stderr(env)
    return ending


def _fit_open_files(settings: Settings, env: Environment, *, quiet: bool) -> Settings:
    """The settings with a concurrency the open-files limit can hold (said once when
    lowered, unless ``quiet``). ``TooFewFiles`` when not even -c 1 fits."""
    fitted = fit_open_files(settings.concurrency, loop_files(loop_factory()))
    if fitted.concurrency == settings.concurrency:
        return settings
    if not quiet:
        say(
            env,
            f"-c {settings.concurrency} lowered to {fitted.concurrency}: "
            f"the open-files limit is {fitted.limit}",
        )
    return replace(settings, concurrency=fitted.concurrency)


@dataclass(frozen=True, slots=True)
class _Job:
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


def _run_loop(job: _Job) -> Ending:
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


async def _fetch_and_write(job: _Job) -> _Written:
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


async def _write_records(fetcher: Fetcher, job: _Job, stream: RecordStream) -> None:
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


def _read_resume(path: str | None, env: Environment, *, quiet: bool) -> ResumeState | None:
    """The earlier run's ok URLs; a missing file is nothing to resume (with a note, unless
    ``quiet``)."""
    if path is None:
        return None
    try:
        state = read_resume(path)
    except FileNotFoundError:
        if not quiet:
            say(env, f"--resume: {path} does not exist yet; nothing to skip")
        return None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if state.malformed and not quiet:
        say(env, f"--resume: skipped {state.malformed:,} malformed line(s) in {path}")
    return state


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


_UNWRAPPED = 100_000
"""The width the summary is laid out in off a terminal: wider than any line it has (a URL
is at most 64 KiB, an input line's limit)."""
_TRAILING_SPACES = re.compile(r"[ ]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)
"""Spaces at a line's end (before any closing escape codes, with ``--progress``)."""


def _print_summary(
    stats: RunStats,
    wall: float,
    lines: Accounting,
    unwritten: int,
    output: Output,
    env: Environment,
) -> None:
    from fetchall.cli.summary import render_summary

    console = stderr_console(output, env)
    if env.stderr_isatty:
        console.print(
            render_summary(stats, wall, lines=lines, unwritten=unwritten, width=console.width)
        )
        return
    # a file or a CI log: URLs whole, and no line cut or folded at a terminal's width
    summary = render_summary(stats, wall, lines=lines, unwritten=unwritten, width=None)
    console.width = _UNWRAPPED
    with console.capture() as captured:  # rich pads table rows to the width
        console.print(summary)
    env.stderr.write(_TRAILING_SPACES.sub(r"\1", captured.get()))
    env.stderr.flush()
