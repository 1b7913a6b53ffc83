"""File names for saved bodies: ``<host>[_<port>]/<path>``, sanitised so that nothing
can escape the output folder or misbehave on common file systems."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import unquote, urlsplit

from fetchall._origin import Origin

MAX_NAME_BYTES = 200
"""Longest file or folder name written; longer ones are cut, keeping the extension."""
INDEX = "index.html"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def short_hash(text: str) -> str:
    """Eight hex digits that are the same for the same text on every machine."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def relative_parts(url: str) -> list[str]:
    """The folder names and file name (last) that a URL's body is saved under."""
    parts = urlsplit(url)
    origin = Origin.from_parts(parts.scheme, parts.hostname or "_", parts.port)
    top = origin.host if origin.has_default_port else f"{origin.host}_{origin.port}"
    segments = parts.path.split("/")[1:] or [""]
    folders = [safe_name(segment) for segment in segments[:-1] if segment]
    name = safe_name(segments[-1]) if segments[-1] else INDEX
    if parts.query:
        name = with_suffix(name, short_hash(parts.query))
    return [safe_name(top), *folders, name]


def safe_name(raw: str) -> str:
    """One path component: percent-decoded, with separators and control characters
    replaced, dot-only names defused, and at most ``MAX_NAME_BYTES`` bytes."""
    name = _UNSAFE.sub("_", unquote(raw, errors="replace"))
    if not name.strip("."):
        name = "_" * max(1, len(name))
    return _capped(name)


def with_suffix(name: str, suffix: str) -> str:
    """``stem_suffix.ext``: a name made distinct while keeping its extension."""
    stem, ext = _split_extension(name)
    return _capped(f"{stem}_{suffix}{ext}")


def _capped(name: str) -> str:
    encoded = name.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_NAME_BYTES:
        return name
    stem, ext = _split_extension(name)
    keep = MAX_NAME_BYTES - len(ext.encode("utf-8", "surrogatepass")) - 9
    cut = stem.encode("utf-8", "surrogatepass")[:keep].decode("utf-8", "ignore")
    return f"{cut}~{short_hash(name)}{ext}"


def _split_extension(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    if not stem or len(ext) > 16:
        return name, ""
    return stem, ext
