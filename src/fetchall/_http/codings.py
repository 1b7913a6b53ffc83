"""Content codings (RFC 9110 §8.4): a body decoded as it arrives, or honestly refused.

- ``gzip`` and ``x-gzip`` (RFC 9110 §8.4.1.3, which names x-gzip as gzip): every member of
  a multi-member stream (what ``cat a.gz b.gz`` makes), as gzip(1) and RFC 1952 §2.2 read
  it; zero bytes between members are skipped, as Python's ``gzip`` module skips them.
  (httpx's GZipDecoder stops after the first member.)
- ``deflate``: the zlib format (RFC 1950), as RFC 9110 §8.4.1.2 says, or the raw deflate
  stream (RFC 1951) that some servers send; the first two bytes decide (a zlib header is a
  multiple of 31), as curl and httpx accept both.
- ``br`` (RFC 7932) with ``brotli`` and ``zstd`` (RFC 8878, every frame) with
  ``zstandard``: the libraries httpx uses for them.
- ``identity``: nothing to undo.

Several codings (``gzip, br``) are undone last first (RFC 9110 §8.4). A stream that ends
before its format says it is complete raises ``httpx.DecodingError`` (httpx's decoders
check this for zstd, and for br only with brotlicffi), so a body cut short by the coding
is never taken as whole; so does a
coding not listed here (``UnsupportedCoding``, naming it). A body with no bytes at all is
empty whatever its coding says (HEAD, 204, 304).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol

import brotli
import httpx
import zstandard

SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")
"""Content codings fetchall decodes (``identity`` is none)."""
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
"""What requests offer: ``SUPPORTED`` but x-gzip (gzip's old name) and identity (always
acceptable, RFC 9110 §12.5.3)."""


class UnsupportedCoding(httpx.DecodingError):
    """The body has a content coding fetchall cannot decode; the message names it."""


MAX_PIECE = 256 * 1024
"""The most bytes one decoding step gives (a piece may exceed it by a zstd step's few
blocks): a bomb (1 GiB from 1 KiB) is decoded in bounded steps, never held whole."""
_ZSTD_SLICE = 128
"""zstd input bytes fed at a time: zstandard's decompressobj has no output limit, and a
zstd block of 4 bytes may give 128 KiB, so 128 bytes give at most ~4 MiB."""
_ZSTD_WINDOW = 8 * 1024 * 1024
"""The largest zstd window accepted (RFC 9659 §3: 8 MB for the zstd content coding)."""


class _Stream(Protocol):
    """One coded stream (a gzip member, a zstd frame) being decoded."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """What ``data`` decodes to, in pieces of about ``MAX_PIECE`` bytes at most."""


class _Decoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]:
        """The pieces ``data`` decodes to (some may come later), each of about
        ``MAX_PIECE`` bytes at most."""

    def flush(self) -> Iterator[bytes]:
        """The last pieces; ``httpx.DecodingError`` when the stream is not complete."""


def inflate(stream: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """What ``data`` inflates to, ``MAX_PIECE`` bytes at a time (zlib's ``max_length``,
    the rest kept in ``unconsumed_tail``); raises ``zlib.error``."""
    while True:
        out = stream.decompress(data, MAX_PIECE)
        data = stream.unconsumed_tail
        if out:
            yield out
        if stream.eof or (not data and len(out) < MAX_PIECE):
            return


class _ZlibStream:
    def __init__(self, wbits: int) -> None:
        self._zlib = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def unused_data(self) -> bytes:
        return self._zlib.unused_data

    def pieces(self, data: bytes) -> Iterator[bytes]:
        return inflate(self._zlib, data)


class _ZstdFrame:
    """One zstd frame, fed ``_ZSTD_SLICE`` bytes at a time so that a step's output stays
    bounded; pieces are joined up to ``MAX_PIECE``."""

    def __init__(self) -> None:
        decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_WINDOW)
        self._zstd = decompressor.decompressobj()
        self.eof = False
        self.unused_data = b""

    def pieces(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        pending: list[bytes] = []
        size = 0
        for start in range(0, len(data), _ZSTD_SLICE):
            out = self._zstd.decompress(view[start : start + _ZSTD_SLICE])
            if out:
                pending.append(out)
                size += len(out)
            if self._zstd.eof:
                self.eof = True
                self.unused_data = self._zstd.unused_data + data[start + _ZSTD_SLICE :]
                break
            if size >= MAX_PIECE:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)


class _Members:
    """Streams one after another (gzip members, zstd frames), each decoded by a new
    decompressor; complete when the last one begun has ended."""

    def __init__(self, name: str, start: Callable[[], _Stream], error: type[Exception]):
        self._name = name
        self._start = start
        self._error = error
        self._current: _Stream | None = None  # None between members

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            while data:
                if self._current is None:
                    data = data.lstrip(b"\0")  # padding between members
                    if not data:
                        break
                    self._current = self._start()
                yield from self._current.pieces(data)
                if not self._current.eof:
                    break
                data = self._current.unused_data
                self._current = None
        except self._error as exc:
            raise httpx.DecodingError(f"invalid {self._name} data: {exc}") from exc

    def flush(self) -> Iterator[bytes]:
        if self._current is not None:
            raise httpx.DecodingError(f"the {self._name} stream ends before it is complete")
        return iter(())


class _Deflate:
    """One deflate stream, zlib-wrapped or raw, as its first two bytes say; bytes after
    its end are refused, as bytes after a gzip member that is not one are."""

    def __init__(self) -> None:
        self._head = b""
        self._zlib: zlib._Decompress | None = None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._zlib.eof and data:
            raise httpx.DecodingError("data after the end of the deflate stream")
        try:
            yield from inflate(self._zlib, data)
        except zlib.error as exc:
            raise httpx.DecodingError(f"invalid deflate data: {exc}") from exc
        if self._zlib.unused_data:
            raise httpx.DecodingError("data after the end of the deflate stream")

    def flush(self) -> Iterator[bytes]:
        if self._zlib is None or not self._zlib.eof:
            raise httpx.DecodingError("the deflate stream ends before it is complete")
        return iter(())


class _Brotli:
    """One br stream, ``MAX_PIECE`` bytes of output at a time (brotli 1.2's
    ``output_buffer_limit``; more output comes from empty input until it can accept
    data)."""

    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            out: bytes = self._brotli.process(data, output_buffer_limit=MAX_PIECE)
            while True:
                if out:
                    yield out
                if self._brotli.can_accept_more_data():
                    return
                out = self._brotli.process(b"", output_buffer_limit=MAX_PIECE)
        except brotli.error as exc:
            raise httpx.DecodingError(f"invalid br data: {exc}") from exc

    def flush(self) -> Iterator[bytes]:
        if not self._brotli.is_finished():
            raise httpx.DecodingError("the br stream ends before it is complete")
        return iter(())


class _Chain:
    """Several codings, undone last first, each piece passed on as it comes."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def flush(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self._decoders):
            for piece in decoder.flush():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._decoders):
            yield data
            return
        for piece in self._decoders[index].decode(data):
            yield from self._through(index + 1, piece)


def _gzip() -> _Decoder:
    return _Members("gzip", lambda: _ZlibStream(16 + zlib.MAX_WBITS), zlib.error)


def _zstd() -> _Decoder:
    return _Members("zstd", _ZstdFrame, zstandard.ZstdError)


_DECODERS: dict[str, Callable[[], _Decoder]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _Deflate,
    "br": _Brotli,
    "zstd": _zstd,
}


def _decoder(codings: list[str]) -> _Decoder:
    """The decoder undoing ``codings`` (in the order they were applied);
    ``UnsupportedCoding`` when one is not in ``SUPPORTED``."""
    decoders: list[_Decoder] = []
    for coding in reversed(codings):
        name = coding.strip().lower()
        if name in ("", "identity"):
            continue
        make = _DECODERS.get(name)
        if make is None:
            raise UnsupportedCoding(
                f"Content-Encoding {name[:40]!r} is not one fetchall decodes "
                f"({', '.join(SUPPORTED)}); --raw keeps bodies as sent"
            )
        decoders.append(make())
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)


async def decoded(chunks: AsyncIterator[bytes], codings: list[str]) -> AsyncIterator[bytes]:
    """The body ``chunks`` decode to, as they arrive, in pieces of about ``MAX_PIECE``
    bytes, the loop's other tasks run between pieces of one chunk (a bomb decodes in
    bounded steps, and stops as soon as the reader does); raises ``httpx.DecodingError``
    for data its coding rejects, a stream that ends early, or a coding fetchall cannot
    decode (``UnsupportedCoding``) once the body has a byte."""
    decoder: _Decoder | None = None
    async for chunk in chunks:
        if not chunk:
            continue
        if decoder is None:
            decoder = _decoder(codings)
        async for data in paced(decoder.decode(chunk)):
            yield data
    if decoder is not None:
        async for data in paced(decoder.flush()):
            yield data


async def paced(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``pieces``, the loop's other tasks (and signals) let run before each after the
    first: decoding one received chunk never holds the loop for more than a step."""
    first = True
    for piece in pieces:
        if not first:
            await asyncio.sleep(0)
        first = False
        yield piece
