"""Parsing option values that need more than a type: sizes and headers (ValueError
when a value is not one)."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+)\s*([KMG]?)(?:I?B)?", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_size(text: str) -> int:
    """Bytes from ``500K``, ``10M``, ``1G`` (powers of 1024; ``KiB``/``KB`` too) or a plain
    number; ValueError otherwise."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size such as 500K, 10M or 1G")
    number, unit = match.groups()
    return int(number) << (10 * _POWERS[unit.upper()])


def parse_header(text: str) -> tuple[str, str]:
    """``('Name', 'value')`` from ``'Name: value'``; ValueError when it is not a header."""
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise ValueError(f"{text!r} is not a header of the form 'Name: value'")
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"the value of header {name!r} contains a line break or NUL")
    return name, value.strip()
