"""The entries the Python API takes (``Fetcher.results``, ``fetch_all``): URLs as text
and/or ``Line`` values, from an iterable or an async iterable."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable

from fetchall._input import parse_line
from fetchall._model import Line

Entries = Iterable[str | Line] | AsyncIterable[str | Line]
"""What ``Fetcher.results`` and ``fetch_all`` take: URLs as text (parsed like input lines)
and/or ``Line`` values, from any iterable or async iterable."""


async def lines_of(entries: Entries) -> AsyncIterator[Line]:
    """The ``Line`` of each entry: ``Line`` values as they are, text parsed (``<api>:N``);
    blank and comment text dropped. TypeError for any other entry."""
    if isinstance(entries, AsyncIterable):
        number = 0
        async for entry in entries:
            number += 1
            if (line := _line_of(entry, number)) is not None:
                yield line
    else:
        for number, entry in enumerate(entries, 1):
            if (line := _line_of(entry, number)) is not None:
                yield line


def _line_of(entry: str | Line, number: int) -> Line | None:
    if isinstance(entry, Line):
        return entry
    if isinstance(entry, str):
        return parse_line(entry.encode("utf-8", "surrogateescape"), f"<api>:{number}")
    raise TypeError(f"entry {number} is {type(entry).__name__}, not str or Line")
