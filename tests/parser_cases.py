"""Byte-exact responses and what ``ResponseParser`` must make of each: every case issue 12
names, and the edges found measuring llhttp for issue 12's prototype. Used by
``test_parser`` (fed whole and a byte at a time)."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import httpx

from fetchall._http.errors import IncompleteBody, MalformedResponse, NoResponse
from fetchall._http.parser import MAX_HEAD_BYTES

OK = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"


def chunked(body: bytes) -> bytes:
    """``body`` as one chunk and the last chunk."""
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


@dataclass(frozen=True)
class Case:
    data: bytes
    status: int | None = 200
    body: bytes = b""
    reusable: bool = False
    error: type[httpx.RemoteProtocolError] | None = None
    message: str = ""  # a fragment of the error's message
    method: str = "GET"
    upgrade: bool = False
    version: bytes = b"HTTP/1.1"
    header: tuple[bytes, bytes] | None = None  # a field the head must have, as parsed


def fails(
    error: type[httpx.RemoteProtocolError], message: str, data: bytes, **kwargs: object
) -> Case:
    """A response refused before its head was accepted."""
    return Case(data, status=None, error=error, message=message, **kwargs)  # type: ignore[arg-type]


def body_fails(error: type[httpx.RemoteProtocolError], message: str, data: bytes) -> Case:
    """A response whose head (status 200) was accepted, and whose body was refused."""
    return Case(data, error=error, message=message)


GZIP_TWO_MEMBERS = gzip.compress(b"hello ") + gzip.compress(b"world")

CASES: dict[str, Case] = {
    # leniencies (issue 12 point 1)
    "plain": Case(OK + b"Content-Length: 5\r\n\r\nhello", body=b"hello", reusable=True),
    "bare LF head": Case(
        b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello",
        body=b"hello",
        reusable=True,
        header=(b"Content-Type", b"text/plain"),
    ),
    "bare LF and CRLF mixed": Case(
        OK + b"A: 1\nContent-Length: 5\r\n\nhello", body=b"hello", reusable=True
    ),
    "obs-fold unfolded to one space": Case(
        OK + b"X-Long: first  \r\n  second\r\n\tthird\r\nContent-Length: 2\r\n\r\nok",
        body=b"ok",
        reusable=True,
        header=(b"X-Long", b"first second third"),
    ),
    "obs-fold with bare LF": Case(
        b"HTTP/1.1 200 OK\nX-Long: a\n b\nContent-Length: 0\n\n",
        reusable=True,
        header=(b"X-Long", b"a b"),
    ),
    "obs-fold in Content-Type": Case(
        OK + b"Content-Type: text/html;\r\n charset=utf-8\r\nContent-Length: 0\r\n\r\n",
        reusable=True,
        header=(b"Content-Type", b"text/html; charset=utf-8"),
    ),
    "obs-fold in Transfer-Encoding is framed as chunked": Case(
        OK + b"Transfer-Encoding: gzip,\r\n chunked\r\n\r\n" + chunked(gzip.compress(b"hi")),
        body=b"hi",
        reusable=True,
    ),
    "obs-fold before the first field": fails(
        MalformedResponse,
        "whitespace before the first header field",
        OK + b" X-Bad: 1\r\nContent-Length: 0\r\n\r\n",
    ),
    "spaces after a chunk size": Case(
        CHUNKED + b"5  \r\nhello\r\n0\r\n\r\n", body=b"hello", reusable=True
    ),
    "tab and extension after a chunk size": Case(
        CHUNKED + b"5\t;name=value\r\nhello\r\n0\r\n\r\n", body=b"hello", reusable=True
    ),
    "trailer fields ignored": Case(
        CHUNKED + b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", body=b"hello", reusable=True
    ),
    "control character other than NUL in a value (Fetch)": Case(
        OK + b"X-A: a\x01b\x7f\r\nContent-Length: 0\r\n\r\n",
        reusable=True,
        header=(b"X-A", b"a\x01b\x7f"),
    ),
    "trailing whitespace dropped from a value": Case(
        OK + b"Content-Type: text/plain \t\r\nContent-Length: 0\r\n\r\n",
        reusable=True,
        header=(b"Content-Type", b"text/plain"),
    ),
    "line breaks before the status line": Case(
        b"\r\n\n" + OK + b"Content-Length: 0\r\n\r\n", reusable=True
    ),
    "line break after the body (harmless)": Case(
        OK + b"Content-Length: 2\r\n\r\nok\r\n", body=b"ok", reusable=True
    ),
    # status line
    "status 000": fails(MalformedResponse, "status 000", b"HTTP/1.1 000 Zero\r\n\r\n"),
    "status 099": fails(MalformedResponse, "status 099", b"HTTP/1.1 099 X\r\n\r\n"),
    "status 600": fails(MalformedResponse, "status 600", b"HTTP/1.1 600 X\r\n\r\n"),
    "status 2000": fails(MalformedResponse, "status", b"HTTP/1.1 2000 Big\r\n\r\n"),
    "status abc": fails(MalformedResponse, "status", b"HTTP/1.1 abc Bad\r\n\r\n"),
    "status of 5,000 digits": fails(
        MalformedResponse, "status", b"HTTP/1.1 " + b"2" * 5000 + b" X\r\n\r\n"
    ),
    "status 599 without a reason": Case(
        b"HTTP/1.1 599\r\nContent-Length: 0\r\n\r\n", status=599, reusable=True
    ),
    "NUL in the reason phrase": fails(
        MalformedResponse, "NUL", b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n"
    ),
    "HTTP/2.0 status line": fails(MalformedResponse, "version 2.0", b"HTTP/2.0 200 OK\r\n\r\n"),
    "HTTP/1.2 status line": fails(MalformedResponse, "version", b"HTTP/1.2 200 OK\r\n\r\n"),
    "TLS bytes": fails(MalformedResponse, "HTTP/", b"\x16\x03\x01\x00\xa5\x01\x00\x00"),
    # chunk sizes
    "chunk size -1": body_fails(MalformedResponse, "chunk size", CHUNKED + b"-1\r\nx\r\n0\r\n\r\n"),
    "chunk size -5": body_fails(MalformedResponse, "chunk size", CHUNKED + b"-5\r\nhello\r\n"),
    "chunk size +5": body_fails(MalformedResponse, "chunk size", CHUNKED + b"+5\r\nhello\r\n"),
    "chunk size 0x10": body_fails(
        MalformedResponse, "chunk size", CHUNKED + b"0x10\r\n" + b"x" * 16
    ),
    "chunk size 1_0": body_fails(MalformedResponse, "chunk size", CHUNKED + b"1_0\r\n" + b"x" * 16),
    "chunk size empty": body_fails(MalformedResponse, "chunk size", CHUNKED + b"\r\nhello\r\n"),
    "chunk size over 64 bits": body_fails(
        MalformedResponse, "overflow", CHUNKED + b"1" + b"f" * 16 + b"\r\nhello"
    ),
    "chunk size of 2^63": body_fails(
        MalformedResponse, "does not fit 63 bits", CHUNKED + b"8000000000000000\r\nhello"
    ),
    "chunk size of 2^64 - 1, leading zeros, an extension": body_fails(
        MalformedResponse,
        "does not fit 63 bits",
        CHUNKED + b"5\r\nhello\r\n" + b"0" * 70 + b"ffffffffffffffff;a=b\r\nhello",
    ),
    "chunk size of 2^63 - 1 (cut short)": Case(
        CHUNKED + b"7fffffffffffffff\r\nhello",
        error=IncompleteBody,
        message="chunked body after 5 bytes",
    ),
    "a trailer field named like a chunk size": Case(
        CHUNKED + b"5\r\nhello\r\n0\r\nFFFFFFFFFFFFFFFF: 1\r\n\r\n", body=b"hello", reusable=True
    ),
    "chunk size with many leading zeros": Case(
        CHUNKED + b"0" * 100 + b"5\r\nhello\r\n0\r\n\r\n", body=b"hello", reusable=True
    ),
    "no CRLF after chunk data": body_fails(
        MalformedResponse, "chunk data", CHUNKED + b"5\r\nhello0\r\n\r\n"
    ),
    # Content-Length
    "Content-Length conflicting": fails(
        MalformedResponse,
        "conflicting Content-Length values 5 and 6",
        OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    ),
    "Content-Length equal repeats": Case(
        OK + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", body=b"hello", reusable=True
    ),
    "Content-Length list of equal values": Case(
        OK + b"Content-Length: 5, 5\r\n\r\nhello", body=b"hello", reusable=True
    ),
    "Content-Length list of different values": fails(
        MalformedResponse, "conflicting", OK + b"Content-Length: 5, 6\r\n\r\nhello!"
    ),
    "Content-Length of 5,000 digits": fails(
        MalformedResponse, "Content-Length", OK + b"Content-Length: " + b"1" * 5000 + b"\r\n\r\n"
    ),
    "Content-Length of 20 digits": fails(
        MalformedResponse,
        "Content-Length",
        OK + b"Content-Length: 10000000000000000000\r\n\r\nhello",
    ),
    "Content-Length of 19 digits, cut short": Case(
        OK + b"Content-Length: 1000000000000000000\r\n\r\nhello",
        error=IncompleteBody,
        message="5 of 1000000000000000000",
    ),
    "Content-Length not digits": fails(
        MalformedResponse, "Content-Length", OK + b"Content-Length: 5x\r\n\r\nhello"
    ),
    "Content-Length negative": fails(
        MalformedResponse, "Content-Length", OK + b"Content-Length: -5\r\n\r\nhello"
    ),
    "Content-Length superscript two": fails(
        MalformedResponse, "Content-Length", OK + b"Content-Length: \xc2\xb2\r\n\r\nhello"
    ),
    "Content-Length and Transfer-Encoding": fails(
        MalformedResponse,
        "Transfer-Encoding",
        OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked(b"hello"),
    ),
    # Transfer-Encoding
    "Transfer-Encoding: gzip, chunked (undone)": Case(
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(gzip.compress(b"hello")),
        body=b"hello",
        reusable=True,
    ),
    "Transfer-Encoding: gzip, chunked of two members": Case(
        OK + b"Transfer-Encoding: x-gzip, chunked\r\n\r\n" + chunked(GZIP_TWO_MEMBERS),
        body=b"hello world",
        reusable=True,
    ),
    "Transfer-Encoding: gzip, chunked, not gzip inside": body_fails(
        MalformedResponse,
        "could not undo the gzip coding",
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"hello"),
    ),
    "Transfer-Encoding: gzip, chunked, gzip cut in half": body_fails(
        MalformedResponse,
        "ends early",
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(gzip.compress(b"x" * 99)[:15]),
    ),
    "Transfer-Encoding: deflate, chunked (zlib)": Case(
        OK + b"Transfer-Encoding: deflate, chunked\r\n\r\n" + chunked(zlib.compress(b"hello")),
        body=b"hello",
        reusable=True,
    ),
    "Transfer-Encoding: deflate, chunked (raw)": Case(
        OK
        + b"Transfer-Encoding: deflate, chunked\r\n\r\n"
        + chunked(zlib.compress(b"hello")[2:-4]),
        body=b"hello",
        reusable=True,
    ),
    "Transfer-Encoding: chunked, gzip": fails(
        MalformedResponse,
        "does not end in chunked",
        OK + b"Transfer-Encoding: chunked, gzip\r\n\r\nhello",
    ),
    "Transfer-Encoding: gzip": fails(
        MalformedResponse, "does not end in chunked", OK + b"Transfer-Encoding: gzip\r\n\r\nhello"
    ),
    "Transfer-Encoding: identity": fails(
        MalformedResponse,
        "does not end in chunked",
        OK + b"Transfer-Encoding: identity\r\n\r\nhello",
    ),
    "Transfer-Encoding: br, chunked": fails(
        MalformedResponse,
        "'br'",
        OK + b"Transfer-Encoding: br, chunked\r\n\r\n" + chunked(b"x"),
    ),
    "Transfer-Encoding: chunked, chunked": fails(
        MalformedResponse,
        "more than once",
        OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked(b"x"),
    ),
    "Transfer-Encoding: chunked;ext=1": fails(
        MalformedResponse,
        "does not end in chunked",
        OK + b"Transfer-Encoding: chunked;ext=1\r\n\r\n" + chunked(b"x"),
    ),
    "Transfer-Encoding: chunked, (llhttp: not chunked)": body_fails(
        MalformedResponse, "framing", OK + b"Transfer-Encoding: chunked,\r\n\r\n" + chunked(b"x")
    ),
    "Transfer-Encoding: chunked<TAB> (llhttp: not chunked)": body_fails(
        MalformedResponse, "framing", OK + b"Transfer-Encoding: chunked\t\r\n\r\n" + chunked(b"x")
    ),
    "Transfer-Encoding: gzip, chunked, zero bytes between members (skipped, as gzip(1))": Case(
        OK
        + b"Transfer-Encoding: gzip, chunked\r\n\r\n"
        + chunked(gzip.compress(b"hello ") + b"\0" * 7 + gzip.compress(b"world")),
        body=b"hello world",
        reusable=True,
    ),
    "Transfer-Encoding: gzip, chunked, junk after a member": body_fails(
        MalformedResponse,
        "could not undo the gzip coding: invalid gzip data",
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(gzip.compress(b"hi") + b"junk"),
    ),
    "Transfer-Encoding: deflate, gzip, chunked (undone last first)": Case(
        OK
        + b"Transfer-Encoding: deflate, gzip, chunked\r\n\r\n"
        + chunked(gzip.compress(zlib.compress(b"twice coded"))),
        body=b"twice coded",
        reusable=True,
    ),
    "Transfer-Encoding: deflate, chunked, no body byte (empty, as a content coding)": Case(
        OK + b"Transfer-Encoding: deflate, chunked\r\n\r\n0\r\n\r\n", body=b"", reusable=True
    ),
    "Transfer-Encoding: deflate, chunked, deflate cut short": body_fails(
        MalformedResponse,
        "the deflate transfer coding ends early",
        OK + b"Transfer-Encoding: deflate, chunked\r\n\r\n" + chunked(zlib.compress(b"x" * 99)[:6]),
    ),
    "Transfer-Encoding: deflate, chunked, data after the stream": body_fails(
        MalformedResponse,
        "after the end",
        OK + b"Transfer-Encoding: deflate, chunked\r\n\r\n" + chunked(zlib.compress(b"hi") + b"x"),
    ),
    "trailer with Content-Length (ignored, RFC 9112 §7.1.2)": Case(
        CHUNKED + b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n", body=b"hello", reusable=True
    ),
    "trailer with Transfer-Encoding (ignored)": Case(
        CHUNKED + b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
        body=b"hello",
        reusable=True,
    ),
    "trailer section of 90 KiB": Case(
        CHUNKED + b"5\r\nhello\r\n0\r\n" + b"X-T: " + b"a" * 90 * 1024 + b"\r\n\r\n",
        body=b"hello",
        reusable=True,
    ),
    "trailer section over 100 KiB": body_fails(
        MalformedResponse,
        "trailer section over 100 KiB",
        CHUNKED
        + b"5\r\nhello\r\n0\r\n"
        + b"".join(b"X-T%d: " % i + b"a" * 1000 + b"\r\n" for i in range(3000))
        + b"\r\n",
    ),
    "Transfer-Encoding in two fields": Case(
        OK
        + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(gzip.compress(b"hi")),
        body=b"hi",
        reusable=True,
    ),
    # field values
    "NUL in a value": fails(
        MalformedResponse,
        "NUL",
        OK + b"Content-Type: text/html\x00evil\r\nContent-Length: 0\r\n\r\n",
    ),
    "CR in a value": fails(MalformedResponse, "CR", OK + b"X-A: a\rb\r\nContent-Length: 0\r\n\r\n"),
    "CR smuggling a field (CVE-2023-37276 shape)": fails(
        MalformedResponse, "CR", OK + b"X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n"
    ),
    "space before a colon": fails(
        MalformedResponse, "header token", OK + b"X-A : 1\r\nContent-Length: 0\r\n\r\n"
    ),
    # connection persistence (issue 12 point 3)
    "HTTP/1.0 without keep-alive": Case(
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", body=b"hello", version=b"HTTP/1.0"
    ),
    "HTTP/1.0 with Connection: keep-alive": Case(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 5\r\n\r\nhello",
        body=b"hello",
        reusable=True,
        version=b"HTTP/1.0",
    ),
    "Connection: close": Case(
        OK + b"Connection: close\r\nContent-Length: 5\r\n\r\nhello", body=b"hello"
    ),
    "close as the second token": Case(
        OK + b"Connection: upgrade, close\r\nContent-Length: 5\r\n\r\nhello", body=b"hello"
    ),
    "close in a second Connection field": Case(
        OK + b"Connection: keep-alive\r\nConnection: Close\r\nContent-Length: 5\r\n\r\nhello",
        body=b"hello",
    ),
    "Connection: closed is not close": Case(
        OK + b"Connection: closed\r\nContent-Length: 5\r\n\r\nhello", body=b"hello", reusable=True
    ),
    "a second response after the first": Case(
        OK + b"Content-Length: 2\r\n\r\nok" + OK + b"Content-Length: 0\r\n\r\n", body=b"ok"
    ),
    # interim responses
    "100 before 200": Case(
        b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 5\r\n\r\nhello",
        body=b"hello",
        reusable=True,
    ),
    "102 and 103 before 200": Case(
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        + OK
        + b"Content-Length: 5\r\n\r\nhello",
        body=b"hello",
        reusable=True,
    ),
    "100, 100, 103 before 200, folded fields in the 103 and the 200": Case(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early\r\nLink: </a>;\r\n rel=preload\r\n\r\n"
        + OK
        + b"X: a\r\n b\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        body=b"hello",
        reusable=True,
        header=(b"X", b"a b"),
    ),
    "100 with Content-Length (no content, RFC 9112 §6.3)": Case(
        b"HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n",
        reusable=True,
    ),
    "199 with content": fails(
        MalformedResponse,
        "1xx",
        b"HTTP/1.1 199 Misc\r\nContent-Length: 3\r\n\r\nabc" + OK + b"Content-Length: 0\r\n\r\n",
    ),
    "199 chunked": fails(
        MalformedResponse,
        "1xx",
        b"HTTP/1.1 199 Misc\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"x") + OK + b"\r\n",
    ),
    "101 unasked": fails(
        MalformedResponse,
        "101",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ),
    "101 unasked, without Upgrade fields": fails(
        MalformedResponse, "101", b"HTTP/1.1 101 Switching Protocols\r\n\r\nraw bytes"
    ),
    "101 asked": Case(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        b"\x81\x05hello",
        status=101,
        upgrade=True,
    ),
    # head size
    "head over 100 KiB": fails(
        MalformedResponse,
        "response head larger than 100 KiB",
        OK + b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\nContent-Length: 0\r\n\r\n",
    ),
    "head over 100 KiB in interim responses": fails(
        MalformedResponse,
        "response head larger than 100 KiB",
        b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_HEAD_BYTES // 25 + 1) + OK + b"\r\n",
    ),
    "head over 100 KiB, folded": fails(
        MalformedResponse,
        "response head larger than 100 KiB",
        OK + b"X: a\r\n " + b"a" * 2 * MAX_HEAD_BYTES + b"\r\nContent-Length: 0\r\n\r\n",
    ),
    "head over 100 KiB, a long status line after a folded 1xx": fails(
        MalformedResponse,
        "response head larger than 100 KiB",
        b"HTTP/1.1 100 Continue\r\nX: a\r\n b\r\n\r\nHTTP/1.1 200 " + b"a" * MAX_HEAD_BYTES,
    ),
    "head of 99 KiB and a body in one read": Case(
        OK + b"X: " + b"v" * (99 * 1024) + b"\r\nContent-Length: 5000\r\n\r\n" + b"b" * 5000,
        body=b"b" * 5000,
        reusable=True,
    ),
    "head of 90 KiB": Case(
        OK
        + b"".join(b"X-%05d: %s\r\n" % (i, b"v" * 1000) for i in range(90))
        + b"Content-Length: 2\r\n\r\nok",
        body=b"ok",
        reusable=True,
    ),
    # responses without a body
    "bytes after a folded head without a body": Case(
        OK + b"X: a\r\n b\r\nContent-Length: 0\r\n\r\njunk", header=(b"X", b"a b")
    ),
    "bytes after a head of 99 KiB without a body, in one read": Case(
        OK + b"X: " + b"v" * (99 * 1024) + b"\r\nContent-Length: 0\r\n\r\n" + b"j" * 5000
    ),
    "HEAD response with Content-Length": Case(
        OK + b"Content-Length: 5\r\n\r\n", method="HEAD", reusable=True
    ),
    "HEAD response with a body sent anyway": Case(
        OK + b"Content-Length: 5\r\n\r\nhello", method="HEAD"
    ),
    "HEAD response, chunked, part of a chunk size sent anyway": Case(
        OK + b"Transfer-Encoding: chunked\r\n\r\n5", method="HEAD"
    ),
    "HEAD response after 100, folded": Case(
        b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"X: a\r\n b\r\nContent-Length: 5\r\n\r\n",
        method="HEAD",
        reusable=True,
    ),
    "HEAD response without framing fields": Case(OK + b"\r\n", method="HEAD", reusable=True),
    "204 with Content-Length": Case(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", status=204, reusable=True
    ),
    "304 with Content-Length": Case(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", status=304, reusable=True
    ),
    "Content-Length: 0": Case(OK + b"Content-Length: 0\r\n\r\n", reusable=True),
    # bodies and the end of the stream
    "close-delimited body": Case(
        OK + b"Content-Type: text/plain\r\n\r\nhello world", body=b"hello world"
    ),
    "close-delimited body, HTTP/1.0": Case(
        b"HTTP/1.0 200 OK\r\n\r\nhello", body=b"hello", version=b"HTTP/1.0"
    ),
    "chunked body cut short": Case(
        CHUNKED + b"5\r\nhel", error=IncompleteBody, message="chunked body after 3 bytes"
    ),
    "Content-Length body cut short": Case(
        OK + b"Content-Length: 10\r\n\r\nhello", error=IncompleteBody, message="5 of 10"
    ),
    "chunked body cut before the last chunk": Case(
        CHUNKED + b"5\r\nhello\r\n", error=IncompleteBody, message="after 5 bytes"
    ),
    "nothing": fails(NoResponse, "before a response began", b""),
    "only line breaks": fails(NoResponse, "before a response began", b"\r\n"),
    "a head cut short": fails(MalformedResponse, "inside the response head", OK + b"Content-Le"),
    "a 100 and then nothing": fails(
        MalformedResponse, "inside the response head", b"HTTP/1.1 100 Continue\r\n\r\n"
    ),
    "a folded 100 and then nothing": fails(
        MalformedResponse,
        "inside the response head",
        b"HTTP/1.1 100 Continue\r\nX: a\r\n b\r\n\r\n",
    ),
    "a folded head cut short": fails(
        MalformedResponse, "inside the response head", OK + b"X: a\r\n b\r\n"
    ),
}
