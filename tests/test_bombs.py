"""Decompression bombs and endless trailers: memory stays flat, other URLs go on.

Each coding's bomb (256 MiB of zeros from a few KiB) is decoded in bounded steps until
``--max-size`` stops it, in the CLI as a user runs it; its peak RSS is measured."""

from __future__ import annotations

import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator

import brotli
import pytest
import zstandard

from tests.conftest import FETCHALL, jsonl
from tests.parser_cases import OK, chunked
from tests.rawserver import RawServer, Reply
from tests.server import TestServer

_MIB = 1024 * 1024
_DECODED = 256 * _MIB
_RSS_LIMIT_KIB = 160 * 1024  # well below the 256 MiB a bomb decodes to


def _zlib_bomb(wbits: int) -> bytes:
    coder = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(_MIB)
    return b"".join(coder.compress(zeros) for _ in range(_DECODED // _MIB)) + coder.flush()


def _gzip(data: bytes) -> bytes:
    coder = zlib.compressobj(9, zlib.DEFLATED, 31)
    return coder.compress(data) + coder.flush()


def _br_bomb() -> bytes:
    coder = brotli.Compressor(quality=5)
    zeros = bytes(_MIB)
    return b"".join(coder.process(zeros) for _ in range(_DECODED // _MIB)) + coder.finish()


def _zstd_bomb() -> bytes:
    return zstandard.ZstdCompressor().compress(bytes(_DECODED))


def _with_length(coding: str, body: bytes) -> Reply:
    head = f"Content-Encoding: {coding}\r\nContent-Length: {len(body)}\r\n\r\n"
    return Reply(OK + head.encode() + body)


BOMBS: dict[str, Callable[[], Reply]] = {
    "gzip": lambda: _with_length("gzip", _zlib_bomb(31)),
    "deflate": lambda: _with_length("deflate", _zlib_bomb(15)),
    "br": lambda: _with_length("br", _br_bomb()),
    "zstd": lambda: _with_length("zstd", _zstd_bomb()),
    "gzip, gzip": lambda: _with_length("gzip, gzip", _gzip(_zlib_bomb(31))),
    "te gzip, gzip, chunked": lambda: Reply(
        OK + b"Transfer-Encoding: gzip, gzip, chunked\r\n\r\n" + chunked(_gzip(_zlib_bomb(31)))
    ),
}


@pytest.fixture(scope="module")
def bombs() -> Iterator[RawServer]:
    raw = RawServer({name: make() for name, make in BOMBS.items()})
    raw.start()
    yield raw
    raw.stop()


def _run_measured(urls: str, *args: str) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """The CLI's run on ``urls`` and its peak RSS in KiB (measured by a wrapper process of
    its own)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, FETCHALL, *args],
        input=urls.encode(),
        capture_output=True,
        timeout=60,
    )
    return done, int(done.stderr.split()[-1])


@pytest.mark.parametrize(
    ("name", "transport"), [*((name, "fast") for name in BOMBS), ("gzip, gzip", "httpx")]
)
def test_a_bomb_stops_at_max_size_with_flat_memory(
    name: str, transport: str, bombs: RawServer, server: TestServer
) -> None:
    """Decoded in bounded steps: ``too_large`` at about --max-size, a peak RSS far below
    the decoded size, and a slow URL of the same run unharmed."""
    slow = server.url("/bytes/10?delay=1")
    urls = "\n".join([bombs.url(name), slow, bombs.url(name)]) + "\n"
    done, peak = _run_measured(
        urls, "--json", "-r", "0", "--max-size", "1M", "--timeout", "20", "--transport", transport
    )
    records = {r["url"]: r for r in jsonl(done.stdout.decode())}
    bomb = records[bombs.url(name)]
    assert bomb["error_kind"] == "too_large", bomb
    assert bomb["bytes"] < 8 * _MIB
    assert records[slow]["ok"] is True, records[slow]
    assert peak < _RSS_LIMIT_KIB, f"peak RSS {peak // 1024} MiB"


_TRAILER_FIELDS = b"".join(b"X-T%d: " % i + b"a" * 1000 + b"\r\n" for i in range(3000))
TRAILERS = {
    "huge": Reply(
        OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" + _TRAILER_FIELDS + b"\r\n"
    ),
    "length": Reply(
        OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"
    ),
}


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_trailers_are_bounded_and_framing_fields_in_them_ignored(transport: str) -> None:
    """A 3 MB trailer section fails as ``protocol`` (limited as a head is); a
    Content-Length among trailer fields is ignored, by both transports."""
    raw = RawServer(TRAILERS)
    raw.start()
    huge, length = raw.url("huge"), raw.url("length")
    try:
        urls = f"{huge}\n{length}\n"
        done = subprocess.run(
            [FETCHALL, "--json", "-r", "0", "--transport", transport, "--timeout", "20"],
            input=urls.encode(),
            capture_output=True,
            timeout=60,
        )
    finally:
        raw.stop()
    records = {r["url"]: r for r in jsonl(done.stdout.decode())}
    assert huge in records, done.stderr.decode()[-2000:]
    assert records[huge]["error_kind"] == "protocol", records[huge]
    assert records[length]["ok"] is True, records[length]
    assert records[length]["bytes"] == 5
