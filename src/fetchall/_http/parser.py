"""An HTTP/1.1 response parser: llhttp (through httptools 0.9.0) parses; this module adds
the checks llhttp lacks, skips interim responses, and knows when a response ends and
whether its connection may carry another. A connection feeds it what it receives::

    parser = ResponseParser("GET")
    parser.feed(data)               # parser.head once it is in
    parser.feed_eof()               # the peer closed: ends a close-delimited body, or raises
    chunks = parser.take_body()     # the body bytes parsed so far (before an error too)
    parser.complete, parser.reusable

Only these escape, at the first byte that shows them, and again at every later call
(``errors``): ``MalformedResponse``, ``IncompleteBody`` (closed inside a body),
``NoResponse`` (closed before a response began); a bug here shows as itself.

Leniencies: ``binding.llhttp``'s, and heads llhttp refuses repaired (``repair``). Checks of
ours: the status in 100-599, HTTP/1.0 or 1.1, no NUL in the reason, no 101 unasked, no
content or close the framing does not allow (``final_head``), the framing fields
(``fields``), heads up to ``MAX_HEAD_BYTES``, chunk sizes within 63 bits, trailer sections
and chunk framing without data up to it (``chunks``); trailer fields ignored (framing ones
too, RFC 9112 §7.1.2). Transfer codings are undone by the reader (``transfer_decoder``), in
bounded steps. What llhttp does with each case was measured (issue 12's prototype);
``tests/parser_cases.py`` holds the cases.
"""

from __future__ import annotations

from typing import Final

import httpx

from fetchall._http.binding import DETACHED, LLHTTP_ERRORS, Stop, llhttp, raised_by_callback
from fetchall._http.chunks import ChunkedFraming
from fetchall._http.errors import MalformedResponse
from fetchall._http.fields import CHUNKED, CLOSE, FRAMING_NAME_SIZES, NONE
from fetchall._http.final_head import (
    Head,
    body_framing,
    check_status_line,
    closed_early,
    unexpected_content,
)
from fetchall._http.repair import HeadRepair, bytes_after_heads, head_too_large, skip_line_breaks
from fetchall._http.transfer_coding import TransferDecoder

MAX_HEAD_BYTES: Final = 100 * 1024
"""The most bytes the status line and fields may take, interim (1xx) heads included:
httpx (httpcore's h11 setting) and curl allow 100 KiB."""


# states (plain ints, as in fields)
_HEAD: Final = 0  # reading the head(s) with the strict llhttp
_REPAIR: Final = 1  # the strict llhttp refused a head: see repair
_BODY: Final = 2
_DONE: Final = 3


class ResponseParser:
    """Parses the response to one request (one parser per request). ``method`` tells
    whether a body can follow (not for HEAD, RFC 9110 §9.3.2); ``upgrade`` whether the
    request asked for a protocol switch, which alone makes a 101 acceptable.

    The ``on_*`` methods are llhttp's callbacks, not for callers."""

    # Slots, all set in __init__ in one order: Python 3.11 specialises their reads and
    # writes. With class-level defaults instead, a request took ~10,000 more instructions
    # (callgrind, -c 64): each miss in the instance falls back to the type's dictionary.
    __slots__ = (
        "_body_fed", "_chunked", "_chunks", "_error", "_extra", "_framing",
        "_framing_fields", "_headers", "_interim", "_keep_alive", "_length", "_llhttp",
        "_max_head", "_messages", "_no_body", "_raw", "_raw_size", "_reason", "_received",
        "_repair", "_state", "_stopped", "_upgrade", "complete", "head", "transfer_decoder",
    )  # fmt: skip

    def __init__(self, method: str, *, upgrade: bool = False, max_head: int = MAX_HEAD_BYTES):
        self.head: Head | None = None
        """The final response's head, once it has arrived."""
        self.complete = False
        """The response has ended (its body, if any, handed on in full)."""
        self._no_body = method == "HEAD"
        self._upgrade = upgrade
        self._max_head = max_head
        self._state = _HEAD
        self._error: httpx.RemoteProtocolError | None = None
        self._raw: list[bytes] = []  # what arrived while in the head(s), for a repair
        self._raw_size = 0  # bytes received while in the head(s)
        self._repair: HeadRepair | None = None
        self._messages = 0  # messages llhttp began: interim ones, then the final one
        self._interim = False  # the message being parsed is a 1xx
        self._stopped = False  # llhttp was stopped right after the final head
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._framing_fields: list[tuple[bytes, bytes]] = []  # (lowered name, value)
        self._framing = CLOSE
        self._keep_alive = False
        self._extra = False  # bytes arrived after the response ended
        self._received = 0  # body bytes as framed (before undoing transfer codings)
        self._length = 0  # the Content-Length, for a body framed by one
        self._chunks: list[bytes] = []
        self.transfer_decoder: TransferDecoder | None = None
        """The transfer codings before ``chunked`` to undo (by the reader, in bounded
        steps, ``finish`` at the end): ``take_body`` gives the bytes still coded."""
        self._body_fed = False  # llhttp gave body bytes in the feed being parsed
        self._chunked: ChunkedFraming | None = None  # made for a chunked body
        self._llhttp = DETACHED  # the real one is made when the first bytes arrive

    @property
    def reusable(self) -> bool:
        """The response ended, its connection is persistent (RFC 9112 §9.3) and nothing
        arrived after it: the connection may carry the next request."""
        return self.complete and self._keep_alive and not self._extra

    def take_body(self) -> list[bytes]:
        """The body bytes parsed since the last call, in the pieces llhttp gave (transfer
        codings undone); after an error, those that came before it."""
        chunks, self._chunks = self._chunks, []
        return chunks

    def feed(self, data: bytes) -> None:
        """Parse the next bytes received. Bytes after the response are noted, not parsed.
        ``data`` is kept until the head has ended: it must not change."""
        if self._error is not None:
            raise self._error
        if not data:  # llhttp would call on_body with b""
            return
        state = self._state
        try:
            if state == _BODY:
                self._execute(data)
            elif state == _DONE:  # line breaks are skipped, as llhttp does between messages
                self._extra = self._extra or skip_line_breaks(data) < len(data)
            else:
                self._feed_head(data)
        except httpx.RemoteProtocolError as exc:
            self._error = exc
            raise

    def feed_eof(self, lost: BaseException | None = None) -> None:
        """The peer will send nothing more: its close ends a close-delimited body (RFC 9112
        §6.3 item 8) and is an error anywhere else before the response ended; ``lost`` is
        the error that ended the connection instead (a reset), an error even there."""
        if self._error is not None:
            raise self._error
        if self._state != _DONE:
            began = self._messages > 0 or self._repair is not None  # not just line breaks
            in_body = self._state == _BODY
            self._error = closed_early(
                in_body, began, self._framing, self._received, self._length, lost
            )
            if self._error is not None:
                raise self._error
            self._done()
        self._extra = True  # nothing can follow on this connection

    # reading the head(s)

    def _feed_head(self, data: bytes) -> None:
        if self._llhttp is DETACHED:  # the first bytes
            self._llhttp = llhttp(self, lenient_headers=False)
        room = self._max_head - self._raw_size
        self._raw_size += len(data)
        if self._repair is not None:
            self._repair.feed(data, self._parse_repaired, self._after_heads)
            return
        self._raw.append(data)
        if len(data) <= room:
            self._execute(data)
        else:  # let llhttp see no more than the limit until the head has ended
            self._execute(data[:room])
            if self._repair is None:  # (a repair took all of data)
                if self._state == _HEAD:
                    raise head_too_large(self._max_head)
                self._after_heads(data[room:])
        if self._stopped and self._repair is None:  # llhttp cannot say where it stopped
            self._extra = self._extra or bytes_after_heads(b"".join(self._raw), self._messages)
        if self._state >= _BODY:
            self._raw = []

    def _parse_repaired(self, head: bytes) -> bool:
        """Parse a head ``HeadRepair`` handed out, normalised, with the lenient llhttp:
        whether it was the final one."""
        self._execute(head)
        return self._state >= _BODY

    def _after_heads(self, rest: bytes) -> None:
        """Parse what followed the final head: its body, or bytes that make the connection
        unfit (after a response without a body)."""
        if self._state == _BODY:
            self._execute(rest)
        else:
            self._extra = self._extra or skip_line_breaks(rest) < len(rest)

    def _execute(self, data: bytes) -> None:
        """Feed llhttp; its exceptions, and those our callbacks raised, become ours (which
        ``feed`` remembers)."""
        try:
            self._llhttp.feed_data(data)
        except LLHTTP_ERRORS as exc:
            error: Exception = exc  # handled below, outside the except clause: unchained
        else:
            if self._chunked is not None and self._state == _BODY:
                self._chunked.fed(data, self._received, self._body_fed)
                self._body_fed = False
            return
        cause = raised_by_callback(error)
        if cause is not None:  # ours, or a bug in a callback: let it show as one
            raise cause
        if self._state == _DONE:  # llhttp stopped, or refused what came after
            self._extra = self._extra or not self._stopped
        elif self._state == _HEAD:  # perhaps a fold or a repeated Content-Length
            self._state = _REPAIR
            self._forget_head()
            self._llhttp = llhttp(self, lenient_headers=True)
            self._repair = HeadRepair(self._max_head)
            raw, self._raw = b"".join(self._raw), []
            self._repair.feed(raw, self._parse_repaired, self._after_heads)
        else:
            raise MalformedResponse(str(error))

    # llhttp's callbacks

    def on_message_begin(self) -> None:
        if self._state == _DONE:  # a second response: our request had one
            self._extra = True
            raise Stop
        self._messages += 1

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._state == _BODY:  # a trailer field (after the last chunk): never kept
            assert self._chunked is not None  # made with the chunked framing
            self._chunked.trailer_field(len(name) + len(value) + 4)
            return
        value = value.rstrip(b" \t")  # llhttp drops the whitespace before, not after
        self._headers.append((name, value))
        if len(name) in FRAMING_NAME_SIZES:
            self._framing_fields.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._llhttp.get_status_code()
        number = self._llhttp.get_http_version()
        version = check_status_line(number, status, self._reason, self._upgrade)
        if version is None:
            self._interim = True  # RFC 9110 §15.2: skipped; RFC 9112 §6.3: no content
            return
        self._begin_body(status, version)
        if self._no_body or status == 101:
            self._stopped = True  # llhttp would read a body a HEAD response does not have
            raise Stop

    def on_chunk_header(self) -> None:
        if self._state != _BODY or self._chunked is None:
            raise unexpected_content(self._interim)
        self._chunked.began(self._received)

    def on_chunk_complete(self) -> None:
        assert self._chunked is not None  # only after on_chunk_header
        self._chunked.ended()

    def on_body(self, body: bytes) -> None:
        if self._state != _BODY or (self._chunked is not None and not self._chunked.seen):
            raise unexpected_content(self._interim)
        self._received += len(body)
        self._body_fed = True
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._forget_head()
        elif self._state == _BODY:
            self._done()

    def _forget_head(self) -> None:
        """Start afresh on a head: after an interim response, or to parse again."""
        self._interim = False
        self._reason = b""
        self._headers = []
        self._framing_fields = []

    # the final head

    def _begin_body(self, status: int, version: bytes) -> None:
        """Frame the body and decide the connection's persistence (``final_head``)."""
        framing = body_framing(self._framing_fields, version, status, self._no_body)
        self._framing = framing.kind
        self._length = framing.length
        self._keep_alive = framing.persistent
        if framing.kind == CHUNKED:
            self._chunked = ChunkedFraming(self._max_head, self._llhttp)
            if framing.codings:
                self.transfer_decoder = TransferDecoder(framing.codings)
        self.head = Head(version, status, self._reason, self._headers)
        self._headers = []
        if framing.kind == NONE:
            self._done()
        else:
            self._state = _BODY

    def _done(self) -> None:
        self._state = _DONE
        self.complete = True
        self._llhttp = DETACHED  # a running llhttp keeps itself alive
