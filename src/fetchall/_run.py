"""One run of the command: wire sources, engine, writer and summary together, run the
event loop, and turn how it ended into an exit status."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, NoReturn, TextIO

from fetchall._engine import Fetcher
from fetchall._errors import SetupError
from fetchall._records import record_of
from fetchall._settings import Settings
from fetchall._sources import Source, SourceError, close_sources, open_sources, read_lines
from fetchall._status import ExitStatus
from fetchall._summary import Tally, summary_text
from fetchall._writers import OutputFormat, Writer, make_writer


@dataclass(frozen=True, slots=True)
class Environment:
    """The process streams and what is known of them, passed down instead of read from sys."""

    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    stdin_isatty: bool
    stdout_isatty: bool
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
            no_color=bool(os.environ.get("NO_COLOR")),
        )


@dataclass(frozen=True, slots=True)
class Output:
    """How results are shown: record format, quietness, colour and debugging."""

    format: OutputFormat = OutputFormat.TEXT
    quiet: bool = False
    color: bool = True
    debug: bool = False


_SPARE_FILES = 64
"""Descriptors beyond one per connection: sources, stdio, the event loop, DNS."""


class _OutputError(Exception):
    """stdout could not be written (other than a closed pipe)."""


_SIGNAL_REASON = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
_SIGNAL_STATUS = {"interrupted": ExitStatus.INTERRUPTED, "terminated": ExitStatus.TERMINATED}


def run(names: Sequence[str], settings: Settings, output: Output, env: Environment) -> ExitStatus:
    """Fetch every URL of the named sources, write the records, and say how it went."""
    try:
        sources = open_sources(names, env.stdin)
    except SourceError as exc:
        _say(env, str(exc))
        return ExitStatus.USAGE
    _allow_open_files(settings.concurrency)
    color = output.color and env.stdout_isatty and not env.no_color
    writer = make_writer(output.format, env.stdout, color=color, quiet=output.quiet)
    tally = Tally()
    started = time.perf_counter()
    try:
        status = _run_loop(sources, settings, writer, tally, output, env)
    finally:
        close_sources(sources)
    if status is ExitStatus.BROKEN_PIPE:
        _silence_stdout(env)
        return status
    if not output.quiet and status is not ExitStatus.USAGE:
        interrupted = status in (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED)
        env.stderr.write(
            summary_text(tally, time.perf_counter() - started, interrupted=interrupted)
        )
        env.stderr.flush()
    if status is ExitStatus.OK and tally.failed:
        return ExitStatus.FAILED
    return status


def _run_loop(
    sources: list[Source],
    settings: Settings,
    writer: Writer,
    tally: Tally,
    output: Output,
    env: Environment,
) -> ExitStatus:
    """Run the event loop and map how it ended to a status."""
    try:
        stopped_by = asyncio.run(_fetch_and_write(sources, settings, writer, tally, env))
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


async def _fetch_and_write(
    sources: list[Source], settings: Settings, writer: Writer, tally: Tally, env: Environment
) -> str | None:
    """Fetch every line and write each record as it finishes. SIGINT and SIGTERM stop the
    run gracefully (a second one exits at once); returns what stopped it, if anything."""
    loop = asyncio.get_running_loop()
    async with Fetcher(settings) as fetcher:
        on_signal = SignalStop(fetcher, env)
        for signum in _SIGNAL_REASON:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            async for result in fetcher.results(read_lines(sources)):
                tally.add(result)
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
