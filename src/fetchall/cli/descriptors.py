"""Bytes to stdout's file descriptor: written whole or failed with the reason, past
Python's buffer (so nothing is left for the interpreter's exit to fail on); and whether
a reader on the other end can stall the writes."""

from __future__ import annotations

import os
import select
import stat
from collections.abc import Callable
from typing import IO, Any, BinaryIO

RawWrite = Callable[[bytes | memoryview], int]
"""Writes some of the bytes given and returns how many; raises ``OSError``."""


def write_fully(write: RawWrite, data: bytes) -> tuple[int, OSError | None]:
    """Write all of ``data``: (its length, None), or (the bytes written before the error,
    the error). A write that takes no bytes is an error: retrying it could spin forever."""
    done = 0
    rest: bytes | memoryview = data
    while True:
        try:
            count = write(rest)
        except OSError as error:
            return done, error
        if count <= 0:
            return done, OSError("the write took no bytes")
        done += count
        if done >= len(data):
            return done, None
        rest = memoryview(data)[done:]


def raw_writer(out: BinaryIO) -> RawWrite:
    """How to write to ``out`` past Python's buffer: ``os.write`` on its descriptor
    (waiting while one that another process made non-blocking is full: a pipe, socket or
    terminal, written from the writer thread); a stream without a descriptor (in-memory,
    in tests) is written and flushed."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return _stream_writer(out)
    out.flush()

    def write(data: bytes | memoryview) -> int:
        while True:
            try:
                return os.write(fd, data)
            except BlockingIOError:
                select.select([], [fd], [])

    return write


def has_a_reader(out: IO[Any]) -> bool:
    """Whether writes to ``out`` can wait on another process: a pipe, a socket or a
    terminal (not a regular file, /dev/null or an in-memory stream)."""
    try:
        mode = os.fstat(out.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or out.isatty()


def _stream_writer(out: BinaryIO) -> RawWrite:
    def write(data: bytes | memoryview) -> int:
        count = out.write(data)
        out.flush()
        return count

    return write
