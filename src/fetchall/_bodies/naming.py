"""File names for saved bodies: ``<host>[_<port>]/<path>``, sanitised so that nothing
can escape the output folder or misbehave on common file systems, and chosen from the
URL alone (never from what is on disk or which body finished first), so that two URLs
never share a file and a re-run finds each URL's file where the last run put it."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from fetchall._origin import Origin

MAX_NAME_BYTES = 200
"""Longest file or folder name written; longer ones are cut, keeping the extension."""
INDEX = "index.html"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_PCHAR = "!$&'()*+,;=:@-._~"
"""What a path segment may hold unencoded besides letters and digits (RFC 3986 3.3)."""

Fold = Callable[[str], str]
"""How the output folder's file system compares names: a name equal to its fold is the
one spelling kept plain (identity where names are compared byte for byte)."""


def same(name: str) -> str:
    """The fold of a file system that compares names exactly (Linux's)."""
    return name


def short_hash(text: str) -> str:
    """Eight hex digits that are the same for the same text on every machine."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def relative_parts(url: str, fold: Fold = same) -> list[str]:
    """The folder names and file name (last) that a URL's body is saved under: a pure
    function of the URL (and of ``fold``). Distinct URLs get distinct paths:

    - a segment keeps its decoded name only when it is the one plain spelling of that
      name (see ``_plain``); otherwise the file name gets the hash of the URL's path and
      query, so ``/p_q`` is ``p_q.txt``-like plain while ``/p%00q`` is suffixed;
    - files and folders share one namespace, so a file name keeps its plain form only
      when it has an extension and a folder name only when it has none; the others
      get a hash (``/a`` is ``a_<hash>``, the folder of ``/a/b`` is ``a``);
    - a path ending in ``/`` is ``index.html``; ``/index.html`` itself is suffixed.
    """
    parts = urlsplit(url)
    origin = Origin.from_parts(parts.scheme, parts.hostname or "_", parts.port)
    top = origin.host if origin.has_default_port else f"{origin.host}_{origin.port}"
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    segments = parts.path.split("/")[1:] or [""]
    plain = all(segments[:-1])  # an empty segment (``//``) is dropped: not plain
    folders: list[str] = []
    for index, segment in enumerate(segments[:-1]):
        if not segment:
            continue
        name = safe_name(segment)
        plain = plain and _plain(segment, name, fold)
        if _has_extension(name):  # could be a file's plain name: marked as a folder
            name = _capped(f"{name}_{short_hash('/' + '/'.join(segments[: index + 1]))}")
        folders.append(name)
    last = segments[-1]
    if not last:
        name = INDEX
        marked = not plain
    else:
        name = safe_name(last)
        plain = plain and _plain(last, name, fold)
        marked = not plain or not _has_extension(name) or fold(name) == fold(INDEX)
    if marked:
        name = with_suffix(name, short_hash(target))
    elif parts.query:
        name = with_suffix(name, short_hash(parts.query))
    return [safe_name(top), *folders, name]


def safe_name(raw: str) -> str:
    """One path component: percent-decoded, with separators and control characters
    replaced, dot-only names defused, and at most ``MAX_NAME_BYTES`` bytes."""
    return _capped(_cleaned(unquote(raw, errors="replace")))


def with_suffix(name: str, suffix: str) -> str:
    """``stem_suffix.ext``: a name made distinct while keeping its extension."""
    stem, ext = _split_extension(name)
    return _capped(f"{stem}_{suffix}{ext}")


def _plain(raw: str, name: str, fold: Fold) -> bool:
    """Whether ``raw`` is the one spelling of a segment that ``name`` is kept for: its
    decoded text needed no sanitising, and ``raw`` is that text percent-encoded the one
    way (RFC 3986: letters, digits and ``pchar`` as they are, anything else as UTF-8
    bytes in upper-case ``%XX``; a character a client would encode may be given
    unencoded, ``/café`` being sent as ``/caf%C3%A9``); and the file system cannot mistake
    it for another (``fold``: case, Unicode normalisation)."""
    sent = quote(raw, safe=_PCHAR + "%", errors="surrogatepass")
    decoded = unquote(sent, errors="replace")
    return (
        quote(decoded, safe=_PCHAR, errors="surrogatepass") == sent
        and _cleaned(decoded) == decoded
        and _capped(decoded) == name
        and fold(name) == name
    )


def _cleaned(name: str) -> str:
    name = _UNSAFE.sub("_", name)
    if not name.strip("."):
        name = "_" * max(1, len(name))
    return name


def _has_extension(name: str) -> bool:
    return bool(_split_extension(name)[1])


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


def folding(case: bool, normalisation: bool) -> Fold:
    """The fold of a file system that ignores case and/or Unicode normalisation (macOS's
    APFS and HFS+, Windows' NTFS): NFC, then case folding."""
    if not (case or normalisation):
        return same

    def fold(name: str) -> str:
        name = unicodedata.normalize("NFC", name) if normalisation else name
        return name.casefold() if case else name

    return fold
