"""The decoders of the codings fetchall undoes, each taking a body a piece at a time and
giving what it decodes to in bounded steps (``MAX_PIECE``): used for content codings
(``codings``) and transfer codings (``transfer_coding``); what each accepts is said in
``codings``. Errors are ``httpx.DecodingError``, naming the coding."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import brotli
import httpx
import zstandard

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


class Decoder(Protocol):
    """One coding (or a chain of them) being undone, a piece of the body at a time."""

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The pieces ``data`` decodes to (some may come later), each of about
        ``MAX_PIECE`` bytes at most."""

    def flush(self) -> Iterator[bytes]:
        """The last pieces; ``httpx.DecodingError`` when the stream is not complete."""


def _inflate(stream: zlib._Decompress, data: bytes) -> Iterator[bytes]:
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
        return _inflate(self._zlib, data)


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
            yield from _inflate(self._zlib, data)
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


class Chain:
    """Several codings, undone last first, each piece passed on as it comes."""

    def __init__(self, decoders: list[Decoder]) -> None:
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


def _gzip() -> Decoder:
    return _Members("gzip", lambda: _ZlibStream(16 + zlib.MAX_WBITS), zlib.error)


def _zstd() -> Decoder:
    return _Members("zstd", _ZstdFrame, zstandard.ZstdError)


DECODERS: dict[str, Callable[[], Decoder]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _Deflate,
    "br": _Brotli,
    "zstd": _zstd,
}
"""A new decoder for each coding fetchall undoes (lower case): content codings, and the
transfer codings of ``fields.UNDOABLE_CODINGS``."""
