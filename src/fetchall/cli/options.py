"""Parsing and checking option values that need more than a type: sizes, headers, request
bodies, and numbers in their ranges. Each raises ValueError saying what is accepted."""

from __future__ import annotations

import math
import re

from fetchall._settings import checked_header

_SIZE = re.compile(r"(\d+)\s*([KMG]?)(?:I?B)?", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3}
MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest request body: it is held in memory and sent to every URL, and each request
in flight may hold a copy while it is written (16 MiB x -c 16 = 256 MiB at most)."""


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
    if not colon or not name:
        raise ValueError(f"{text!r} is not a header of the form 'Name: value'")
    checked_header(name, value)  # before stripping: a trailing CR or LF is refused too
    return name, value.strip()


def whole_number(value: int, minimum: int, meaning: str) -> int:
    """``value`` when it is at least ``minimum``; ``meaning`` words the range for people
    (``"a whole number of requests, 1 or more"``)."""
    if value < minimum:
        raise ValueError(f"must be {meaning} (got {value})")
    return value


def positive_number(value: float, meaning: str) -> float:
    """``value`` when it is a finite number above zero (not NaN, not infinite)."""
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be {meaning} (got {value:g})")
    return value


def number_or_zero(value: float, meaning: str) -> float:
    """``value`` when it is a finite number, zero or more."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be {meaning} (got {value:g})")
    return value


NONE_WORDS = ("0", "none")
"""What turns an optional limit off."""


def optional_seconds(text: str) -> float | None:
    """None for ``0`` or ``none``; else a positive, finite number of seconds."""
    if text.strip().lower() in NONE_WORDS:
        return None
    meaning = "a positive number of seconds, or 0 for none"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"must be {meaning} (got {text!r})") from None
    return positive_number(value, meaning)


def bytes_per_second(text: str) -> int:
    """Bytes a second from ``1024``, ``1K``, ``2M`` (powers of 1024); 0 allowed."""
    try:
        return parse_size(text)
    except ValueError:
        raise ValueError(
            f"must be a number of bytes per second such as 1024 or 1K, or 0 for none (got {text!r})"
        ) from None


def read_body(values: list[str], *, binary: bool) -> bytes:
    """The request body of ``-d`` (``binary`` False) or ``--data-binary`` values, as curl
    makes it: each value is its text as given, or with ``@FILE`` that file's bytes (for
    ``-d`` without CR and LF); several are joined with ``&``. ValueError for ``@-`` (stdin
    may carry the URL list), a file that cannot be read, or a body over MAX_BODY_BYTES."""
    parts = [_body_part(value, binary=binary) for value in values]
    body = b"&".join(parts)
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"larger than {MAX_BODY_BYTES:,} bytes (16 MiB), the most sent")
    return body


def _body_part(value: str, *, binary: bool) -> bytes:
    if not value.startswith("@"):
        return value.encode("utf-8", "surrogateescape")
    path = value[1:]
    if path == "-":
        raise ValueError("@- (the body from stdin) is not supported: stdin may carry the URLs")
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BODY_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data if binary else data.replace(b"\r", b"").replace(b"\n", b"")
