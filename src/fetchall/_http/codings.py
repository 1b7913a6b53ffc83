"""Content codings (RFC 9110 §8.4): a body decoded as it arrives, or honestly refused.

- ``gzip`` and ``x-gzip`` (RFC 9110 §8.4.1.3, which names x-gzip as gzip): every member of
  a multi-member stream (what ``cat a.gz b.gz`` makes), as gzip(1) and RFC 1952 §2.2 read
  it; zero bytes between members are skipped, as Python's ``gzip`` module skips them.
  (httpx's GZipDecoder stops after the first member.)
- ``deflate``: the zlib format (RFC 1950), as RFC 9110 §8.4.1.2 says, or the raw deflate
  stream (RFC 1951) that some servers send; the first two bytes decide (a zlib header is a
  multiple of 31), as curl and httpx accept both.
- ``br`` (RFC 7932) with ``brotli`` and ``zstd`` (RFC 8878, every frame) with
  ``zstandard``: the libraries httpx uses for them.
- ``identity``: nothing to undo.

Several codings (``gzip, br``) are undone last first (RFC 9110 §8.4). A stream that ends
before its format says it is complete raises ``httpx.DecodingError`` (httpx's decoders
check this for zstd, and for br only with brotlicffi), so a body cut short by the coding
is never taken as whole; so does a
coding not listed here (``UnsupportedCoding``, naming it). A body with no bytes at all is
empty whatever its coding says (HEAD, 204, 304).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx

from fetchall._http.decoders import DECODERS, Chain, Decoder

SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")
"""Content codings fetchall decodes (``identity`` is none)."""
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
"""What requests offer: ``SUPPORTED`` but x-gzip (gzip's old name) and identity (always
acceptable, RFC 9110 §12.5.3)."""


class UnsupportedCoding(httpx.DecodingError):
    """The body has a content coding fetchall cannot decode; the message names it."""


def _decoder(codings: list[str]) -> Decoder:
    """The decoder undoing ``codings`` (in the order they were applied);
    ``UnsupportedCoding`` when one is not in ``SUPPORTED``."""
    decoders: list[Decoder] = []
    for coding in reversed(codings):
        name = coding.strip().lower()
        if name in ("", "identity"):
            continue
        make = DECODERS.get(name)
        if make is None:
            raise UnsupportedCoding(
                f"Content-Encoding {name[:40]!r} is not one fetchall decodes "
                f"({', '.join(SUPPORTED)}); --raw keeps bodies as sent"
            )
        decoders.append(make())
    return decoders[0] if len(decoders) == 1 else Chain(decoders)


async def decoded(chunks: AsyncIterator[bytes], codings: list[str]) -> AsyncIterator[bytes]:
    """The body ``chunks`` decode to, as they arrive, in pieces of about ``MAX_PIECE``
    bytes, the loop's other tasks run between pieces of one chunk (a bomb decodes in
    bounded steps, and stops as soon as the reader does); raises ``httpx.DecodingError``
    for data its coding rejects, a stream that ends early, or a coding fetchall cannot
    decode (``UnsupportedCoding``) once the body has a byte."""
    decoder: Decoder | None = None
    async for chunk in chunks:
        if not chunk:
            continue
        if decoder is None:
            decoder = _decoder(codings)
        async for data in paced(decoder.decode(chunk)):
            yield data
    if decoder is not None:
        async for data in paced(decoder.flush()):
            yield data


async def paced(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``pieces``, the loop's other tasks (and signals) let run before each after the
    first: decoding one received chunk never holds the loop for more than a step."""
    first = True
    for piece in pieces:
        if not first:
            await asyncio.sleep(0)
        first = False
        yield piece
