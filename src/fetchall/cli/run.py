"""One run of the command: wire sources, engine, records stream, display and summary
together, run the event loop (``fetch_loop``), and say how it ended."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

from fetchall._input import (
    LineCounts,
    ResumeState,
    SourceError,
    close_sources,
    open_sources,
    read_lines,
    read_resume,
    select_lines,
)
from fetchall._settings import Settings
from fetchall.cli.accounting import account_for
from fetchall.cli.console import stderr_console
from fetchall.cli.descriptors import has_a_reader, raw_writer
from fetchall.cli.environment import Environment, say
from fetchall.cli.event_loop import loop_factory
from fetchall.cli.fetch_loop import Job, run_loop
from fetchall.cli.plan import Output, Plan, Selection
from fetchall.cli.process import (
    TooFewFiles,
    fit_open_files,
    fresh_line,
    loop_files,
    settle_stderr,
    silence_stdout,
)
from fetchall.cli.signals import SIGNAL_REASONS, WRITE_GRACE_SECONDS
from fetchall.cli.stats import Accounting, RunStats
from fetchall.cli.status import Ending, ExitStatus, Failure, exit_status
from fetchall.cli.stderr import StderrQueue, unstalled
from fetchall.cli.writers import ScreenWriter, record_format


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
        job = Job(lines, countable, plan, format_, screen, preamble, stats, env, stderr)
        ending = run_loop(job)
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
