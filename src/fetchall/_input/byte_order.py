"""Byte-order marks at the start of a SOURCE (The Unicode Standard §23.8): Notepad saves
UTF-8 with one, and Windows PowerShell 5's ``>`` writes UTF-16 LE with one.

- A UTF-8 BOM is skipped.
- After a UTF-16 (LE or BE) or UTF-32 (LE or BE) BOM, the rest is decoded as that
  encoding as it arrives (an incremental decoder: never read whole) and passed on as
  UTF-8, so lines are cut, numbered and parsed exactly as in the same list saved as UTF-8.
  A sequence that is not valid in that encoding makes its line invalid: it is passed on
  as bytes that are not UTF-8 (a lone surrogate), which ``lines`` reports.
- Without a BOM the bytes pass as they are (read as UTF-8 by ``lines``).

``FF FE 00 00`` is read as UTF-32 LE, not as UTF-16 LE starting with U+0000, as Python's
``utf-32`` codec and the WHATWG encoding standard's BOM sniffing for UTF-32 read it.
"""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32-LE"),
    (codecs.BOM_UTF32_BE, "UTF-32-BE"),
    (codecs.BOM_UTF8, "UTF-8"),
    (codecs.BOM_UTF16_LE, "UTF-16-LE"),
    (codecs.BOM_UTF16_BE, "UTF-16-BE"),
)
"""Longest first, so that UTF-32 LE wins over the UTF-16 LE mark it starts with."""
_UNDECODABLE = "fetchall.undecodable"


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    """Each undecodable code unit becomes a lone surrogate (not encodable as UTF-8)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\udcff", error.end


codecs.register_error(_UNDECODABLE, _undecodable)


class ToUtf8:
    """Turns a SOURCE's chunks into UTF-8 chunks, as its byte-order mark says: feed each
    chunk in order, then ``finish()``. ``encoding`` is the source's, once known."""

    def __init__(self) -> None:
        self._head = b""
        self._decided = False
        self._decoder: codecs.IncrementalDecoder | None = None
        self.encoding = "UTF-8"

    def feed(self, chunk: bytes) -> bytes:
        """The UTF-8 bytes ``chunk`` brings (some may wait for the next chunk)."""
        if self._decided:
            return chunk if self._decoder is None else self._convert(chunk, final=False)
        self._head += chunk
        if any(len(self._head) < len(bom) and bom.startswith(self._head) for bom, _ in _BOMS):
            return b""  # it may still become a BOM
        return self._decide(final=False)

    def finish(self) -> bytes:
        """The last UTF-8 bytes, at the end of the source."""
        if not self._decided:
            return self._decide(final=True)
        return b"" if self._decoder is None else self._convert(b"", final=True)

    def _decide(self, *, final: bool) -> bytes:
        self._decided = True
        head, self._head = self._head, b""
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                self.encoding = encoding
                head = head[len(bom) :]
                if encoding != "UTF-8":
                    self._decoder = codecs.getincrementaldecoder(encoding)(_UNDECODABLE)
                    return self._convert(head, final=final)
                break
        return head

    def _convert(self, data: bytes, *, final: bool) -> bytes:
        assert self._decoder is not None
        return self._decoder.decode(data, final).encode("utf-8", "surrogatepass")
