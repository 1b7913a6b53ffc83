"""Writing records to stdout as text, JSON lines or CSV, one flushed line per record."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import BinaryIO, Protocol

from fetchall.cli.records import FIELDS, Record

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_GREEN, _RED, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


class OutputFormat(StrEnum):
    """The record formats stdout can carry."""

    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"


class Writer(Protocol):
    """Writes each record as soon as it is known."""

    def write(self, record: Record) -> None:
        """Write one record and flush it."""


class JsonlWriter:
    """One compact JSON object per line."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, record: Record) -> None:
        """Write one record and flush it."""
        _emit(self._out, _JSON.encode(record) + "\n")


class CsvWriter:
    """A header line, then one row per record; formula-like cells are neutralised."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._scratch = io.StringIO()
        self._rows = csv.writer(self._scratch, lineterminator="\n")
        self._row(FIELDS)

    def write(self, record: Record) -> None:
        """Write one record and flush it."""
        self._row(tuple(_csv_cell(record[field]) for field in FIELDS))

    def _row(self, cells: tuple[str, ...]) -> None:
        self._rows.writerow(cells)
        text = self._scratch.getvalue()
        self._scratch.seek(0)
        self._scratch.truncate()
        _emit(self._out, text)


class TextWriter:
    """One aligned line per record for people: status (``skip`` when the file was already
    saved, ``---`` when no response arrived), bytes, seconds, URL, error."""

    def __init__(self, out: BinaryIO, *, color: bool) -> None:
        self._out = out
        self._color = color

    def write(self, record: Record) -> None:
        """Write one record and flush it."""
        status = "skip" if record["skipped"] else record["status"] or "---"
        text = f"{status:>3} {record['bytes']:>12} {record['elapsed']:>9.3f}s  {record['url']}"
        if record["error"] is not None:
            text += f"  [{record['error_kind']}] {record['error']}"
        if self._color:
            text = (_GREEN if record["ok"] else _RED) + text + _RESET
        _emit(self._out, text + "\n")


class NullWriter:
    """Writes nothing: the text format under ``--quiet``."""

    def write(self, record: Record) -> None:
        """Drop the record."""


def make_writer(output_format: OutputFormat, out: BinaryIO, *, color: bool, quiet: bool) -> Writer:
    """The writer for ``output_format``; colour and quietness apply to text only."""
    match output_format:
        case OutputFormat.TEXT:
            return NullWriter() if quiet else TextWriter(out, color=color)
        case OutputFormat.JSONL:
            return JsonlWriter(out)
        case OutputFormat.CSV:
            return CsvWriter(out)


def _csv_cell(value: str | int | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _emit(out: BinaryIO, text: str) -> None:
    out.write(text.encode("utf-8"))
    out.flush()
