"""A chunked body's framing, besides its data: chunk sizes over 63 bits refused as soon as
their line has arrived, and the bytes without data (size lines, extensions, line breaks,
trailer fields) bounded as a head is.

Sizes: llhttp parses a chunk size into 64 bits ("Chunk size overflow" only past 2^64 - 1),
and httptools exposes neither the size nor where in the bytes it is. But only the chunk
still open when a feed ends can be larger than what arrived, and its size line ends exactly
where that chunk's data in the feed begins: the last ``delivered`` bytes, since llhttp took
every byte. So after each feed that opened a chunk, the one line before its data is read
here (a few bytes, no search through the body); a size line split over feeds is completed
from the bytes after the last line break of the feed before.
"""

from __future__ import annotations

import re
from typing import Final

import httptools

from fetchall._http.errors import MalformedResponse

_SIZE_LINE: Final = re.compile(rb"0*([0-9A-Fa-f]{16,})[ \t]*(?:;[^\n]*)?\r?\n\Z")
"""A chunk-size line (RFC 9112 §7.1) of 16 significant hex digits or more. Trailer fields
after the last chunk never match: llhttp took them, so a colon follows their names."""
_LIMIT: Final = 1 << 63
_TAIL: Final = 64
"""The most bytes of an unfinished size line kept: llhttp refuses over 16 significant
digits, so the leading zeros dropped and 64 bytes hold enough of any it takes."""


class ChunkedFraming:
    """Told of each chunk's start and end (llhttp's ``on_chunk_header`` and
    ``on_chunk_complete``), of each trailer field and of each feed of a chunked body, after
    llhttp took it. ``max_head`` bounds the bytes without data: more than that in a row of
    feeds without body bytes, or of trailer fields, fails as a head that large does (RFC
    9112 §7.1.2: trailer fields are limited as header fields are). ``llhttp``, parsing the
    body, is told to ignore a Content-Length among the trailer fields."""

    __slots__ = ("_max_head", "_new", "_open_at", "_tail", "_trailer", "_unframed", "seen")

    def __init__(self, max_head: int, llhttp: httptools.HttpResponseParser) -> None:
        # ignored, not an error (RFC 9112 §7.1.2, RFC 9110 §6.5.1: framing fields are never
        # merged from a trailer)
        llhttp.set_dangerous_leniencies(lenient_chunked_length=True)
        self.seen = False
        """llhttp found a chunk: the body is not bytes we would frame otherwise."""
        self._max_head = max_head
        self._open_at = -1  # body bytes before the open chunk's data; -1: no chunk open
        self._new = False  # a chunk opened in the feed being parsed
        self._tail = b""  # the start of a size line that began in an earlier feed
        self._unframed = 0  # bytes of the feeds since the last with body bytes
        self._trailer = 0  # bytes of the trailer fields parsed

    def began(self, delivered: int) -> None:
        """A size line ended, after ``delivered`` body bytes in all."""
        self._open_at = delivered
        self._new = True
        self.seen = True

    def ended(self) -> None:
        """The chunk's data and the line break after it ended."""
        self._open_at = -1

    def trailer_field(self, size: int) -> None:
        """A trailer field of ``size`` bytes was parsed (counted, never kept: RFC 9112
        §7.1.2). Raises ``MalformedResponse`` once the trailer fields pass the bound."""
        self._trailer += size
        if self._trailer > self._max_head:
            raise self._over_bound()

    def fed(self, data: bytes, delivered: int, body_fed: bool) -> None:
        """llhttp took ``data``; ``delivered`` body bytes in all so far, some of them in
        ``data`` if ``body_fed``. Raises ``MalformedResponse`` if the chunk it opened and
        left open is over 63 bits, or if the bytes without data passed the bound."""
        if self._open_at < 0:  # keep the start of a size line the next feed may end
            newline = data.rfind(b"\n")
            tail = data[newline + 1 :] if newline >= 0 else self._tail + data
            self._tail = tail if len(tail) <= _TAIL else tail.lstrip(b"0")[:_TAIL]
        elif self._new:
            self._check_size(data, len(data) - (delivered - self._open_at))
        self._new = False
        if body_fed:
            self._unframed = 0
        else:  # all size lines, extensions, line breaks or trailer fields
            self._unframed += len(data)
            if self._unframed > self._max_head:
                raise self._over_bound()

    def _check_size(self, data: bytes, end: int) -> None:
        """Check the line that ends at ``end`` in ``data`` (begun in ``_tail`` if no line
        break comes before it)."""
        start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
        line = data[start:end] if start else self._tail + data[:end]
        match = _SIZE_LINE.match(line)
        if match is not None and int(match[1], 16) >= _LIMIT:
            digits = match[1][:20].decode()
            raise MalformedResponse(f"chunk size {digits} does not fit 63 bits")

    def _over_bound(self) -> MalformedResponse:
        limit = self._max_head // 1024
        return MalformedResponse(
            f"chunked body framing or trailer section over {limit} KiB without data"
        )
