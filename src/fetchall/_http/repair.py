"""The repair pass: the one piece of hand-written head handling left, for heads llhttp
refuses but RFC 9112 lets a client read.

llhttp (9.4.3, in httptools 0.9.0) refuses obs-fold and every repeated Content-Length, equal
or not; its ``lenient_headers`` switch would take folds, but keeps the fold's whitespace
(not one space), frames a folded Transfer-Encoding as close-delimited, lets NUL through and
lets a bare CR end a field (the CVE-2023-37276 shape). httptools exposes neither llhttp's
narrower ``header_value_relaxed`` switch nor the spans of a folded value. So when the
strict parser refuses a head, ``HeadRepair`` collects each head whole, refuses NUL, CR and
whitespace before the first field itself, unfolds, merges equal lengths, and the parser
hands the result to an llhttp with ``lenient_headers`` on (each behaviour measured for
issue 12's prototype; ``tests/parser_cases.py`` holds the cases). The fast path never
comes here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import httptools

from fetchall._http.binding import LLHTTP_ERRORS, llhttp
from fetchall._http.errors import MalformedResponse
from fetchall._http.fields import content_length

_BLANK_LINE: Final = re.compile(rb"\n\r?\n")
_LINE_BREAKS: Final = re.compile(rb"[\r\n]*")


class HeadRepair:
    """Heads (interim ones, then the final one) collected whole from the bytes after the
    strict parser refused one, each handed out normalised (``normalise_head``).

    Each status line is checked by a strict llhttp as it arrives, so bytes that cannot
    begin a response (TLS on a plain port, ``HTTP/1.1 2000``) fail at once rather than at
    the timeout. Every byte is searched and checked once: a head trickled a byte a read
    costs linear time (100 KiB heads sent a byte a read: 0.06-0.19 s each, measured)."""

    def __init__(self, max_head: int) -> None:
        self._pending = bytearray()
        self._received = 0  # every byte added
        self._taken = 0  # bytes taken off the front of _pending
        self._max_head = max_head
        self._checker: httptools.HttpResponseParser | None = None  # at a head's start: None
        self._checked = 0  # how much of _pending the checker saw; -1 once the line was good
        self._searched = 0  # how much of _pending was searched for the end of the head

    def feed(
        self, data: bytes, parse: Callable[[bytes], bool], after: Callable[[bytes], None]
    ) -> None:
        """Add ``data``; hand each whole head, normalised, to ``parse`` until it says that
        was the final one; then the bytes after it (taken) to ``after``. Raises as
        ``next_head``."""
        self._pending += data
        self._received += len(data)
        for _ in range(len(self._pending) + 1):  # each round takes a head (at least a byte)
            head = self.next_head()
            if head is None:
                return
            if parse(head):
                after(self.rest())
                return
        raise AssertionError("unreachable: each round takes a head")  # pragma: no cover

    def next_head(self) -> bytes | None:
        """The next whole head, normalised, or None until more bytes arrive.

        Raises ``MalformedResponse`` for a status line llhttp refuses, for a head whose
        fields cannot be normalised, and once the heads pass ``max_head`` bytes."""
        pending = self._pending
        if self._checker is None:  # at the start of a head
            skipped = skip_line_breaks(pending)  # llhttp skips them too
            del pending[:skipped]
            self._taken += skipped
            if not pending:
                return None
            self._checker = llhttp(None, lenient_headers=False)
            self._checked = 0
        if self._checked >= 0:  # inside the status line
            line_end = pending.find(b"\n", self._checked)
            stop = len(pending) if line_end < 0 else line_end + 1
            try:
                self._checker.feed_data(pending[self._checked : stop])
            except LLHTTP_ERRORS as exc:
                raise MalformedResponse(str(exc)) from None
            if line_end < 0:
                self._checked = stop
                self._check_size()
                return None
            self._checked = -1
            self._searched = line_end
        match = _BLANK_LINE.search(pending, self._searched)
        if match is None:
            self._searched = max(self._searched, len(pending) - 2)
            self._check_size()
            return None
        end = match.end()
        if self._taken + end > self._max_head:
            raise head_too_large(self._max_head)
        head = bytes(pending[:end])
        del pending[:end]
        self._taken += end
        self._checker = None
        return normalise_head(head)

    def rest(self) -> bytes:
        """The bytes after the heads handed out (the start of the body), taken."""
        rest = bytes(self._pending)
        self._pending.clear()
        return rest

    def _check_size(self) -> None:
        """Raise ``MalformedResponse`` if the head being collected passed the limit."""
        if self._received > self._max_head:
            raise head_too_large(self._max_head)


def head_too_large(limit: int) -> MalformedResponse:
    """The error for heads (interim ones included) over ``limit`` bytes."""
    return MalformedResponse(f"response head larger than {limit // 1024} KiB")


def normalise_head(head: bytes) -> bytes:
    """A head llhttp can parse, from one it refused: each obs-fold replaced by one space
    (RFC 9112 §5.2), equal Content-Length values merged into one field (RFC 9110 §8.6),
    line ends made CRLF. Raises ``MalformedResponse`` for CR or NUL inside a line,
    whitespace before the first field (RFC 9112 §2.2) and conflicting lengths."""
    status_line, *lines = head.split(b"\n")
    fields: list[bytes] = []
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            break  # the blank line that ends the head
        if b"\r" in line or b"\x00" in line:
            raise MalformedResponse("CR or NUL inside a header field")
        if line[0] in b" \t":
            if not fields:
                raise MalformedResponse("whitespace before the first header field")
            fields[-1] = fields[-1].rstrip(b" \t") + b" " + line.lstrip(b" \t")
        else:
            fields.append(line)
    merged: list[bytes] = []
    lengths: list[bytes] = []
    first_length = -1
    for field in fields:
        name, _, value = field.partition(b":")
        if name.lower() == b"content-length":
            lengths.append(value)
            if first_length >= 0:
                continue
            first_length = len(merged)
        merged.append(field)
    if lengths:
        merged[first_length] = b"Content-Length: %d" % content_length(lengths)
    return b"\r\n".join([status_line.rstrip(b"\r"), *merged, b"", b""])


def bytes_after_heads(received: bytes, heads: int) -> bool:
    """Whether anything but line breaks follows the first ``heads`` heads in ``received``
    (heads llhttp accepted, so each ends at its first empty line)."""
    start = 0
    for _ in range(heads):
        match = _BLANK_LINE.search(received, skip_line_breaks(received, start))
        if match is None:
            return True  # not expected: stay on the safe side
        start = match.end()
    return skip_line_breaks(received, start) < len(received)


def skip_line_breaks(data: bytes | bytearray, start: int = 0) -> int:
    """Where the first byte that is not CR or LF is, from ``start``."""
    match = _LINE_BREAKS.match(data, start)
    assert match is not None  # the pattern matches the empty string
    return match.end()
