"""Undoing the transfer codings a response applied before ``chunked`` (RFC 9112 §7.2,
§7.3), so that a body is never handed on still encoded: gzip and x-gzip, and deflate
(``fields.UNDOABLE_CODINGS``), with the content codings' decoders (``decoders``), so both
read the same formats the same way (multi-member gzip, zlib-wrapped or raw deflate) in
the same bounded steps; only the errors differ: ``MalformedResponse``, as for framing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from fetchall._http.decoders import DECODERS, Decoder
from fetchall._http.errors import MalformedResponse


class TransferDecoder:
    """Undoes ``codings`` (lower case, first applied first, each in ``DECODERS``) on the
    body bytes as they arrive."""

    def __init__(self, codings: list[bytes]) -> None:
        names = [coding.decode("latin-1") for coding in reversed(codings)]
        self._stages: list[tuple[str, Decoder]] = [(name, DECODERS[name]()) for name in names]
        self._empty = True  # no body byte yet: an empty body is empty whatever its codings

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next piece of the body, each of about
        ``decoders.MAX_PIECE`` bytes at most (a bomb is never held whole);
        ``MalformedResponse`` if it is not what its coding says."""
        self._empty = self._empty and not data
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        """The last decoded pieces, once the body has ended; ``MalformedResponse`` if a
        coded stream inside it has not."""
        if self._empty:  # as for content codings (``codings.decoded``)
            return
        for index, (name, decoder) in enumerate(self._stages):
            complete = True
            try:
                rest = list(decoder.flush())
            except httpx.DecodingError:
                complete = False
            if not complete:  # raised here: the decoder's words are not the last in the chain
                raise MalformedResponse(f"the {name} transfer coding ends early")
            for piece in rest:
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        """``data`` decoded by the stages from ``index`` on."""
        if index == len(self._stages):
            yield data
            return
        name, decoder = self._stages[index]
        failure = ""
        try:
            for piece in decoder.decode(data):
                yield from self._through(index + 1, piece)  # raises MalformedResponse
        except httpx.DecodingError as exc:
            failure = f"could not undo the {name} coding: {exc}"
        if failure:
            raise MalformedResponse(failure)
