"""One run of the command: wire sources, engine, writer, display and summary together, run
the event loop, and say how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import traceback
from collections.abc import AsyncIterator
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
from fetchall._targets import masked
from fetchall.cli.console import stderr_console
from fetchall.cli.environment import Environment, say
from fetchall.cli.event_loop import loop_factory
from fetchall.cli.plan import Output, Plan, Selection
from fetchall.cli.process import allow_open_files, silence_stdout, start_on_a_fresh_line
from fetchall.cli.progress import ProgressState
from fetchall.cli.records import record_of
from fetchall.cli.signals import SIGNAL_REASONS, SignalStop
from fetchall.cli.stats import Accounting, RunStats
from fetchall.cli.status import Ending, ExitStatus, Failure, exit_status
from fetchall.cli.writers import ScreenWriter, StreamWriter, Writer, record_format

COUNT_SECONDS = 1.0
"""After a stop, the longest time spent counting the lines never read."""
_FAILURE_WORDS = {
    Failure.OUTPUT: "stopped (records could not be written)",
    Failure.INTERNAL: "stopped by an internal error",
}


class _OutputError(Exception):
    """stdout could not be written (other than a closed pipe)."""


def run(plan: Plan, env: Environment) -> ExitStatus:
    """Fetch every URL of the plan's sources, write the records, and say how it went."""
    selection, output = plan.selection, plan.output
    try:
        resume = _read_resume(selection.resume, env, quiet=output.quiet)
        sources = open_sources(plan.sources, env.stdin)
    except SourceError as exc:
        say(env, str(exc))
        return ExitStatus.USAGE
    if selection.resume is not None:
        start_on_a_fresh_line(selection.resume, env)
    counts = LineCounts()
    lines = select_lines(
        read_lines(sources),
        shard=selection.shard,
        resume=resume,
        unique=selection.unique,
        counts=counts,
    )
    allow_open_files(plan.settings.concurrency)
    writer = _writer(output, env)
    stats = RunStats(max_host_errors=plan.settings.max_host_errors)
    started = time.perf_counter()
    countable = sources if selection == Selection() else None  # a filter changes the count
    try:
        ending = _run_loop(_Job(lines, countable, plan, writer, stats, env))
    finally:
        close_sources(sources)
    ending = replace(ending, any_failed=stats.failed > 0)
    if ending.failure is Failure.BROKEN_PIPE:
        silence_stdout(env)
    elif not output.quiet and ending.failure is not Failure.USAGE:
        wall = time.perf_counter() - started
        _print_summary(stats, wall, _accounting(ending, counts, sources, stats), output, env)
    return exit_status(ending)


def _writer(output: Output, env: Environment) -> Writer:
    """Records to stdout; or, when stdout is the terminal the live display is on, to the
    display, which prints them above its area."""
    record_format_ = record_format(output.format)
    if output.shows_progress(env) and env.same_terminal:
        return ScreenWriter(record_format_)
    color = output.color and env.stdout_isatty and not env.no_color
    return StreamWriter(env.stdout, record_format_, color=color)


@dataclass(frozen=True, slots=True)
class _Job:
    """What one run's event loop works with."""

    lines: AsyncIterator[Line]
    countable: list[Source] | None
    """Sources to count ahead for the display's total (None when a filter would skew it)."""
    plan: Plan
    writer: Writer
    stats: RunStats
    env: Environment


def _run_loop(job: _Job) -> Ending:
    """Run the event loop; how it ended."""
    env = job.env
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            stopped_by = runner.run(_fetch_and_write(job))
    except KeyboardInterrupt:  # Ctrl-C before the run's own handler was in place
        say(env, "interrupted")
        return Ending(stopped_by=StopReason.INTERRUPTED)
    except BrokenPipeError:
        return Ending(failure=Failure.BROKEN_PIPE)
    except (SourceError, SetupError) as exc:
        say(env, str(exc))
        return Ending(failure=Failure.USAGE)
    except _OutputError as exc:
        say(env, str(exc))
        return Ending(failure=Failure.OUTPUT)
    except Exception as exc:
        if job.plan.output.debug:
            traceback.print_exc(file=env.stderr)
        say(env, f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)")
        return Ending(failure=Failure.INTERNAL)
    return Ending(stopped_by=stopped_by)


async def _fetch_and_write(job: _Job) -> StopReason | None:
    """Fetch every line and write each record as it finishes, with the live display when
    it is on. SIGINT and SIGTERM stop the run gracefully (a second one exits at once);
    returns what stopped it, if anything."""
    env, writer, stats, output = job.env, job.writer, job.stats, job.plan.output
    progress = ProgressState(stats) if output.shows_progress(env) else None
    loop = asyncio.get_running_loop()
    if progress is not None and job.countable is not None:
        _count_in_background(job.countable, progress, loop)
    screen = job.writer if isinstance(job.writer, ScreenWriter) else None
    display = _display(progress, output, env, screen)
    async with Fetcher(job.plan.settings, observer=progress) as fetcher, display:
        on_signal = SignalStop(fetcher, env)
        for signum in SIGNAL_REASONS:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            async for result in fetcher.results(job.lines):
                stats.add(result)
                if output.debug:
                    _show_bug(result, env)
                try:
                    writer.write(record_of(result))
                except BrokenPipeError:
                    raise
                except OSError as exc:
                    raise _OutputError(f"cannot write the records: {exc.strerror or exc}") from exc
        finally:
            for signum in SIGNAL_REASONS:
                loop.remove_signal_handler(signum)
    return fetcher.stopped_by


def _show_bug(result: FetchResult, env: Environment) -> None:
    """The traceback of a line's internal error (a bug), on stderr."""
    if isinstance(result.outcome, Err) and result.outcome.error.exception is not None:
        say(env, f"traceback of the internal error of {masked(result.line.text)}:")
        traceback.print_exception(result.outcome.error.exception, file=env.stderr)
        env.stderr.flush()


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
    progress: ProgressState | None, output: Output, env: Environment, screen: ScreenWriter | None
) -> AbstractAsyncContextManager[None]:
    """The live display around the run (printing ``screen``'s records above it), or
    nothing."""
    if progress is None:
        return contextlib.nullcontext()
    from fetchall.cli.display import live_display

    return live_display(stderr_console(output, env), progress, screen)


def _accounting(
    ending: Ending, counts: LineCounts, sources: list[Source], stats: RunStats
) -> Accounting:
    """Where the lines without a result went, and why the run was cut short, if it was."""
    if ending.stopped_by is not None:
        stop: str | None = ending.stopped_by.description
    else:
        stop = _FAILURE_WORDS.get(ending.failure) if ending.failure else None
    if stop is None:
        return Accounting(counts)
    total = _count_within(sources, COUNT_SECONDS)
    unread = None if total is None else max(0, total - counts.read)
    fail_fast = ending.stopped_by is StopReason.FAIL_FAST and stats.first_failures
    return Accounting(counts, unread, stop, stats.first_failures[0] if fail_fast else None)


def _count_within(sources: list[Source], seconds: float) -> int | None:
    """The lines of the sources, counted again from the files in a daemon thread; None for
    stdin, or when counting takes longer than ``seconds`` (a stopped run exits soon)."""
    counted: list[int | None] = []
    counter = threading.Thread(
        target=lambda: counted.append(count_lines(sources)), name="count lines", daemon=True
    )
    counter.start()
    counter.join(seconds)
    return counted[0] if counted else None


def _print_summary(
    stats: RunStats, wall: float, lines: Accounting, output: Output, env: Environment
) -> None:
    from fetchall.cli.summary import render_summary

    console = stderr_console(output, env)
    console.print(render_summary(stats, wall, lines=lines, width=console.width))
