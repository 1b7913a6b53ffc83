"""One run of the command: wire sources, engine, writer and summary together, run the
event loop, and turn how it ended into an exit status."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, NoReturn, TextIO

from fetchall._engine import Fetcher
from fetchall._errors import SetupError
from fetchall._event_loop import loop_factory
from fetchall._lines import Line
from fetchall._progress import ProgressState
from fetchall._records import record_of
from fetchall._selection import ResumeState, Shard, read_resume, select_lines
from fetchall._settings import Settings
from fetchall._sources import (
    Source,
    SourceError,
    close_sources,
    count_lines,
    open_sources,
    read_lines,
)
from fetchall._stats import RunStats
from fetchall._status import ExitStatus
from fetchall._writers import OutputFormat, Writer, make_writer

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True, slots=True)
class Environment:
    """The process streams and what is known of them, passed down instead of read from sys."""

    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    stdin_isatty: bool
    stdout_isatty: bool
    stderr_isatty: bool
    no_color: bool
    """True when the NO_COLOR environment variable is set and not empty."""

    @classmethod
    def from_process(cls) -> Environment:
        """The environment of this process."""
        return cls(
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr,
            stdin_isatty=sys.stdin.isatty(),
            stdout_isatty=sys.stdout.isatty(),
            stderr_isatty=sys.stderr.isatty(),
            no_color=bool(os.environ.get("NO_COLOR")),
        )


@dataclass(frozen=True, slots=True)
class Output:
    """How results are shown: record format, quietness, colour, progress and debugging."""

    format: OutputFormat = OutputFormat.TEXT
    quiet: bool = False
    color: bool = True
    progress: bool | None = None
    """The live display: None shows it when stderr is a terminal and not quiet."""
    debug: bool = False

    def shows_progress(self, env: Environment) -> bool:
        """Whether the live display runs."""
        if self.progress is not None:
            return self.progress
        return env.stderr_isatty and not self.quiet


@dataclass(frozen=True, slots=True)
class Selection:
    """Which lines to handle: a shard, lines not done in an earlier run, distinct URLs."""

    shard: Shard | None = None
    resume: str | None = None
    """An earlier run's jsonl output."""
    unique: bool = False


_SPARE_FILES = 64
"""Descriptors beyond one per connection: sources, stdio, the event loop, DNS."""


class _OutputError(Exception):
    """stdout could not be written (other than a closed pipe)."""


_SIGNAL_REASON = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
_SIGNAL_STATUS = {"interrupted": ExitStatus.INTERRUPTED, "terminated": ExitStatus.TERMINATED}


def run(
    names: Sequence[str],
    settings: Settings,
    output: Output,
    env: Environment,
    selection: Selection | None = None,
) -> ExitStatus:
    """Fetch every URL of the named sources, write the records, and say how it went."""
    selection = selection or Selection()
    try:
        resume = _read_resume(selection.resume, env)
        sources = open_sources(names, env.stdin)
    except SourceError as exc:
        _say(env, str(exc))
        return ExitStatus.USAGE
    if selection.resume is not None:
        _start_on_a_fresh_line(selection.resume, env)
    lines = select_lines(
        read_lines(sources), shard=selection.shard, resume=resume, unique=selection.unique
    )
    _allow_open_files(settings.concurrency)
    color = output.color and env.stdout_isatty and not env.no_color
    writer = make_writer(output.format, env.stdout, color=color, quiet=output.quiet)
    stats = RunStats()
    started = time.perf_counter()
    try:
        countable = sources if selection == Selection() else None  # a filter changes the count
        status = _run_loop(_Job(lines, countable, settings, writer, stats, output, env))
    finally:
        close_sources(sources)
    if status is ExitStatus.BROKEN_PIPE:
        _silence_stdout(env)
        return status
    if not output.quiet and status is not ExitStatus.USAGE:
        interrupted = status in (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED)
        _print_summary(stats, time.perf_counter() - started, interrupted, output, env)
    if status is ExitStatus.OK and stats.failed:
        return ExitStatus.FAILED
    return status


@dataclass(frozen=True, slots=True)
class _Job:
    """What one run's event loop works with."""

    lines: AsyncIterator[Line]
    countable: list[Source] | None
    """Sources to count ahead for the display's total (None when a filter would skew it)."""
    settings: Settings
    writer: Writer
    stats: RunStats
    output: Output
    env: Environment


def _run_loop(job: _Job) -> ExitStatus:
    """Run the event loop and map how it ended to a status."""
    env, output = job.env, job.output
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            stopped_by = runner.run(_fetch_and_write(job))
    except KeyboardInterrupt:  # Ctrl-C before the run's own handler was in place
        _say(env, "interrupted")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.BROKEN_PIPE
    except (SourceError, SetupError) as exc:
        _say(env, str(exc))
        return ExitStatus.USAGE
    except _OutputError as exc:
        _say(env, str(exc))
        return ExitStatus.FAILED
    except Exception as exc:
        if output.debug:
            traceback.print_exc(file=env.stderr)
        _say(env, f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)")
        return ExitStatus.INTERNAL
    return _SIGNAL_STATUS.get(stopped_by or "", ExitStatus.OK)


async def _fetch_and_write(job: _Job) -> str | None:
    """Fetch every line and write each record as it finishes, with the live display when
    it is on. SIGINT and SIGTERM stop the run gracefully (a second one exits at once);
    returns what stopped it, if anything."""
    env, writer, stats = job.env, job.writer, job.stats
    progress = ProgressState() if job.output.shows_progress(env) else None
    loop = asyncio.get_running_loop()
    if progress is not None and job.countable is not None:
        _count_in_background(job.countable, progress, loop)
    display = _display(progress, job.output, env)
    async with Fetcher(job.settings, observer=progress) as fetcher, display:
        on_signal = SignalStop(fetcher, env)
        for signum in _SIGNAL_REASON:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            async for result in fetcher.results(job.lines):
                stats.add(result)
                try:
                    writer.write(record_of(result))
                except BrokenPipeError:
                    raise
                except OSError as exc:
                    raise _OutputError(f"cannot write the records: {exc.strerror or exc}") from exc
        finally:
            for signum in _SIGNAL_REASON:
                loop.remove_signal_handler(signum)
    return fetcher.stopped_by


def _read_resume(path: str | None, env: Environment) -> ResumeState | None:
    """The earlier run's ok URLs; a missing file is nothing to resume (with a note)."""
    if path is None:
        return None
    try:
        state = read_resume(path)
    except FileNotFoundError:
        _say(env, f"--resume: {path} does not exist yet; nothing to skip")
        return None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if state.malformed:
        _say(env, f"--resume: skipped {state.malformed:,} malformed line(s) in {path}")
    return state


def _start_on_a_fresh_line(resume: str, env: Environment) -> None:
    """When stdout appends to the --resume file and a killed run left its last record
    cut short, start with a newline so the first new record is not glued onto it."""
    try:
        out, previous = os.fstat(env.stdout.fileno()), os.stat(resume)
        if (out.st_dev, out.st_ino) != (previous.st_dev, previous.st_ino) or not out.st_size:
            return
        with open(resume, "rb") as file:
            file.seek(-1, os.SEEK_END)
            if file.read(1) != b"\n":
                env.stdout.write(b"\n")
                env.stdout.flush()
    except (OSError, ValueError):  # not a file, or an in-memory stream in tests
        return


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
    progress: ProgressState | None, output: Output, env: Environment
) -> AbstractAsyncContextManager[None]:
    """The live display around the run, or nothing."""
    if progress is None:
        return contextlib.nullcontext()
    from fetchall._display import live_display

    return live_display(_stderr_console(output, env), progress)


def _print_summary(
    stats: RunStats, wall: float, interrupted: bool, output: Output, env: Environment
) -> None:
    from fetchall._summary import render_summary

    console = _stderr_console(output, env)
    console.print(render_summary(stats, wall, interrupted=interrupted, width=console.width))


def _stderr_console(output: Output, env: Environment) -> Console:
    """The rich console for people: stderr, colour unless turned off, and a terminal's
    escape codes only on a terminal (or when --progress forces the display on)."""
    from rich.console import Console

    return Console(
        file=env.stderr,
        no_color=not output.color or env.no_color,
        force_terminal=True if output.progress else None,
        highlight=False,
    )


class SignalStop:
    """The SIGINT and SIGTERM handler: the first stops the run gracefully (cancelled
    records, summary); a second exits at once, the records written so far being flushed."""

    def __init__(
        self,
        fetcher: Fetcher,
        env: Environment,
        exit_now: Callable[[int], NoReturn] = os._exit,
    ) -> None:
        self._fetcher = fetcher
        self._env = env
        self._exit_now = exit_now

    def __call__(self, signum: signal.Signals) -> None:
        if self._fetcher.stopped_by in _SIGNAL_STATUS:
            self._exit_now(128 + signum)
        reason = _SIGNAL_REASON[signum]
        _say(self._env, f"{reason}: cancelling the requests in flight")
        self._fetcher.stop(reason)


def _allow_open_files(concurrency: int) -> None:
    """Raise the soft limit on open files (up to the hard limit) so that ``concurrency``
    connections fit, instead of failing the excess as connect errors."""
    wanted = concurrency + _SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _say(env: Environment, message: str) -> None:
    env.stderr.write(f"fetchall: {message}\n")
    env.stderr.flush()


def _silence_stdout(env: Environment) -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail
    (the "Note on SIGPIPE" in Python's signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, env.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's in-memory stream)
        pass
