"""Records as text, JSON lines or CSV (``RecordFormat``): as the bytes of one line each for
stdout (``data``, written by ``stream``), or handed to the live display to print above its
area when stdout is the same terminal (``ScreenWriter``)."""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from enum import StrEnum
from typing import Protocol

import orjson

from fetchall.cli.escaping import printable
from fetchall.cli.records import FIELDS, Record

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_JSON = json.JSONEncoder(separators=(",", ":"))
"""For the records orjson refuses: ASCII, so a lone surrogate is written as an escape."""
_GREEN, _RED, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"
SHA256_SHOWN = 12
"""Hex digits of a body's SHA-256 that a text record shows (the jsonl and csv give all 64)."""


class OutputFormat(StrEnum):
    """The record formats stdout can carry."""

    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"


class RecordFormat(Protocol):
    """Turns records into lines: text for the display (``line``, without the line end), or
    UTF-8 bytes for stdout (``data``, with it)."""

    @property
    def header(self) -> str | None:
        """A line that goes before the first record, if the format has one."""

    def line(self, record: Record) -> str:
        """The record's line."""

    def data(self, record: Record, *, color: bool) -> bytes:
        """The record's line for stdout: UTF-8, newline included; green or red when
        ``color`` and the format is for people (text)."""


class JsonlFormat:
    """One compact JSON object per line, made by orjson: a record took 5.0 us with the
    standard library's encoder and 0.5 us with orjson (timeit, a 26-field record). A record
    orjson refuses (a string holding a lone surrogate) is made by the standard library."""

    header: str | None = None

    def line(self, record: Record) -> str:
        """The record as JSON."""
        return self.data(record, color=False)[:-1].decode("utf-8", "surrogatepass")

    def data(self, record: Record, *, color: bool) -> bytes:
        """The record as a JSON line."""
        try:
            return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            return (_ESCAPED_JSON.encode(record) + "\n").encode("ascii")


class CsvFormat:
    """A header line, then one row per record; formula-like cells are neutralised. Cells
    keep their exact text: one holding a line end (CR or LF) is quoted, as RFC 4180 says."""

    def __init__(self) -> None:
        self._scratch = io.StringIO()
        # The csv module quotes a cell holding a character of the line terminator (or of
        # the delimiter or quote): "\r\n" makes it quote both line ends; it is cut off below.
        self._rows = csv.writer(self._scratch, lineterminator="\r\n")
        self.header: str | None = self._row(FIELDS)

    def line(self, record: Record) -> str:
        """The record's row."""
        return self._row(tuple(_csv_cell(record[field]) for field in FIELDS))

    def data(self, record: Record, *, color: bool) -> bytes:
        """The record's row, ending in a newline."""
        return (self.line(record) + "\n").encode("utf-8")

    def _row(self, cells: tuple[str, ...]) -> str:
        self._rows.writerow(cells)
        text = self._scratch.getvalue()[:-2]
        self._scratch.seek(0)
        self._scratch.truncate()
        return text


class TextFormat:
    """One aligned line per record for people: status (``skip`` for a file already saved,
    ``---`` when no response arrived), bytes, seconds, URL, then what else happened: the
    attempts when more than one, ``→ path`` when saved, the start of the SHA-256 when asked,
    and ``[error_kind] error`` for a failure; ``printable``, since the URL, the path and the
    error may hold a file's or a server's control characters."""

    header = None

    def line(self, record: Record) -> str:
        """The record's line."""
        status = "skip" if record["skipped"] else record["status"] or "---"
        text = f"{status:>4} {record['bytes']:>12} {record['elapsed']:>9.3f}s  {record['url']}"
        attempts = record["attempts"]
        if isinstance(attempts, int) and attempts > 1:
            text += f"  ({attempts} attempts)"
        if record["path"] is not None:
            text += f"  → {record['path']}"
        if isinstance(record["sha256"], str):
            text += f"  sha256 {record['sha256'][:SHA256_SHOWN]}"
        if record["error"] is not None:
            text += f"  [{record['error_kind']}] {record['error']}"
        return printable(text)

    def data(self, record: Record, *, color: bool) -> bytes:
        """The record's line, green for ok and red for failed when ``color``."""
        text = self.line(record)
        if color:
            text = (_GREEN if record["ok"] else _RED) + text + _RESET
        return (text + "\n").encode("utf-8")


def record_format(output_format: OutputFormat) -> RecordFormat:
    """The format ``output_format`` names."""
    match output_format:
        case OutputFormat.TEXT:
            return TextFormat()
        case OutputFormat.JSONL:
            return JsonlFormat()
        case OutputFormat.CSV:
            return CsvFormat()


class ScreenWriter:
    """Records kept for the live display, which prints them above its area on its next
    refresh (about ten times a second): when stdout and the display share a terminal, one
    console writing both is the only way neither overwrites the other."""

    def __init__(self, record_format: RecordFormat) -> None:
        self._format = record_format
        self._pending: deque[tuple[str, bool]] = deque()
        if record_format.header is not None:
            self._pending.append((record_format.header, True))

    def write(self, record: Record) -> None:
        """Keep the record's line (and whether it was ok) for the next refresh."""
        self._pending.append((self._format.line(record), record["ok"] is True))

    def __len__(self) -> int:
        """Lines kept for the next refresh."""
        return len(self._pending)

    def take(self) -> list[tuple[str, bool]]:
        """The lines kept since the last call, oldest first, each with its ok flag."""
        lines = list(self._pending)
        self._pending.clear()
        return lines


def _csv_cell(value: str | int | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
