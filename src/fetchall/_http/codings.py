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

import zlib
from collections.abc import AsyncIterator, Callable
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


class _Decompressor(Protocol):
    """What zlib's and zstandard's decompression objects share."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes:
        """The bytes ``data`` decodes to (some may come later)."""

    def flush(self) -> bytes:
        """The last bytes; ``httpx.DecodingError`` when the stream is not complete."""


class _Members:
    """Streams one after another (gzip members, zstd frames), each decoded by a new
    decompressor; complete when the last one begun has ended."""

    def __init__(self, name: str, start: Callable[[], _Decompressor], error: type[Exception]):
        self._name = name
        self._start = start
        self._error = error
        self._current: _Decompressor | None = None  # None between members

    def decode(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        try:
            while data:
                if self._current is None:
                    data = data.lstrip(b"\0")  # padding between members
                    if not data:
                        break
                    self._current = self._start()
                pieces.append(self._current.decompress(data))
                if not self._current.eof:
                    break
                data = self._current.unused_data
                self._current = None
        except self._error as exc:
            raise httpx.DecodingError(f"invalid {self._name} data: {exc}") from exc
        return b"".join(pieces)

    def flush(self) -> bytes:
        if self._current is not None:
            raise httpx.DecodingError(f"the {self._name} stream ends before it is complete")
        return b""


class _Deflate:
    """One deflate stream, zlib-wrapped or raw, as its first two bytes say."""

    def __init__(self) -> None:
        self._head = b""
        self._zlib: zlib._Decompress | None = None

    def decode(self, data: bytes) -> bytes:
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            return self._zlib.decompress(data)
        except zlib.error as exc:
            raise httpx.DecodingError(f"invalid deflate data: {exc}") from exc

    def flush(self) -> bytes:
        if self._zlib is None or not self._zlib.eof:
            raise httpx.DecodingError("the deflate stream ends before it is complete")
        return b""


class _Brotli:
    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        try:
            decoded: bytes = self._brotli.process(data)
        except brotli.error as exc:
            raise httpx.DecodingError(f"invalid br data: {exc}") from exc
        return decoded

    def flush(self) -> bytes:
        if not self._brotli.is_finished():
            raise httpx.DecodingError("the br stream ends before it is complete")
        return b""


class _Chain:
    """Several codings, undone last first."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = decoder.decode(data) + decoder.flush()
        return data


def _gzip() -> _Decoder:
    return _Members("gzip", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), zlib.error)


def _zstd() -> _Decoder:
    return _Members(
        "zstd", lambda: zstandard.ZstdDecompressor().decompressobj(), zstandard.ZstdError
    )


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
    """The body ``chunks`` decode to, as they arrive; raises ``httpx.DecodingError`` for
    data its coding rejects, a stream that ends early, or a coding fetchall cannot decode
    (``UnsupportedCoding``) once the body has a byte."""
    decoder: _Decoder | None = None
    async for chunk in chunks:
        if not chunk:
            continue
        if decoder is None:
            decoder = _decoder(codings)
        data = decoder.decode(chunk)
        if data:
            yield data
    if decoder is not None:
        data = decoder.flush()
        if data:
            yield data
