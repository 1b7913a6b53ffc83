"""Undoing the transfer codings a response applied before ``chunked`` (RFC 9112 §7.2,
§7.3), so that a body is never handed on still encoded: gzip and x-gzip, and deflate
(``fields.UNDOABLE_CODINGS``), with the content codings' decoders (``decoders``), so both
read the same formats the same way (multi-member gzip, zlib-wrapped or raw deflate) in
the same bounded steps; only the errors differ: ``MalformedResponse``, as for framing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from fetchall._http.decoders import DECODERS, Chain, Decoder
from fetchall._http.errors import MalformedResponse


class TransferDecoder:
    """Undoes ``codings`` (lower case, first applied first, each in ``DECODERS``) on the
    body bytes as they arrive."""

    def __init__(self, codings: list[bytes]) -> None:
        names = [coding.decode("latin-1") for coding in reversed(codings)]
        self._chain = Chain([_Stage(name, DECODERS[name]()) for name in names])
        self._empty = True  # no body byte yet: an empty body is empty whatever its codings

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next piece of the body, each of about
        ``decoders.MAX_PIECE`` bytes at most (a bomb is never held whole);
        ``MalformedResponse`` if it is not what its coding says."""
        self._empty = self._empty and not data
        return self._chain.decode(data)

    def finish(self) -> Iterator[bytes]:
        """The last decoded pieces, once the body has ended; ``MalformedResponse`` if a
        coded stream inside it has not."""
        if self._empty:  # as for content codings (``codings.decoded``)
            return iter(())
        return self._chain.flush()


class _Stage:
    """One transfer coding's decoder, its ``httpx.DecodingError`` raised as the
    ``MalformedResponse`` naming the coding (raised outside the except clause, so that
    the decoder's words are not the last in the chain)."""

    def __init__(self, name: str, decoder: Decoder) -> None:
        self._name = name
        self._decoder = decoder

    def decode(self, data: bytes) -> Iterator[bytes]:
        failure = ""
        try:
            yield from self._decoder.decode(data)
        except httpx.DecodingError as exc:
            failure = f"could not undo the {self._name} coding: {exc}"
        if failure:
            raise MalformedResponse(failure)

    def flush(self) -> Iterator[bytes]:
        complete = True
        try:
            rest = list(self._decoder.flush())
        except httpx.DecodingError:
            complete = False
        if not complete:
            raise MalformedResponse(f"the {self._name} transfer coding ends early")
        return iter(rest)
