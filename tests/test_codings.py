"""Content codings decoded, or honestly refused (issue 12, point 5), through the installed
command on both transports; and the decoders themselves, chunked every way."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import zlib
from pathlib import Path

import brotli
import httpx
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import jsonl, run_fetchall
from tests.server import ENCODED, ENCODED_TEXT, TestServer

TRANSPORTS = ("fast", "httpx")


def _fetch(server: TestServer, transport: str, *names: str, args: tuple[str, ...] = ()):
    """Exit status and the records of ``/encoded/NAME`` for each name, in order."""
    urls = [server.url(f"/encoded/{name}") for name in names]
    result = run_fetchall(
        "--json", "-r", "0", "--transport", transport, *args, "-", stdin="\n".join(urls).encode()
    )
    by_url = {record["url"]: record for record in jsonl(result.stdout.decode())}
    assert len(by_url) == len(urls)
    assert b"Traceback" not in result.stderr
    return result.returncode, [by_url[url] for url in urls]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_advertised_coding_is_decoded(server: TestServer, transport: str) -> None:
    """gzip, x-gzip, a two-member gzip, zlib and raw deflate, br and zstd all give the
    decoded text: bytes is its length and the SHA-256 is its digest."""
    names = ("gzip", "x-gzip", "gzip2", "deflate", "deflate-raw", "br", "zstd")
    status, records = _fetch(server, transport, *names, args=("--sha256",))
    digest = hashlib.sha256(ENCODED_TEXT).hexdigest()
    assert status == 0
    for name, record in zip(names, records, strict=True):
        assert (name, record["ok"], record["bytes"], record["sha256"]) == (
            name,
            True,
            len(ENCODED_TEXT),
            digest,
        )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_multi_member_gzip_body_is_saved_whole(
    server: TestServer, transport: str, tmp_path: Path
) -> None:
    """What `cat a.gz b.gz` makes is saved as both members' text, not the first one's."""
    status, (record,) = _fetch(server, transport, "gzip2", args=("-o", str(tmp_path)))
    assert status == 0
    assert Path(record["path"]).read_bytes() == ENCODED_TEXT


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_compressed_stream_cut_short_fails_and_saves_nothing(
    server: TestServer, transport: str, tmp_path: Path
) -> None:
    """gzip, br and zstd streams cut in half (framed whole by Content-Length) fail as
    protocol, saying the stream ends early; -o leaves no file."""
    names = ("gzip-cut", "br-cut", "zstd-cut")
    status, records = _fetch(server, transport, *names, args=("-o", str(tmp_path)))
    assert status == 1
    for name, record in zip(names, records, strict=True):
        coding = name.removesuffix("-cut")
        assert (record["error_kind"], record["status"], record["path"]) == ("protocol", 200, None)
        assert f"the {coding} stream ends before it is complete" in record["error"]
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_coding_fetchall_cannot_decode_is_refused_by_name(
    server: TestServer, transport: str
) -> None:
    """Content-Encoding: compress fails as protocol naming the coding, never counted as
    if it were the body."""
    status, (record,) = _fetch(server, transport, "compress")
    assert (status, record["error_kind"]) == (1, "protocol")
    assert "Content-Encoding 'compress' is not one fetchall decodes" in record["error"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_raw_keeps_bodies_as_sent(server: TestServer, transport: str, tmp_path: Path) -> None:
    """--raw counts and saves the bytes on the wire, an unknown coding included."""
    names = ("gzip2", "br", "compress")
    status, records = _fetch(server, transport, *names, args=("--raw", "-o", str(tmp_path)))
    assert status == 0
    for name, record in zip(names, records, strict=True):
        body = ENCODED[name][1]
        assert (record["ok"], record["bytes"]) == (True, len(body))
        assert Path(record["path"]).read_bytes() == body


def test_the_codings_are_advertised(server: TestServer) -> None:
    """Accept-Encoding offers what fetchall decodes."""
    run_fetchall("-q", "-", stdin=server.url("/echo").encode())
    _, headers = server.last_request["/echo"]
    assert headers["Accept-Encoding"] == "gzip, deflate, br, zstd"


async def _decode(chunks: list[bytes], codings: list[str]) -> bytes:
    from fetchall._http.codings import decoded

    async def arriving():
        for chunk in chunks:
            yield chunk

    return b"".join([piece async for piece in decoded(arriving(), codings)])


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


_TEXT = st.binary(min_size=1, max_size=3000)
_ENCODE = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.anyio
@given(st.lists(_TEXT, min_size=1, max_size=3), st.sampled_from(sorted(_ENCODE)), st.data())
async def test_members_and_frames_decode_whole_however_chunked(
    parts: list[bytes], coding: str, data: st.DataObject
) -> None:
    """Streams back to back (gzip members, zstd frames) or one stream, split anywhere,
    decode to the whole text."""
    if coding in ("deflate", "br"):
        parts = [b"".join(parts)]  # one stream only
    encoded = b"".join(_ENCODE[coding](part) for part in parts)
    cuts = data.draw(st.lists(st.integers(0, 10_000), max_size=6))
    assert await _decode(_cut(encoded, cuts), [coding]) == b"".join(parts)


@pytest.mark.anyio
@given(_TEXT, st.sampled_from(sorted(_ENCODE)), st.integers(1, 10_000))
async def test_a_stream_cut_anywhere_is_never_whole(text: bytes, coding: str, cut: int) -> None:
    """Any proper prefix of a compressed stream raises DecodingError, never passes."""
    encoded = _ENCODE[coding](text)
    prefix = encoded[: cut % len(encoded)]
    if not prefix:
        return  # an empty body is empty whatever its coding says
    with pytest.raises(httpx.DecodingError):
        await _decode([prefix], [coding])


@pytest.mark.anyio
async def test_codings_are_undone_last_first_and_identity_is_none() -> None:
    """Content-Encoding: gzip, identity, br is br undone, then gzip."""
    encoded = brotli.compress(gzip.compress(b"layered"))
    assert await _decode([encoded], ["gzip", "identity", "br"]) == b"layered"


@pytest.mark.anyio
async def test_an_unknown_coding_is_refused_only_for_a_body() -> None:
    """An empty body (HEAD, 304) with an unknown coding is fine; one with bytes is not."""
    from fetchall._http.codings import UnsupportedCoding

    assert await _decode([], ["compress"]) == b""
    with pytest.raises(UnsupportedCoding, match="'compress'"):
        await _decode([b"x"], ["compress"])


@pytest.mark.anyio
@pytest.mark.parametrize("coding", sorted(_ENCODE))
@pytest.mark.parametrize("split", [False, True], ids=["one-read", "junk-read-apart"])
async def test_bytes_after_the_end_of_a_stream_are_refused(coding: str, split: bool) -> None:
    """Junk after a complete stream fails alike in every coding (it did pass for deflate,
    while it failed after a gzip member)."""
    encoded = _ENCODE[coding](b"hello")
    chunks = [encoded, b"junk"] if split else [encoded + b"junk"]
    with pytest.raises(httpx.DecodingError):
        await _decode(chunks, [coding])
