"""Parsing input lines: what is fetched, what is skipped, what is invalid."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fetchall import Err, ErrorKind, Ok
from fetchall._input.lines import (
    MAX_INPUT_LINE_BYTES,
    LineSplitter,
    _checked_url,
    _has_scheme,
    _scheme_without_slashes,
    parse_line,
    url_from_text,
)
from fetchall._targets import refusal


@pytest.mark.parametrize("raw", [b"", b"   ", b"\t\r", b"# a comment", b"   # indented comment"])
def test_blank_and_comment_lines_are_skipped(raw: bytes) -> None:
    """Blank lines and lines starting with # give no result."""
    assert parse_line(raw, "f:1") is None


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        (b"http://example.com/a", "http://example.com/a"),
        (b"  https://example.com/b?q=1 \r", "https://example.com/b?q=1"),
        (b"example.com/path", "https://example.com/path"),
        (b"HTTP://Example.com/", "HTTP://Example.com/"),
        (b"http://[::1]:8080/", "http://[::1]:8080/"),
        (b"localhost:8080/x", "https://localhost:8080/x"),
        (b"example.com:443", "https://example.com:443"),
        (b"my_host.example/a", "https://my_host.example/a"),
        (b"example.com./a", "https://example.com./a"),
        (b"example.com/?next=http://other/", "https://example.com/?next=http://other/"),
        (b"b\xc3\xbccher.example/", "https://b\u00fccher.example/"),
    ],
)
def test_valid_lines_name_a_url(raw: bytes, url: str) -> None:
    """Whitespace is stripped and a line without :// gets https://."""
    line = parse_line(raw, "list.txt:7")
    assert line is not None
    assert line.url == Ok(url)
    assert line.text == raw.decode().strip()
    assert line.source == "list.txt:7"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"ftp://example.com/file", "unsupported scheme 'ftp'"),
        (b"file:///etc/passwd", "unsupported scheme 'file'"),
        (b"http://[::1/", "unparsable URL"),
        (b"http://example.com:99999/", "port 99999 is outside 1-65535"),
        (b"http://example.com:0/", "port 0 is outside 1-65535"),
        (b"http://xn--n3h.example/", "not a valid internationalized name"),
        (b"http://www.XN--N3H.example/", "not a valid internationalized name"),
        (b"http://\xe2\x98\x83.example/", "not a valid internationalized name"),
        (b"http:///nohost", "no host"),
        (b"http://exa mple.com/", "whitespace or control"),
        (b"http://example.com/\x00", "whitespace or control"),
        (b"http://caf\xe9.com/", "not valid UTF-8"),
        (b"=cmd|x", "host '=cmd|x' is not a valid host name"),
        (b'"quoted",', "is not a valid host name"),
        (b"+1,2", "host '+1,2' is not a valid host name"),
        (b"http://a..b/", "host 'a..b' is not a valid host name: an empty label"),
        (b"http://%41.example/", "is not a valid host name"),
        (b"x" * 64 + b".example", "is not a valid host name"),
        (b"a." * 127 + b"com", "is longer than 253 characters"),
        (b"mailto:a@b", "unsupported scheme 'mailto': only http and https are fetched"),
        (b"javascript:alert(1)", "unsupported scheme 'javascript'"),
        (b"user:pw@example.com", "unsupported scheme 'user'"),
        (b"http:/host/x", "'http:/' is missing a slash: write 'http://'"),
        (b"https:host/x", "'https:' is missing a slash"),
    ],
)
def test_invalid_lines_become_invalid_url_errors(raw: bytes, message: str) -> None:
    """Bad schemes, unparsable URLs and non-UTF-8 lines are results, not crashes."""
    line = parse_line(raw, "f:3")
    assert line is not None
    assert isinstance(line.url, Err)
    assert line.url.error.kind is ErrorKind.INVALID_URL
    assert message in line.url.error.message


def test_non_utf8_line_keeps_a_readable_text() -> None:
    """The text of a non-UTF-8 line shows the bad bytes escaped."""
    line = parse_line(b"http://caf\xe9.com/", "f:1")
    assert line is not None
    assert line.text == "http://caf\\xe9.com/"


def test_overlong_line_is_invalid_and_shortened() -> None:
    """A line longer than the limit is reported, with only its start kept."""
    line = parse_line(b"http://example.com/" + b"a" * MAX_INPUT_LINE_BYTES, "f:1")
    assert line is not None
    assert isinstance(line.url, Err)
    assert "longer than" in line.url.error.message
    assert len(line.text) < 300


@given(st.lists(st.binary(max_size=50).filter(lambda b: b"\n" not in b), max_size=20), st.data())
def test_splitter_gives_back_every_line_however_chunked(
    lines: list[bytes], data: st.DataObject
) -> None:
    """Lines come out the same whatever the chunk boundaries."""
    stream = b"\n".join(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    splitter = LineSplitter()
    out = [line for chunk in chunks for line in splitter.feed(chunk)]
    out += list(splitter.finish())
    # A trailing newline ends the last line; it does not start an empty one.
    expected = lines[:-1] if lines and lines[-1] == b"" else lines
    assert out == expected


def test_splitter_bounds_an_endless_line() -> None:
    """A line with no newline in sight is cut at the limit instead of held whole."""
    splitter = LineSplitter()
    chunk = b"a" * 65536
    for _ in range(10):
        assert list(splitter.feed(chunk)) == []
    (line,) = list(splitter.feed(b"tail\nnext"))
    assert len(line) == MAX_INPUT_LINE_BYTES + 1
    assert list(splitter.finish()) == [b"next"]


_URL_PIECES = [
    "http://", "HTTPS://", "ftp://", "example.com", "EXAMPLE.com", "127.0.0.1", "[::1]", "[x",
    "a", "-", ".", ":", ":80", ":65535", ":65536", ":99999", ":0", ":x", "@", "user@", "/", "?",
    "#", "%20", " ", "\t", "\x7f", "é", "~", "[", "]", "\\", "xn--n3h", "xn--bcher-kva", "XN--",
    "_", "..", "=", "|", '"', ",", "+", "mailto:", "http:/", "a" * 64,
]  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(_URL_PIECES), max_size=8))
@example(["http://", "example.com", ":65536", "/"])
@example(["http://", "example.com", "/", " "])
@example(["https://", "127.0.0.1", ":0"])
def test_the_quick_check_of_common_urls_agrees_with_the_full_one(pieces: list[str]) -> None:
    """A line is valid, or invalid for the same reason, whichever check decides it."""
    text = "".join(pieces).strip()
    if not _has_scheme(text) and _scheme_without_slashes(text) is not None:
        assert isinstance(url_from_text(text), Err)
        return
    url = text if _has_scheme(text) else f"https://{text}"
    assert url_from_text(text) == _checked_url(url)


UNICODE_SPACES = [c for c in map(chr, range(0x110000)) if c.isspace() and ord(c) > 0x20]


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(c):04X}" for c in UNICODE_SPACES])
def test_every_unicode_whitespace_inside_a_url_makes_it_invalid(space: str) -> None:
    """Whitespace inside a URL is refused whatever the character (``str.isspace``: U+0085,
    U+00A0, U+2000-U+200A, U+2028, U+3000...), as ASCII space is, in a line and in a
    redirect's target alike (``refusal``)."""
    text = f"http://127.0.0.1:9/c{space}http://127.0.0.1:9/d"
    line = parse_line(text.encode(), "f:1")
    assert line is not None
    assert isinstance(line.url, Err)
    assert line.url.error.kind is ErrorKind.INVALID_URL
    assert "whitespace or control" in line.url.error.message
    assert refusal(text) == "URL contains whitespace or control characters"


def test_c1_controls_inside_a_url_make_it_invalid() -> None:
    """A C1 control character (U+0080-U+009F) inside a URL is refused like a C0 one."""
    assert refusal("http://127.0.0.1:9/a\x9bb") == "URL contains whitespace or control characters"
