"""Which input lines a run handles: shard, resume and unique selection drop lines before
the engine sees them, so a dropped line gets no record (``LineCounts`` counts them).

"The same URL" means two things here, on purpose:

- shard and unique compare ``canonical_url`` (scheme and host lower-cased, default port
  and fragment dropped), so ``HTTP://Example.com:80/a#top`` and ``http://example.com/a``
  are one URL;
- resume compares a line's text as given (whitespace stripped) with the ``url`` field of
  an earlier run's ok records, which hold that same text: a record matches only the line
  that made it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from fetchall._input.digests import DigestSet, canonical_url, digest64
from fetchall._model import Line


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``: the lines whose digest falls in it."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 0 <= K < N; ValueError otherwise."""
        index, slash, count = text.partition("/")
        if not (slash and _digits(index.strip()) and _digits(count.strip())):
            raise ValueError(f"{text!r} is not K/N")
        shard = cls(int(index), int(count))
        if not 0 <= shard.index < shard.count:
            raise ValueError(f"{text!r} needs 0 <= K < N")
        return shard

    def holds(self, line: Line) -> bool:
        """Whether ``line`` belongs to this shard."""
        return digest64(canonical_url(line)) % self.count == self.index


@dataclass(slots=True)
class LineCounts:
    """Lines read (non-blank, non-comment), and those the selection dropped, by reason."""

    read: int = 0
    other_shard: int = 0
    """Not in this run's ``--shard``."""
    already_done: int = 0
    """With an ok record in the ``--resume`` file."""
    duplicate: int = 0
    """A URL seen before, with ``--unique``."""

    @property
    def dropped(self) -> int:
        """Lines read and dropped, whatever the reason."""
        return self.other_shard + self.already_done + self.duplicate


def _digits(text: str) -> bool:
    """ASCII digits, as ``int`` takes them (``str.isdigit`` also takes ``²``)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


@dataclass(frozen=True, slots=True)
class ResumeState:
    """The URLs an earlier run's jsonl output has ``ok`` records for."""

    done: DigestSet
    malformed: int


def read_resume(path: str) -> ResumeState:
    """Read an earlier run's jsonl records; malformed lines are counted, not fatal.
    OSError when the file cannot be read."""
    done = DigestSet()
    malformed = 0
    with open(path, "rb") as records:
        for raw in records:
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                url, ok = record["url"], record["ok"]
            except (ValueError, TypeError, KeyError):
                malformed += 1
                continue
            if ok is True and isinstance(url, str):
                done.add(digest64(url.strip()))
    return ResumeState(done, malformed)


async def select_lines(
    lines: AsyncIterable[Line],
    *,
    shard: Shard | None = None,
    resume: ResumeState | None = None,
    unique: bool = False,
    counts: LineCounts | None = None,
) -> AsyncIterator[Line]:
    """The lines of this shard, not done before, and each distinct URL once; ``counts``
    (if given) counts the lines read and those dropped."""
    seen = DigestSet() if unique else None
    counts = LineCounts() if counts is None else counts
    async for line in lines:
        counts.read += 1
        if shard is not None and not shard.holds(line):
            counts.other_shard += 1
        elif resume is not None and digest64(line.text) in resume.done:
            counts.already_done += 1
        elif seen is not None and not seen.add(digest64(canonical_url(line))):
            counts.duplicate += 1
        else:
            yield line
