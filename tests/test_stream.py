"""The records stream with scripted writes: short and zero writes, errors part-way, a
reader that stops (backpressure), and the deadline after a stop."""

from __future__ import annotations

import asyncio
import errno
import threading
import time

import pytest

from fetchall.cli.descriptors import write_fully
from fetchall.cli.stream import RecordStream

pytestmark = pytest.mark.anyio

RECORDS = [f"record {i}\n".encode() for i in range(10)]


class Disk:
    """A scripted file: takes at most ``per_write`` bytes a write, fails with ENOSPC once
    ``room`` bytes are taken, and holds each write until ``gate`` is set."""

    def __init__(self, *, per_write: int = 1 << 20, room: int = 1 << 20) -> None:
        self.data = bytearray()
        self.per_write = per_write
        self.room = room
        self.writes = 0
        self.gate = threading.Event()
        self.gate.set()

    def write(self, view: memoryview) -> int:
        self.gate.wait(10)
        self.writes += 1
        if len(self.data) >= self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(view[: min(self.per_write, self.room - len(self.data))])
        self.data += taken
        return len(taken)


async def write_all(stream: RecordStream, records: list[bytes]) -> None:
    for record in records:
        await stream.send(record)
    await stream.close()


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
async def test_short_writes_are_followed_by_the_rest(threaded: bool) -> None:
    """A disk that takes 3 bytes a write still gets every record whole, in order, after
    the preamble (which is not counted as a record)."""
    disk = Disk(per_write=3)
    loop = asyncio.get_running_loop()
    stream = RecordStream(disk.write, capacity=4, loop=loop, preamble=b"h\n", threaded=threaded)
    stream.start()
    await write_all(stream, RECORDS)
    assert bytes(disk.data) == b"h\n" + b"".join(RECORDS)
    assert stream.failure is None
    assert stream.unwritten == 0


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
async def test_a_full_disk_fails_the_stream_and_counts_the_records_not_written(
    threaded: bool,
) -> None:
    """When the disk fills part-way through the fourth record, that one and every later
    one count as unwritten, and ``on_failure`` is called once."""
    room = sum(len(record) for record in RECORDS[:3]) + 4
    disk, failures = Disk(room=room), []
    loop = asyncio.get_running_loop()
    stream = RecordStream(disk.write, capacity=4, loop=loop, threaded=threaded)
    stream.start(on_failure=lambda: failures.append(stream.failure))
    await write_all(stream, RECORDS)
    await asyncio.sleep(0.01)  # let the failure callback run
    assert isinstance(stream.failure, OSError)
    assert stream.failure.errno == errno.ENOSPC
    assert failures == [stream.failure]
    assert stream.unwritten == len(RECORDS) - 3
    assert bytes(disk.data) == b"".join(RECORDS[:3]) + RECORDS[3][:4]  # one torn fragment


def test_a_write_that_takes_nothing_is_an_error_not_a_loop() -> None:
    """A write returning 0 ends with an error instead of being retried forever."""
    calls = []

    def takes_nothing(view: memoryview) -> int:
        calls.append(len(view))
        if len(calls) > 100:
            raise RuntimeError("retried forever")
        return 0

    written, error = write_fully(takes_nothing, b"abc")
    assert written == 0
    assert isinstance(error, OSError)
    assert calls == [3]


async def test_a_stalled_reader_holds_back_the_sender() -> None:
    """With the writer stuck and ``capacity`` records waiting, ``send`` waits; it goes on
    when the reader takes the bytes."""
    disk = Disk()
    disk.gate.clear()
    stream = RecordStream(disk.write, capacity=2, loop=asyncio.get_running_loop())
    stream.start()
    await stream.send(RECORDS[0])  # taken by the writer, which is stuck on it
    await stream.send(RECORDS[1])
    third = asyncio.ensure_future(stream.send(RECORDS[2]))
    await asyncio.sleep(0.2)
    assert not third.done()
    disk.gate.set()
    await asyncio.wait_for(third, 5)
    await stream.close()
    assert bytes(disk.data) == b"".join(RECORDS[:3])


async def test_after_hurry_nothing_waits_past_the_deadline() -> None:
    """With the reader gone for good, ``hurry`` bounds every wait: sends drop their
    records, close returns, and the records not written are counted."""
    disk = Disk()
    disk.gate.clear()
    stream = RecordStream(disk.write, capacity=2, loop=asyncio.get_running_loop())
    stream.start()
    try:
        for record in RECORDS[:2]:  # the queue is full
            await stream.send(record)
        started = time.monotonic()
        stream.hurry(0.2)
        sending = asyncio.ensure_future(write_all(stream, RECORDS[2:]))
        await asyncio.wait_for(sending, 5)
        assert 0.15 < time.monotonic() - started < 2
        assert stream.unwritten == len(RECORDS)
        assert stream.failure is None
    finally:
        disk.gate.set()  # let the thread end
