"""The framing fields of a response head, read for the body's framing (RFC 9112 §6.3) and
the connection's persistence (§9.3), and checked where llhttp leaves them unchecked:
Content-Length (RFC 9110 §8.6) and Transfer-Encoding (RFC 9112 §6.1, §7)."""

from __future__ import annotations

from typing import Final, NamedTuple

from fetchall._http.errors import MalformedResponse

MAX_LENGTH_DIGITS: Final = 19
"""The most digits a Content-Length may have (issue 12): under 10^19, about 2^63, and so
``int()`` never meets a long number (Python refuses one of over 4,300 digits)."""

UNDOABLE_CODINGS: Final = frozenset({b"gzip", b"x-gzip", b"deflate"})
"""Transfer codings undone before the body is handed on (``transfer_coding``)."""

FRAMING_NAME_SIZES: Final = frozenset({14, 17, 10})
"""The lengths of Content-Length, Transfer-Encoding and Connection: the parser lowers
only fields of these lengths for ``read_framing``."""


# body framings (plain ints: an Enum member costs ~80 ns a compare on Python 3.11)
NONE: Final = 0  # no body
LENGTH: Final = 1  # Content-Length bytes
CHUNKED: Final = 2
CLOSE: Final = 3  # to the end of the connection


class Framing(NamedTuple):
    """How a response's body is framed, and what its connection may do after it."""

    kind: int
    """``NONE``, ``LENGTH``, ``CHUNKED`` or ``CLOSE``."""
    length: int
    """The Content-Length, for a body framed by one (0 otherwise)."""
    codings: list[bytes]
    """The transfer codings to undo, first applied first (chunked bodies only)."""
    persistent: bool
    """The connection may carry another request once the body has ended."""


def read_framing(
    fields: list[tuple[bytes, bytes]], version: bytes, no_content: bool, switching: bool
) -> Framing:
    """How the body is framed, from the Content-Length, Transfer-Encoding and Connection
    ``fields`` (lower-case names); ``no_content`` for a response that has none whatever
    they say (to HEAD, 204, 304), ``switching`` for a 101. HTTP/1.0 closes unless it says
    keep-alive; a ``close`` option in any Connection field closes.

    Raises ``MalformedResponse`` for a Content-Length or Transfer-Encoding refused below."""
    lengths: list[bytes] = []
    codings: list[bytes] = []
    close = keep_alive = False
    for name, value in fields:
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"connection":
            options = value.lower()
            if options == b"keep-alive":  # what nearly every server says: no splitting
                keep_alive = True
                continue
            for option in options.split(b","):
                option = option.strip(b" \t")
                close = close or option == b"close"
                keep_alive = keep_alive or option == b"keep-alive"
    length = content_length(lengths) if lengths else None
    undo: list[bytes] = []
    if no_content or switching:
        kind = NONE
    elif codings:
        kind = CHUNKED
        undo = transfer_codings(codings)
    elif length is not None:
        kind = LENGTH if length else NONE
    else:
        kind = CLOSE
    persistent = (
        not close
        and (keep_alive or version == b"HTTP/1.1")
        and kind != CLOSE
        and not switching
        and not (codings and version == b"HTTP/1.0")  # unreliable framing: RFC 9112 §6.1
    )
    return Framing(kind, length or 0, undo, persistent)


def content_length(values: list[bytes]) -> int:
    """The length one or more Content-Length values state: digits only, at most
    ``MAX_LENGTH_DIGITS`` of them, repeated (as fields or list elements) only if equal.

    Raises ``MalformedResponse`` naming the value, or the two values that conflict."""
    if len(values) == 1:  # the usual case, checked without splitting
        value = values[0]
        if value.isdigit() and len(value) <= MAX_LENGTH_DIGITS:
            return int(value)
    found: int | None = None
    for value in values:
        for element in value.split(b","):
            element = element.strip(b" \t")
            if not (element.isdigit() and len(element) <= MAX_LENGTH_DIGITS):
                shown = value.strip(b" \t")[:40]
                raise MalformedResponse(f"Content-Length {shown!r}")
            number = int(element)
            if found is not None and number != found:
                raise MalformedResponse(f"conflicting Content-Length values {found} and {number}")
            found = number
    assert found is not None  # values is not empty, and split() gives at least one element
    return found


def transfer_codings(values: list[bytes]) -> list[bytes]:
    """The codings applied before ``chunked`` (lower case, first applied first), from the
    values of the Transfer-Encoding fields. ``chunked`` must come last, and once: anything
    else would hand on still-encoded bytes, or need the close to end the body.

    Raises ``MalformedResponse`` naming the codings, or the coding that cannot be undone."""
    codings = [c.strip(b" \t").lower() for value in values for c in value.split(b",")]
    codings = [c for c in codings if c]  # empty list elements are allowed: RFC 9110 §5.6.1
    if not codings or codings[-1] != b"chunked":
        shown = b", ".join(codings)[:60].decode("latin-1")
        raise MalformedResponse(f"Transfer-Encoding {shown!r} does not end in chunked")
    for coding in codings[:-1]:
        if coding == b"chunked":
            raise MalformedResponse("Transfer-Encoding applies chunked more than once")
        if coding not in UNDOABLE_CODINGS:
            shown = coding[:40].decode("latin-1")
            raise MalformedResponse(f"unsupported transfer coding {shown!r}")
    return codings[:-1]
