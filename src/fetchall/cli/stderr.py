"""stderr without waiting on its reader: when a reader can stall the writes (a pipe, a
socket, a terminal), what people are told goes out from a writer thread, so that no
message, warning, live display frame or summary ever holds up the event loop (and with it
signal handling) or a signal's exit.

- **Never waits while queued**: ``write`` only queues the bytes; past ``LIMIT_BYTES``
  queued, a write is dropped whole (counted in ``dropped``), so a stalled reader costs
  bounded memory and nothing on screen is cut mid-line.
- **Idle**: whether everything queued is written, so the live display can skip a frame
  rather than queue frames a stopped terminal does not take.
- **Bounded at the end**: ``drain(seconds)`` waits for the reader at most that long, and
  ends early when ``give_up`` is set (from a signal handler); what is still queued then is
  lost with the process.

Not ``RecordStream`` (``stream.py``): records must wait for their reader (backpressure, an
asyncio future on the loop), while stderr's writers must never wait and write off the loop
too (before the run, in the summary after it). Both write with ``descriptors.write_fully``.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import deque
from typing import TextIO

from fetchall.cli.descriptors import RawWrite, write_fully

LIMIT_BYTES = 1 << 20
"""Bytes that may wait for stderr's reader; a write that would pass it is dropped."""
_POLL_SECONDS = 0.05
"""How often ``drain`` looks at ``give_up`` (a signal handler only sets a flag)."""


class StderrQueue(io.RawIOBase):
    """A raw binary stream whose writes are queued for a writer thread (see the module's
    docstring); ``isatty`` and ``fileno`` are those of the stream it stands for, so rich
    sees the same terminal."""

    def __init__(self, write: RawWrite, fd: int, *, limit: int = LIMIT_BYTES) -> None:
        super().__init__()
        self._write = write
        self._fd = fd
        self._limit = limit
        self._changed = threading.Condition()
        self._waiting: deque[bytes] = deque()
        self._queued = 0  # bytes in _waiting or being written
        self._failed = False  # a write failed: the reader is gone, drop the rest
        self.dropped = 0
        """Writes dropped because ``LIMIT_BYTES`` were waiting, or stderr failed."""
        self.give_up = False
        """Set (by a signal handler) to end ``drain`` at once."""
        self._thread = threading.Thread(target=self._run, name="write to stderr", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Queue ``data`` whole (or drop it whole); never waits. Its length."""
        size = len(data)
        with self._changed:
            if self._failed or self._queued + size > self._limit:
                self.dropped += 1
                return size
            self._waiting.append(bytes(data))
            self._queued += size
            self._changed.notify_all()
        return size

    @property
    def idle(self) -> bool:
        """Whether every byte queued so far is written (or dropped after a failure)."""
        return self._queued == 0

    def drain(self, seconds: float | None) -> bool:
        """Wait until every byte queued is written, at most ``seconds`` (None: as long as
        it takes) or until ``give_up`` is set; whether it all went out."""
        deadline = None if seconds is None else time.monotonic() + seconds
        with self._changed:
            while self._queued and not self.give_up:
                left = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, _POLL_SECONDS))
            return self._queued == 0

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                data = b"".join(self._waiting)
                self._waiting.clear()
            _, error = write_fully(self._write, data)
            with self._changed:
                self._queued -= len(data)
                if error is not None:  # the reader went away, or a full disk
                    self._failed = True
                    self.dropped += len(self._waiting)
                    self._waiting.clear()
                    self._queued = 0
                self._changed.notify_all()


def unstalled(stderr: TextIO, write: RawWrite, fd: int) -> tuple[TextIO, StderrQueue]:
    """A text stream standing for ``stderr`` (same encoding and error handler) whose
    writes go through a ``StderrQueue``; what ``stderr`` held is flushed first."""
    stderr.flush()
    queue = StderrQueue(write, fd)
    # A raw stream under the text layer: with write_through each write is handed on whole.
    text = io.TextIOWrapper(  # type: ignore[type-var]
        queue,
        encoding=stderr.encoding,
        errors=stderr.errors or "backslashreplace",
        write_through=True,
    )
    return text, queue
