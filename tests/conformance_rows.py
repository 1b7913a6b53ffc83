"""The conformance table: byte-exact responses (every case issue 12 names), what the record
of each URL must say, and where httpx's own transport (httpcore and h11) says otherwise,
with the reason. ``test_conformance`` serves each row from ``rawserver``."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from tests.parser_cases import CHUNKED, OK, chunked
from tests.rawserver import Reply

MALFORMED = "malformed response from"
"""What both transports' protocol errors say (``errors.classify``), before the detail."""


@dataclass(frozen=True)
class Expect:
    """Fields the record of one URL must have."""

    ok: bool
    status: int | None
    bytes: int
    kind: str | None = None
    error: str | None = None  # a fragment of the error message
    waits: bool = False  # the transport waits for the server to close (hold): no time bound


@dataclass(frozen=True)
class Differs:
    """What httpx's own transport does instead of the row, and why."""

    why: str
    records: tuple[Expect, ...] = ()  # each URL's, in order (none: as the row says)
    connections: int | None = None  # (None: as the row says)


@dataclass(frozen=True)
class Row:
    reply: Reply
    expect: Expect  # every URL's record
    connections: int  # the connections the row's URLs open, all together
    detail: str = ""  # fast transport: a fragment of what its parser says
    content_type: str | None = None
    method: str = "GET"
    httpx: Differs | None = None


def ok(size: int, status: int = 200) -> Expect:
    return Expect(True, status, size)


def malformed(status: int | None = None, size: int = 0) -> Expect:
    return Expect(False, status, size, "protocol", MALFORMED)


def keep(data: bytes, expect: Expect, detail: str = "", **kwargs: object) -> Row:
    """A row whose server keeps the connection for the next request."""
    return Row(Reply(data), expect, 1, detail, **kwargs)  # type: ignore[arg-type]


HOLD = 1.0
"""Seconds a server holds a connection open, unread, after answering."""


def held(data: bytes, expect: Expect, detail: str = "", **kwargs: object) -> Row:
    """A row whose server holds the connection open unread after answering: a transport
    that reuses it, or waits for more, waits for the close."""
    reply = Reply(data, after="hold", hold=HOLD)
    return Row(reply, expect, 3, detail, **kwargs)  # type: ignore[arg-type]


def closed(data: bytes, expect: Expect, detail: str = "", **kwargs: object) -> Row:
    """A row whose server closes the connection after answering."""
    return Row(Reply(data, after="close"), expect, 3, detail, **kwargs)  # type: ignore[arg-type]


WAITED = Expect(False, None, 0, "protocol", "closed the connection without answering", True)
"""httpx's record for a URL sent on a kept connection the server held, at its close."""
H11_TAKES_IT = (
    "h11 takes it and keeps the connection, which the server holds: the next URL waits for "
    "the close"
)
H11_WAITS = "h11 takes the number (up to 20 digits) and waits for the body until the close"
H11_CHUNKED_ONLY = (
    "h11 supports no transfer coding but chunked alone: it refuses the head instead of "
    "undoing gzip or deflate"
)

ROWS: dict[str, Row] = {
    # leniencies
    "plain": keep(OK + b"Content-Length: 5\r\n\r\nhello", ok(5)),
    "bare LF head": keep(
        b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello",
        ok(5),
        content_type="text/plain",
    ),
    "bare LF and CRLF mixed": keep(OK + b"A: 1\nContent-Length: 5\r\n\nhello", ok(5)),
    "obs-fold unfolded to one space": keep(
        OK + b"Content-Type: text/html;\r\n charset=utf-8\r\nContent-Length: 2\r\n\r\nok",
        ok(2),
        content_type="text/html; charset=utf-8",
    ),
    "spaces after a chunk size": keep(CHUNKED + b"5  \r\nhello\r\n0\r\n\r\n", ok(5)),
    "chunk extension and trailer": keep(
        CHUNKED + b"5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", ok(5)
    ),
    "chunk size with 100 leading zeros": keep(
        CHUNKED + b"0" * 100 + b"5\r\nhello\r\n0\r\n\r\n",
        ok(5),
        httpx=Differs(
            "h11 refuses a chunk size of over 20 hex digits, leading zeros included",
            (malformed(200),) * 3,
            3,
        ),
    ),
    "control character in a value (Fetch)": keep(
        OK + b"X-A: a\x01b\r\nContent-Length: 2\r\n\r\nok", ok(2)
    ),
    "line breaks before the status line": keep(
        b"\r\n" + OK + b"Content-Length: 2\r\n\r\nok",
        ok(2),
        httpx=Differs("h11 refuses line breaks before a status line", (malformed(),) * 3, 3),
    ),
    # status line
    "status 000": held(
        b"HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n", malformed(), "status 000"
    ),
    "status 099": held(b"HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n", malformed(), "status 099"),
    # RFC 9110 §15 defines 100-599: h11 takes any three digits, typed_transport refuses
    # them as fetchall's parser does, and httpcore closes the connection
    "status 600": held(
        b"HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", malformed(), "status 600 outside 100-599"
    ),
    "status 999": held(
        b"HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n",
        Expect(False, None, 0, "protocol", "status 999 outside 100-599"),
    ),
    "status 2000": held(b"HTTP/1.1 2000 Big\r\nContent-Length: 0\r\n\r\n", malformed(), "status"),
    "status of 5,000 digits": held(
        b"HTTP/1.1 " + b"2" * 5000 + b" X\r\nContent-Length: 0\r\n\r\n", malformed(), "status"
    ),
    "NUL in the reason phrase": held(
        b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n", malformed(), "NUL"
    ),
    "HTTP/2.0 status line": held(
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        malformed(),
        "HTTP version 2.0",
    ),
    "HTTP/0.9 status line": held(
        b"HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n", malformed(), "HTTP version 0.9"
    ),
    "TLS bytes": held(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", malformed(), "HTTP/"),
    # chunk sizes
    "chunk size -1": held(CHUNKED + b"-1\r\nx\r\n0\r\n\r\n", malformed(200), "chunk size"),
    "chunk size -5": held(CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", malformed(200), "chunk size"),
    "chunk size +5": held(CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n", malformed(200), "chunk size"),
    "chunk size 0x10": held(CHUNKED + b"0x10\r\n" + b"x" * 16, malformed(200), "chunk size"),
    "chunk size 1_0": held(CHUNKED + b"1_0\r\n" + b"x" * 16, malformed(200), "chunk size"),
    "chunk size over 64 bits": held(
        CHUNKED + b"1" + b"f" * 16 + b"\r\nhello",
        malformed(200),
        "overflow",
        httpx=Differs(H11_WAITS, (Expect(False, 200, 5, "read", "lost after 5 bytes", True),) * 3),
    ),
    "chunk size of 2^63": held(
        CHUNKED + b"8000000000000000\r\nhello",
        malformed(200, 5),
        "does not fit 63 bits",
        httpx=Differs(H11_WAITS, (Expect(False, 200, 5, "read", "lost after 5 bytes", True),) * 3),
    ),
    # Content-Length
    "Content-Length conflicting": held(
        OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        malformed(),
        "conflicting Content-Length values 5 and 6",
    ),
    "Content-Length equal repeats": keep(
        OK + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", ok(5)
    ),
    "Content-Length list of equal values": keep(OK + b"Content-Length: 5, 5\r\n\r\nhello", ok(5)),
    "Content-Length list of different values": held(
        OK + b"Content-Length: 5, 6\r\n\r\nhello!", malformed(), "conflicting"
    ),
    "Content-Length of 5,000 digits": held(
        OK + b"Content-Length: " + b"1" * 5000 + b"\r\n\r\nhello", malformed(), "Content-Length"
    ),
    "Content-Length of 20 digits": held(
        OK + b"Content-Length: 10000000000000000000\r\n\r\nhello",
        malformed(),
        "Content-Length",
        httpx=Differs(H11_WAITS, (Expect(False, 200, 5, "read", "lost after 5 bytes", True),) * 3),
    ),
    "Content-Length 5x": held(
        OK + b"Content-Length: 5x\r\n\r\nhello", malformed(), "Content-Length"
    ),
    "Content-Length -5": held(
        OK + b"Content-Length: -5\r\n\r\nhello", malformed(), "Content-Length"
    ),
    "Content-Length superscript two": held(
        OK + b"Content-Length: \xc2\xb2\r\n\r\nhello", malformed(), "Content-Length"
    ),
    "Content-Length and Transfer-Encoding": held(
        OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked(b"hello"),
        malformed(),
        "Transfer-Encoding",
        httpx=Differs(
            f"{H11_TAKES_IT} (RFC 9112 §6.3: ought to be handled as an error)",
            (ok(5), WAITED, ok(5)),
            2,
        ),
    ),
    # Transfer-Encoding
    "Transfer-Encoding: gzip, chunked (undone)": keep(
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(gzip.compress(b"hello")),
        ok(5),
        httpx=Differs(H11_CHUNKED_ONLY, (malformed(),) * 3, 3),
    ),
    "Transfer-Encoding: x-gzip, chunked of two members": keep(
        OK
        + b"Transfer-Encoding: x-gzip, chunked\r\n\r\n"
        + chunked(gzip.compress(b"hello ") + gzip.compress(b"world")),
        ok(11),
        httpx=Differs(H11_CHUNKED_ONLY, (malformed(),) * 3, 3),
    ),
    "Transfer-Encoding: deflate, chunked": keep(
        OK + b"Transfer-Encoding: deflate, chunked\r\n\r\n" + chunked(zlib.compress(b"hi")),
        ok(2),
        httpx=Differs(H11_CHUNKED_ONLY, (malformed(),) * 3, 3),
    ),
    "Transfer-Encoding: gzip, chunked, not gzip inside": held(
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"hello"),
        malformed(200),
        "could not undo the gzip coding",
        httpx=Differs(H11_CHUNKED_ONLY, (malformed(),) * 3),
    ),
    "Transfer-Encoding: gzip, chunked, cut in half": held(
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(gzip.compress(b"x" * 99)[:15]),
        malformed(200, 99),  # all of the deflate data: only the gzip trailer is missing
        "ends early",
        httpx=Differs(H11_CHUNKED_ONLY, (malformed(),) * 3),
    ),
    "Transfer-Encoding: chunked, gzip": held(
        OK + b"Transfer-Encoding: chunked, gzip\r\n\r\nhello",
        malformed(),
        "does not end in chunked",
    ),
    "Transfer-Encoding: gzip": held(
        OK + b"Transfer-Encoding: gzip\r\n\r\nhello", malformed(), "does not end in chunked"
    ),
    "Transfer-Encoding: br, chunked": held(
        OK + b"Transfer-Encoding: br, chunked\r\n\r\n" + chunked(b"x"),
        malformed(),
        "unsupported transfer coding 'br'",
    ),
    "Transfer-Encoding: chunked, chunked": held(
        OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked(b"x"),
        malformed(),
        "more than once",
    ),
    # field values
    "NUL in a value": held(
        OK + b"Content-Type: text/html\x00evil\r\nContent-Length: 0\r\n\r\n", malformed(), "NUL"
    ),
    "CR in a value": held(OK + b"X-A: a\rb\r\nContent-Length: 0\r\n\r\n", malformed(), "CR"),
    "space before a colon": held(
        OK + b"X-A : 1\r\nContent-Length: 0\r\n\r\n", malformed(), "header token"
    ),
    # connection persistence
    "HTTP/1.0 without keep-alive, the server keeps the connection": held(
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", ok(5)
    ),
    "POST after HTTP/1.0": held(
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", ok(5), method="POST"
    ),
    "HTTP/1.0 with Connection: keep-alive": keep(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 5\r\n\r\nhello",
        ok(5),
        httpx=Differs("h11 never keeps an HTTP/1.0 connection", connections=3),
    ),
    "Connection: close, the server keeps the connection": held(
        OK + b"Connection: close\r\nContent-Length: 5\r\n\r\nhello", ok(5)
    ),
    "close in a second Connection field": held(
        OK + b"Connection: keep-alive\r\nConnection: Close\r\nContent-Length: 5\r\n\r\nhello",
        ok(5),
    ),
    "Connection: closed is not close": keep(
        OK + b"Connection: closed\r\nContent-Length: 5\r\n\r\nhello", ok(5)
    ),
    "bytes after the response": held(
        OK + b"Content-Length: 2\r\n\r\nok" + OK + b"Content-Length: 0\r\n\r\n",
        ok(2),
    ),
    "a second response after the first, same write": held(
        OK + b"Content-Length: 5\r\n\r\nhello" + OK + b"Content-Length: 6\r\n\r\nPOISON",
        ok(5),
    ),
    "204 with a body": held(
        b"HTTP/1.1 204 No Content\r\n\r\nPOISON" + OK + b"Content-Length: 0\r\n\r\n",
        Expect(True, 204, 0),
    ),
    "HEAD answered with a body": held(
        OK + b"Content-Length: 6\r\n\r\nPOISON" + OK + b"Content-Length: 0\r\n\r\n",
        Expect(True, 200, 0),
        method="HEAD",
    ),
    # interim responses
    "100 before 200": keep(
        b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 5\r\n\r\nhello", ok(5)
    ),
    "102 and 103 before 200": keep(
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        + OK
        + b"Content-Length: 5\r\n\r\nhello",
        ok(5),
    ),
    "100, 100, 103 before 200, folded": keep(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early\r\nLink: </a>;\r\n rel=preload\r\n\r\n"
        + OK
        + b"Content-Length: 5\r\n\r\nhello",
        ok(5),
    ),
    "199 with content": held(
        b"HTTP/1.1 199 Misc\r\nContent-Length: 3\r\n\r\nabc" + OK + b"Content-Length: 0\r\n\r\n",
        malformed(),
        "1xx",
    ),
    "101 unasked": held(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        malformed(),
        "101",
    ),
    "101 unasked, without Upgrade fields": held(
        b"HTTP/1.1 101 Switching Protocols\r\n\r\nraw bytes", malformed(), "101"
    ),
    # head size
    "head of 90 KiB": keep(
        OK
        + b"".join(b"X-%05d: %s\r\n" % (i, b"v" * 1000) for i in range(90))
        + b"Content-Length: 2\r\n\r\nok",
        ok(2),
    ),
    "head of 110 KiB": held(
        OK
        + b"".join(b"X-%05d: %s\r\n" % (i, b"v" * 1000) for i in range(110))
        + b"Content-Length: 2\r\n\r\nok",
        malformed(),
        "response head larger than 100 KiB",
    ),
    "interim heads of 120 KiB before 200": held(
        b"HTTP/1.1 100 Continue\r\n\r\n" * 5000 + OK + b"Content-Length: 2\r\n\r\nok",
        malformed(),
        "response head larger than 100 KiB",
    ),
    # bodies and the end of the connection
    "close-delimited body": closed(OK + b"Content-Type: text/plain\r\n\r\nhello", ok(5)),
    "Content-Length body cut short": closed(
        OK + b"Content-Length: 10\r\n\r\nhello",
        Expect(False, 200, 5, "read", "lost after 5 bytes"),
        "after 5 of 10 body bytes",
    ),
    "chunked body cut short": closed(
        CHUNKED + b"5\r\nhel",
        Expect(False, 200, 3, "read", "lost after 3 bytes"),
        "inside the chunked body",
    ),
    "closed without a response": closed(
        b"", Expect(False, None, 0, "protocol", "closed the connection without answering")
    ),
    "a head cut short": closed(
        OK + b"Content-Le",
        malformed(),
        "inside the response head",
    ),
    "HEAD response with Content-Length": keep(
        OK + b"Content-Length: 5\r\n\r\n", ok(0), method="HEAD"
    ),
    "HEAD response with a body sent anyway": held(
        OK + b"Content-Length: 5\r\n\r\nhello",
        ok(0),
        method="HEAD",
    ),
    "204 with Content-Length": keep(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ok(0, 204)
    ),
    "304 with Content-Length": keep(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", ok(0, 304)
    ),
}
