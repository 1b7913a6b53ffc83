"""Undoing the transfer codings a response applied before ``chunked`` (RFC 9112 §7.2,
§7.3), so that a body is never handed on still encoded: gzip and x-gzip (every member of a
multi-member stream, as ``cat a.gz b.gz`` makes) and deflate (zlib-wrapped as RFC 9110
§8.4.1.2 says, or raw, as some servers send it), with Python's ``zlib``."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from fetchall._http.codings import inflate
from fetchall._http.errors import MalformedResponse

_GZIP_WINDOW = 31  # zlib's wbits for a gzip header and trailer
_ZLIB_WINDOW = 15
_RAW_WINDOW = -15


class TransferDecoder:
    """Undoes ``codings`` (first applied first) on the body bytes as they arrive."""

    def __init__(self, codings: list[bytes]) -> None:
        self._stages = [_Inflater(coding) for coding in reversed(codings)]

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next piece of the body, each of ``codings.MAX_PIECE``
        bytes at most (a bomb is never held whole); ``MalformedResponse`` if it is not
        what its coding says."""
        return self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            yield data
            return
        for piece in self._stages[index].decode(data):
            yield from self._through(index + 1, piece)

    def finish(self) -> None:
        """The body has ended: ``MalformedResponse`` if a stream inside it has not."""
        for stage in self._stages:
            stage.finish()


class _Inflater:
    def __init__(self, coding: bytes) -> None:
        self._coding = coding.decode("latin-1")
        self._gzip = coding != b"deflate"
        self._zlib = zlib.decompressobj(_GZIP_WINDOW) if self._gzip else None
        self._start = b""  # deflate: the first bytes, until they tell zlib from raw
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:  # deflate: its first two bytes say whether zlib-wrapped
            data = self._start + data
            if len(data) < 2:
                self._start = data
                return
            zlib_header = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._zlib = zlib.decompressobj(_ZLIB_WINDOW if zlib_header else _RAW_WINDOW)
            self._start = b""
        for _ in range(len(data) + 1):  # each round takes a whole gzip member, or the rest
            if not data:
                break
            if self._zlib.eof and self._gzip:  # the next member of a multi-member stream
                self._zlib = zlib.decompressobj(_GZIP_WINDOW)
            failure = ""
            try:
                for piece in inflate(self._zlib, data):
                    self._started = True
                    yield piece
            except zlib.error as exc:
                failure = f"could not undo the {self._coding} coding: {exc}"
            if failure:  # raised here, so that zlib's words are not the last in the chain
                raise MalformedResponse(failure)
            self._started = True
            data = self._zlib.unused_data if self._zlib.eof else b""
            if data and not self._gzip:
                raise MalformedResponse(f"data after the end of the {self._coding} stream")

    def finish(self) -> None:
        if self._start or (self._started and self._zlib is not None and not self._zlib.eof):
            raise MalformedResponse(f"the {self._coding} transfer coding ends early")
