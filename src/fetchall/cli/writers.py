"""Records as bytes for stdout: text, JSON lines or CSV, one line per record (``stream``
writes them)."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Protocol

from fetchall.cli.records import FIELDS, Record

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_GREEN, _RED, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


class OutputFormat(StrEnum):
    """The record formats stdout can carry."""

    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"


class RecordFormat(Protocol):
    """Turns each record into one line of bytes."""

    @property
    def header(self) -> bytes:
        """What goes before the first record (b"" for none)."""

    def line(self, record: Record) -> bytes:
        """One record as a UTF-8 line, newline included."""


class JsonlFormat:
    """One compact JSON object per line."""

    header = b""

    def line(self, record: Record) -> bytes:
        """One record as a UTF-8 line, newline included."""
        return (_JSON.encode(record) + "\n").encode("utf-8")


class CsvFormat:
    """A header line, then one row per record; formula-like cells are neutralised."""

    def __init__(self) -> None:
        self._scratch = io.StringIO()
        self._rows = csv.writer(self._scratch, lineterminator="\n")
        self.header = self._row(FIELDS)

    def line(self, record: Record) -> bytes:
        """One record as a UTF-8 line, newline included."""
        return self._row(tuple(_csv_cell(record[field]) for field in FIELDS))

    def _row(self, cells: tuple[str, ...]) -> bytes:
        self._rows.writerow(cells)
        text = self._scratch.getvalue()
        self._scratch.seek(0)
        self._scratch.truncate()
        return text.encode("utf-8")


class TextFormat:
    """One aligned line per record for people: status, bytes, seconds, URL, error."""

    header = b""

    def __init__(self, *, color: bool) -> None:
        self._color = color

    def line(self, record: Record) -> bytes:
        """One record as a UTF-8 line, newline included."""
        status = "---" if record["status"] is None else str(record["status"])
        text = f"{status:>3} {record['bytes']:>12} {record['elapsed']:>9.3f}s  {record['url']}"
        if record["error"] is not None:
            text += f"  [{record['error_kind']}] {record['error']}"
        if self._color:
            text = (_GREEN if record["ok"] else _RED) + text + _RESET
        return (text + "\n").encode("utf-8")


def make_format(output_format: OutputFormat, *, color: bool, quiet: bool) -> RecordFormat | None:
    """The format for ``output_format``, or None when nothing is written (text under
    ``--quiet``); colour applies to text only."""
    match output_format:
        case OutputFormat.TEXT:
            return None if quiet else TextFormat(color=color)
        case OutputFormat.JSONL:
            return JsonlFormat()
        case OutputFormat.CSV:
            return CsvFormat()


def _csv_cell(value: str | int | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
