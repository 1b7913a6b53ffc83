"""Fixed-size digests of URLs, and a compact set of them: what unique, resume and shard
selection remember, in constant bytes per URL."""

from __future__ import annotations

import hashlib
from array import array
from urllib.parse import urlsplit, urlunsplit

from fetchall._model import Line, Ok
from fetchall._origin import Origin


def digest64(text: str) -> int:
    """A 64-bit digest that is the same on every machine and Python version (BLAKE2b)."""
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big")


def canonical_url(line: Line) -> str:
    """What makes two lines the same URL for ``--unique`` and ``--shard``: the URL with its
    scheme and host lower-cased, a default port and the fragment dropped (a fragment is
    never sent: RFC 9110 §4.2.5, RFC 3986 §3.5); an invalid line's raw text. (``--resume``
    compares the line's text as given: see ``selection``.)"""
    if not isinstance(line.url, Ok):
        return line.text
    parts = urlsplit(line.url.value)
    origin = Origin.from_parts(parts.scheme, parts.hostname or "", parts.port)
    scheme, netloc = origin.scheme, origin.netloc
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{auth}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


class DigestSet:
    """A set of 64-bit digests in one flat array (open addressing, at most half full):
    16 to 32 bytes per member, whatever the URLs' length."""

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, digest: int) -> bool:
        return self._slots[self._find(digest or 1)] != 0

    def add(self, digest: int) -> bool:
        """Add ``digest``; False if it was already there."""
        digest = digest or 1  # 0 marks an empty slot
        index = self._find(digest)
        if self._slots[index]:
            return False
        self._slots[index] = digest
        self._count += 1
        if 2 * self._count > len(self._slots):
            self._grow()
        return True

    def _find(self, digest: int) -> int:
        """The slot holding ``digest``, or the empty slot where it would go."""
        slots = self._slots
        mask = len(slots) - 1
        index = digest & mask
        while slots[index] and slots[index] != digest:
            index = (index + 1) & mask
        return index

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        for digest in old:
            if digest:
                self._slots[self._find(digest)] = digest
