"""Fixed-size digests of URLs, and a compact set of them: what --unique, --resume and
--shard remember, in constant bytes per URL."""

from __future__ import annotations

import hashlib
from array import array
from urllib.parse import urlsplit, urlunsplit

from fetchall._limits import DEFAULT_PORTS
from fetchall._lines import Line
from fetchall._result import Ok


def digest64(text: str) -> int:
    """A 64-bit digest that is the same on every machine and Python version (BLAKE2b)."""
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big")


def identity(line: Line) -> str:
    """What makes two lines the same URL: the URL with its scheme and host lower-cased
    and a default port dropped; an invalid line's raw text."""
    if not isinstance(line.url, Ok):
        return line.text
    parts = urlsplit(line.url.value)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{auth}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


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
