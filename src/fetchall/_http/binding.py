"""llhttp (9.4.3, through httptools 0.9.0) as the parser and the repair pass use it: made
with the leniencies RFC 9112 allows (``llhttp``), the errors httptools raises for it
(``LLHTTP_ERRORS``), the one that parses nothing (``DETACHED``), how a callback stops it
(``Stop``), and what a callback raised behind its error (``raised_by_callback``)."""

from __future__ import annotations

from typing import Final

import httptools

LLHTTP_ERRORS: Final = (httptools.HttpParserError, httptools.HttpParserUpgrade)
"""What httptools raises for bytes llhttp refuses (and for a 101 with Upgrade fields)."""


class Stop(Exception):
    """Raised in a callback to make llhttp stop: the response has ended at its head."""


def llhttp(callbacks: object, *, lenient_headers: bool) -> httptools.HttpResponseParser:
    """A response parser with the leniencies RFC 9112 allows a recipient and all llhttp's
    other checks on: a bare LF ends a line (§2.2) and whitespace may follow a chunk size
    (§7.1.1, a device aiohttp met: nodejs/llhttp#244). ``lenient_headers`` only for
    normalised heads (see ``repair``)."""
    parser = httptools.HttpResponseParser(callbacks)
    parser.set_dangerous_leniencies(
        lenient_optional_cr_before_lf=True,
        lenient_spaces_after_chunk_size=True,
        lenient_headers=lenient_headers,
    )
    return parser


DETACHED: Final = llhttp(None, lenient_headers=False)
"""Where a parser's llhttp reference points until the first bytes arrive and once its
response has ended. llhttp holds the parser's bound callbacks: a cycle left to the garbage
collector costs ~1.4 us a response, and one alive while a request waits for its answer is
visited by every collection meanwhile (~2,500 instructions a request at -c 128, callgrind)."""


def raised_by_callback(error: Exception) -> BaseException | None:
    """What a callback raised that made llhttp fail with ``error`` (httptools wraps it): an
    error of ours, or a bug. None if llhttp refused the bytes or a callback raised ``Stop``."""
    cause = error.__context__
    if cause is None or isinstance(cause, Stop | httptools.HttpParserError):
        return None
    return cause
