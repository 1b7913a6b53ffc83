"""``httpx.URL`` values for the URLs of a list, without httpx re-parsing each one in full.

httpx validates and normalises a URL character by character: ~14 us for a short one, 7% of
a small fetch. A list's URLs share a few origins, so the origin (``scheme://authority``) is
parsed by httpx once and remembered, and a path and query made only of characters that
httpx keeps as they are is taken verbatim. Anything else (a dot segment, a fragment, a
character httpx would escape, no path) is parsed by httpx in full.

This builds httpx's parse result directly: a private part of httpx, which the project pins
to one minor version; tests compare every URL made here with ``httpx.URL``'s own.
"""

from __future__ import annotations

from functools import lru_cache

import httpx
from httpx._urlparse import ParseResult

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_VERBATIM = _UNRESERVED + "!$&'()*+,;=:@/%"
"""Characters httpx neither escapes nor rewrites in a path (it keeps a stray ``%`` too)."""
_QUERY_VERBATIM = _PATH_VERBATIM + "?"
_MAX_LENGTH = 65536
"""httpx refuses longer URLs."""


def make_url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, reusing the parsed origin when the rest needs no rewriting."""
    scheme_end = text.find("://")
    given_scheme = text[:scheme_end]
    path_start = text.find("/", scheme_end + 3)
    plain_scheme = scheme_end > 0 and given_scheme.isascii() and given_scheme.isalpha()
    if not plain_scheme or path_start < 0 or "#" in text or len(text) > _MAX_LENGTH:
        return httpx.URL(text)
    origin, rest = text[:path_start], text[path_start:]
    path, question, query = rest.partition("?")
    if (
        "?" in origin
        or path.rstrip(_PATH_VERBATIM)
        or query.rstrip(_QUERY_VERBATIM)
        or _has_dot_segment(path)
    ):
        return httpx.URL(text)
    scheme, userinfo, host, port = _parsed_origin(origin)
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = ParseResult(
        scheme, userinfo, host, port, path, query if question else None, None
    )
    return url


@lru_cache(maxsize=1024)
def _parsed_origin(origin: str) -> tuple[str, str, str, int | None]:
    """httpx's scheme, userinfo, host and port for ``scheme://authority``."""
    parsed = httpx.URL(origin)._uri_reference
    return parsed.scheme, parsed.userinfo, parsed.host, parsed.port


def _has_dot_segment(path: str) -> bool:
    """Whether httpx would remove ``.`` or ``..`` segments from ``path``."""
    if "." not in path:
        return False
    segments = path.split("/")
    return "." in segments or ".." in segments
