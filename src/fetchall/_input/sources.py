"""Reading URL lists from files and stdin, streamed: lines are yielded while the input
is still arriving, and reading pauses while the engine has no free permit."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import stat
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from fetchall._input.byte_order import ToUtf8
from fetchall._input.lines import LineSplitter, is_skipped, parse_line
from fetchall._model import Line

STDIN = "-"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
"""RFC 3986's ``scheme ":"`` at the start of a name (two letters at least: not a drive)."""
_SCHEMELESS = re.compile(
    r"(?P<host>[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
    r"|(?:www\.)[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?(?=[/?#]))"
    r"(?:[/?#].*)?",
    re.DOTALL,
)
"""A scheme-less URL: an IPv4 or bracketed IPv6 address, a ``www.`` name, or a dotted name
followed by a path (``example.com/x``; never a bare ``name.ext``, which is a file's
shape), each with an optional port."""
CHUNK_BYTES = 64 * 1024


class SourceError(Exception):
    """A SOURCE that cannot be opened or read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Source:
    """An opened SOURCE: its name as the user gave it, and the stream to read."""

    name: str
    stream: BinaryIO


def open_sources(names: Sequence[str], stdin: BinaryIO | None) -> list[Source]:
    """Open every SOURCE up front, so an unreadable one stops the run before any fetch;
    ``stdin`` is None when the process has none (started with it closed, ``<&-``)."""
    sources: list[Source] = []
    if stdin is None and STDIN in names:
        raise SourceError("cannot read stdin: it is closed (name a SOURCE file)")
    try:
        for name in names:
            stream = stdin if name == STDIN and stdin is not None else open(name, "rb")  # noqa: SIM115 - see close_sources
            sources.append(Source(name, stream))
    except OSError as exc:
        close_sources(sources)
        message = f"cannot read {exc.filename or name}: {exc.strerror or exc}"
        if isinstance(exc, FileNotFoundError) and _looks_like_a_url(name):
            message += (
                f" (SOURCE is a file of URLs; for one URL: echo {shlex.quote(name)} | fetchall -)"
            )
        raise SourceError(message) from exc
    return sources


def _looks_like_a_url(name: str) -> bool:
    """Whether a missing SOURCE name looks like a URL given where a list file was meant: it
    holds ``://``, starts with a scheme and a colon (RFC 3986's ``scheme ":"``, which
    ``example.com:8080`` is too), or is a scheme-less ``host[:port][/path]`` (see
    ``_SCHEMELESS``) whose first segment is no folder here. Conservative: ``urls.txt`` or
    ``lists/a.txt`` get no hint."""
    if "://" in name or _SCHEME.match(name) is not None:
        return True
    match = _SCHEMELESS.fullmatch(name)
    return match is not None and not os.path.isdir(match["host"])


def close_sources(sources: Sequence[Source]) -> None:
    """Close the files among ``sources`` (stdin stays open)."""
    for source in sources:
        if source.name != STDIN:
            source.stream.close()


async def read_lines(sources: Sequence[Source]) -> AsyncIterator[Line]:
    """Every non-blank, non-comment line of every source, in order, tagged ``name:number``
    (a source's byte-order mark is read as ``byte_order`` says)."""
    for source in sources:
        splitter = LineSplitter()
        text = ToUtf8()
        number = 0
        async for chunk in _read_chunks(source):
            for raw in splitter.feed(text.feed(chunk)):
                number += 1
                line = parse_line(raw, f"{source.name}:{number}", text.encoding)
                if line is not None:
                    yield line
        for raw in [*splitter.feed(text.finish()), *splitter.finish()]:
            number += 1
            line = parse_line(raw, f"{source.name}:{number}", text.encoding)
            if line is not None:
                yield line


async def _read_chunks(source: Source) -> AsyncIterator[bytes]:
    """The stream's bytes, read by a daemon thread so a slow pipe never blocks the loop.

    The thread reads at most two chunks ahead of the consumer. It is a daemon (not the
    default executor) because a read blocked on a terminal or an idle pipe must not keep
    the process alive after the run is cancelled, and it reads the file descriptor, not
    the buffered stream, whose lock it would otherwise hold while the interpreter exits.
    """
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | OSError] = asyncio.Queue()
    free_slots = threading.Semaphore(2)
    read = _chunk_reader(source.stream)

    def pump() -> None:
        while True:
            free_slots.acquire()
            try:
                chunk: bytes | OSError = read()
            except OSError as exc:
                chunk = exc
            except ValueError:  # the stream was closed under us: the run is over
                return
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: nobody is reading any more
                return
            if not isinstance(chunk, bytes) or not chunk:
                return

    threading.Thread(target=pump, name=f"read {source.name}", daemon=True).start()
    while True:
        item = await chunks.get()
        free_slots.release()
        if isinstance(item, OSError):
            raise SourceError(f"cannot read {source.name}: {item.strerror or item}") from item
        if not item:
            return
        yield item


def _chunk_reader(stream: BinaryIO) -> Callable[[], bytes]:
    """A function returning the next chunk (b"" at the end) as soon as any bytes are there."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # an in-memory stream, as in tests
        return lambda: stream.read(CHUNK_BYTES)
    return lambda: os.read(descriptor, CHUNK_BYTES)


def count_lines(sources: Sequence[Source]) -> int | None:
    """How many non-blank, non-comment lines the sources hold, read from the files
    again by name; None when a source is not a regular file (stdin, a pipe)."""
    names = [source.name for source in sources]
    try:
        if any(name == STDIN or not stat.S_ISREG(os.stat(name).st_mode) for name in names):
            return None
        return sum(_count_file_lines(name) for name in names)
    except OSError:
        return None


def _count_file_lines(name: str) -> int:
    """The non-blank, non-comment lines of one file, read as ``read_lines`` reads it."""
    splitter = LineSplitter()
    text = ToUtf8()
    count = 0
    with open(name, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            count += sum(not is_skipped(raw) for raw in splitter.feed(text.feed(chunk)))
    rest = [*splitter.feed(text.finish()), *splitter.finish()]
    return count + sum(not is_skipped(raw) for raw in rest)
