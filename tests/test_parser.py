"""ResponseParser: every byte-exact case of ``parser_cases`` fed whole and a byte at a time,
and the behaviours around them (failing at once, errors that repeat, bytes after a
response, body pieces handed on as llhttp gives them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

from fetchall._http.errors import IncompleteBody, MalformedResponse
from fetchall._http.parser import ResponseParser
from tests.parser_cases import CASES, CHUNKED, OK


@dataclass
class Outcome:
    status: int | None = None
    body: bytes = b""
    reusable: bool = False  # before any EOF
    version: bytes | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    error: type[httpx.RemoteProtocolError] | None = None
    message: str = ""


def split(data: bytes, bytewise: bool) -> list[bytes]:
    """``data`` whole, or a byte at a time (1000 bytes at a time past 16 KiB: httptools
    joins a field value's pieces by copying, so a byte a time is quadratic there)."""
    if not bytewise:
        return [data]
    step = 1 if len(data) <= 16 * 1024 else 1000
    return [data[i : i + step] for i in range(0, len(data), step)]


def parse(pieces: list[bytes], method: str = "GET", upgrade: bool = False) -> Outcome:
    """Feed ``pieces``, then the end of the stream if the response has not ended."""
    parser = ResponseParser(method, upgrade=upgrade)
    body: list[bytes] = []
    outcome = Outcome()
    try:
        for piece in pieces:
            parser.feed(piece)
            body += parser.take_body()
        outcome.reusable = parser.reusable
        if not parser.complete:
            parser.feed_eof()
            body += parser.take_body()
        if parser.transfer_decoder is not None:  # undone by the reader (the connection)
            outcome.reusable = False  # (closed if undoing fails)
            body = [piece for data in body for piece in parser.transfer_decoder.decode(data)]
            body += parser.transfer_decoder.finish()
            outcome.reusable = parser.reusable
    except httpx.RemoteProtocolError as exc:
        outcome.error, outcome.message = type(exc), str(exc)
    if parser.head is not None:
        outcome.status, outcome.version = parser.head.status, parser.head.http_version
        outcome.headers = parser.head.headers
    if outcome.error is None:
        outcome.body = b"".join(body)
    return outcome


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("name", list(CASES))
def test_case(name: str, bytewise: bool) -> None:
    """Each byte-exact response parses to its expected outcome, whatever the reads."""
    case = CASES[name]
    got = parse(split(case.data, bytewise), case.method, case.upgrade)
    assert got.error is case.error, got.message
    assert case.message in got.message
    assert got.status == case.status
    assert got.reusable is case.reusable
    if case.error is None:
        assert got.body == case.body
        assert got.version == case.version
    if case.header is not None:
        assert case.header in got.headers


@pytest.mark.parametrize(
    "start",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS on a plain port
        b"HTTP/1.1 2000",  # a status of four digits, the line not yet ended
        b"HTTP/1.1 100 Continue\r\nX: a\r\n b\r\n\r\nHTTP/1.1 2000",  # after a folded 1xx
        CHUNKED + b"-1",
        CHUNKED + b"8000000000000000\r\n",  # no chunk data yet
        OK + b"X: " + b"a" * 110 * 1024,  # a head over the limit, not yet ended
    ],
)
def test_fails_at_once_without_waiting(start: bytes) -> None:
    """Bytes that cannot begin a good response fail when they arrive, not at a timeout."""
    with pytest.raises(MalformedResponse):
        ResponseParser("GET").feed(start)


@pytest.mark.parametrize(
    "size_line", [b"8000000000000000\r\n", b"0008000000000000000 \t;ext=1\n"], ids=["crlf", "lf"]
)
def test_a_chunk_size_over_63_bits_fails_wherever_the_reads_split(size_line: bytes) -> None:
    """A size line cut anywhere (in two places) across reads is refused in the read that
    brings its line break, never later."""
    data = CHUNKED + b"3\r\nabc\r\n" + size_line + b"hello"
    line_end = data.index(size_line) + len(size_line)
    for first in range(len(CHUNKED), len(data)):
        for second in range(first, len(data)):
            ends = [first, second, len(data)]
            expected = next(end for end in ends if end >= line_end)
            refused = refused_at(data, ends)
            assert refused == (expected, "chunk size 8000000000000000 does not fit 63 bits")


def refused_at(data: bytes, ends: list[int]) -> tuple[int, str] | None:
    """Feed ``data`` cut at ``ends``: the end of the read refused, and why, if one was."""
    parser = ResponseParser("GET")
    start = 0
    for end in ends:
        try:
            parser.feed(data[start:end])
        except MalformedResponse as exc:
            return end, str(exc)
        start = end
    return None


def test_folded_head_waits_for_its_end() -> None:
    """A head that needs unfolding is parsed once whole: before that nothing is decided."""
    parser = ResponseParser("GET")
    parser.feed(OK + b"X: a\r\n b\r\n")
    assert parser.head is None
    parser.feed(b"Content-Length: 2\r\n\r\nok")
    assert parser.take_body() == [b"ok"]
    assert parser.head is not None
    assert (b"X", b"a b") in parser.head.headers
    assert parser.reusable


@pytest.mark.timeout(20)
def test_folded_head_trickled() -> None:
    """A large folded head sent a byte at a time is read in linear time (each byte searched
    once); the timeout ends the test if it is not."""
    lines = b"".join(b"X-%05d: a\r\n b\r\n" % i for i in range(2000))  # ~30 KiB
    data = OK + lines + b"Content-Length: 2\r\n\r\nok"
    parser = ResponseParser("GET")
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
    assert parser.take_body() == [b"o", b"k"]
    assert parser.head is not None
    assert (b"X-01999", b"a b") in parser.head.headers


def test_a_bug_in_a_callback_shows_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that is not a parse error is a bug: it is not dressed up as one."""

    def broken(self: ResponseParser, body: bytes) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(ResponseParser, "on_body", broken)
    with pytest.raises(ZeroDivisionError):
        ResponseParser("GET").feed(OK + b"Content-Length: 2\r\n\r\nok")


def test_error_repeats() -> None:
    """After an error every call raises it again: the connection must be closed."""
    parser = ResponseParser("GET")
    with pytest.raises(MalformedResponse) as first:
        parser.feed(b"HTTP/1.1 000 X\r\n\r\n")
    with pytest.raises(MalformedResponse) as again:
        parser.feed(b"more")
    assert again.value is first.value
    with pytest.raises(MalformedResponse):
        parser.feed_eof()


def test_bytes_after_the_response() -> None:
    """Bytes arriving after a complete response make its connection unfit for reuse."""
    parser = ResponseParser("GET")
    parser.feed(OK + b"Content-Length: 2\r\n\r\nok")
    assert parser.reusable
    parser.feed(b"junk")
    assert parser.take_body() == [b"ok"]
    assert parser.complete
    assert not parser.reusable


def test_eof_after_the_response() -> None:
    """A close after a complete response is no error, but the connection is gone."""
    parser = ResponseParser("GET")
    parser.feed(OK + b"Content-Length: 2\r\n\r\nok")
    parser.feed_eof()
    assert parser.take_body() == [b"ok"]
    assert parser.complete
    assert not parser.reusable


def test_cut_short_is_incomplete_body() -> None:
    """A close inside a body its framing announced is IncompleteBody (kind ``read``)."""
    parser = ResponseParser("GET")
    parser.feed(OK + b"Content-Length: 10\r\n\r\nhello")
    assert parser.take_body() == [b"hello"]
    with pytest.raises(IncompleteBody, match="after 5 of 10 body bytes"):
        parser.feed_eof()


def test_head_fields() -> None:
    """The head carries the version, status, reason and the fields in order."""
    parser = ResponseParser("GET")
    parser.feed(b"HTTP/1.0 404 Not Found\r\nA: 1\r\nB: 2\r\nA: 3\r\nContent-Length: 0\r\n\r\n")
    assert parser.head is not None
    assert parser.head.http_version == b"HTTP/1.0"
    assert parser.head.status == 404
    assert parser.head.reason == b"Not Found"
    assert parser.head.headers[:3] == [(b"A", b"1"), (b"B", b"2"), (b"A", b"3")]


def test_body_chunks_are_llhttps() -> None:
    """Body bytes come out in the pieces they were fed in (no joining, no extra copies)."""
    parser = ResponseParser("GET")
    parser.feed(OK + b"Content-Length: 6\r\n\r\nab")
    assert parser.take_body() == [b"ab"]
    parser.feed(b"cd")
    parser.feed(b"ef")
    assert parser.take_body() == [b"cd", b"ef"]
    assert parser.complete


def test_body_before_an_error_is_kept() -> None:
    """The body bytes parsed before an error still come out (a record counts them)."""
    parser = ResponseParser("GET")
    with pytest.raises(MalformedResponse, match="chunk size"):
        parser.feed(CHUNKED + b"5\r\nhello\r\n-1\r\nx\r\n")
    assert parser.take_body() == [b"hello"]
    assert parser.head is not None
