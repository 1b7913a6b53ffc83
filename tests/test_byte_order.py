"""Byte-order marks at the start of a SOURCE (issue 12, point 7): a UTF-8 BOM is skipped,
UTF-16 and UTF-32 lists are decoded as such, streamed; records and line numbers are those
of the same list saved as plain UTF-8."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchall._input.byte_order import ToUtf8
from tests.conftest import jsonl, run_fetchall
from tests.server import TestServer

ENCODINGS = {
    "utf-8-bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16-le": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "utf-32-le": lambda text: codecs.BOM_UTF32_LE + text.encode("utf-32-le"),
    "utf-32-be": lambda text: codecs.BOM_UTF32_BE + text.encode("utf-32-be"),
}


def _lists(server: TestServer) -> dict[str, str]:
    """A list whose first line is a URL, and one whose first line is a comment."""
    return {
        "url first": "\r\n".join(
            [server.url("/bytes/1"), "", "# two", server.url("/bytes/2"), "ftp://x/"]
        ),
        "comment first": "\n".join(
            ["# my links", server.url("/bytes/3"), "  " + server.url("/bytes/4") + "  "]
        ),
    }


def _records(path: Path) -> list[tuple[object, ...]]:
    result = run_fetchall("--json", str(path))
    assert b"Traceback" not in result.stderr
    records = jsonl(result.stdout.decode())
    fields = ("url", "source", "ok", "bytes", "error_kind")
    return sorted(tuple(record[field] for field in fields) for record in records)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("shape", ["url first", "comment first"])
def test_a_list_with_a_byte_order_mark_gives_the_plain_lists_records(
    server: TestServer, tmp_path: Path, encoding: str, shape: str
) -> None:
    """Notepad's UTF-8 with BOM, PowerShell's UTF-16 and UTF-32 lists give the records and
    line numbers of the plain UTF-8 list; a comment right after the BOM stays a comment."""
    text = _lists(server)[shape]
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_bytes(text.encode())
    marked.write_bytes(ENCODINGS[encoding](text))
    expected = [
        (record[0], record[1].replace("plain", "marked"), *record[2:]) for record in _records(plain)
    ]
    assert _records(marked) == expected
    assert len(expected) == (3 if shape == "url first" else 2)


def test_a_utf16_list_on_stdin_is_read_as_it_arrives(server: TestServer) -> None:
    """stdin with a UTF-16 LE BOM (what PowerShell pipes) is decoded too."""
    text = f"{server.url('/bytes/5')}\n{server.url('/bytes/6')}\n"
    result = run_fetchall("--json", "-", stdin=ENCODINGS["utf-16-le"](text))
    records = sorted((r["source"], r["bytes"]) for r in jsonl(result.stdout.decode()))
    assert (result.returncode, records) == (0, [("-:1", 5), ("-:2", 6)])


def test_an_undecodable_sequence_makes_only_its_line_invalid(
    server: TestServer, tmp_path: Path
) -> None:
    """A lone UTF-16 surrogate on line 2 gives that line an invalid_url record naming the
    encoding; lines 1 and 3 are fetched."""
    good = [server.url("/bytes/1").encode("utf-16-le"), server.url("/bytes/3").encode("utf-16-le")]
    broken = "http://x/".encode("utf-16-le") + b"\x00\xd8"  # a high surrogate, alone
    path = tmp_path / "list.txt"
    newline = "\n".encode("utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + newline.join([good[0], broken, good[1]]))
    result = run_fetchall("--json", str(path))
    records = {r["source"].rpartition(":")[2]: r for r in jsonl(result.stdout.decode())}
    assert (records["1"]["ok"], records["3"]["ok"]) == (True, True)
    assert records["2"]["error_kind"] == "invalid_url"
    assert "line is not valid UTF-16-LE" in records["2"]["error"]


@given(st.text(max_size=40), st.sampled_from(sorted(ENCODINGS)), st.data())
def test_chunks_cut_anywhere_decode_alike(text: str, encoding: str, data: st.DataObject) -> None:
    """However the bytes arrive (one at a time, or the BOM split), the UTF-8 out is the
    text's; a list without a BOM passes unchanged."""
    text = text.replace("\ufeff", "")  # a BOM inside the text is text, not a mark
    if encoding == "utf-16-le":
        text = text.lstrip("\0")  # FF FE 00 00 is read as UTF-32 LE's mark (see byte_order)
    encoded = ENCODINGS[encoding](text)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=8)))
    chunks = [encoded[a:b] for a, b in zip([0, *cuts], [*cuts, len(encoded)], strict=True)]
    decoder = ToUtf8()
    out = b"".join(decoder.feed(chunk) for chunk in chunks) + decoder.finish()
    assert out == text.encode("utf-8", "surrogatepass")
    plain = ToUtf8()
    raw = text.encode("utf-8", "surrogatepass")
    if not raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\0\0")):
        assert plain.feed(raw) + plain.finish() == raw
