"""HTTP/2's failures on httpx's transport (``--http2``) in words for people, with RFC
9113 §7's error code names.

httpcore raises ``RemoteProtocolError`` whose argument is h2's event itself (httpx's
message is then its repr, ``<StreamReset stream_id:1, error_code:2, ...>``) when the
server resets the stream (RST_STREAM, RFC 9113 §6.4) or ends the connection (GOAWAY,
§6.8), ``RemoteProtocolError("Server disconnected")`` when the connection closes, and
lets h2's ``ProtocolError`` (the server broke HTTP/2) out of a body unwrapped. ``typed``
turns each into a typed error: before the response head ``StreamEnded`` or
``NoResponse`` (``protocol``), inside the body ``StreamCut`` or ``IncompleteBody``
(``read``, the status and the bytes so far kept, as fetchall's transport does for a body
cut short), and h2's ``ProtocolError`` ``MalformedResponse`` (``protocol``).

h2 is optional (``fetchall[http2]``): without it there is no HTTP/2 failure to tell.
"""

from __future__ import annotations

import httpx

from fetchall._http.errors import (
    IncompleteBody,
    MalformedResponse,
    NoResponse,
    StreamCut,
    StreamEnded,
    causes,
)

_DISCONNECTED = "Server disconnected"
"""httpcore's wording (``_async/http2.py``) for an HTTP/2 connection closed by the peer."""

try:
    from h2.errors import ErrorCodes
    from h2.events import ConnectionTerminated, StreamReset
    from h2.exceptions import InvalidBodyLengthError, ProtocolError

    H2_ERRORS: tuple[type[Exception], ...] = (ProtocolError,)
    """h2's exceptions that httpcore lets out of a response body unwrapped."""
except ImportError:  # pragma: no cover - h2 is installed with the tests
    H2_ERRORS = ()


def typed(exc: BaseException, *, in_body: bool) -> httpx.RemoteProtocolError | None:
    """The typed error an HTTP/2 failure ``exc`` (httpx's or httpcore's exception, or
    h2's) means, raised before the head or ``in_body``; None when it is none of them."""
    if not H2_ERRORS:
        return None
    for cause in causes(exc):
        if isinstance(cause, InvalidBodyLengthError):
            return _length_error(cause.actual_length, cause.expected_length)
        if isinstance(cause, ProtocolError):  # h2's words begin with the class's name
            words = str(cause).removeprefix(f"{type(cause).__name__}: ")
            return MalformedResponse(f"the server broke HTTP/2: {words}")
        event = cause.args[0] if cause.args else None
        if isinstance(event, StreamReset):
            words = _reset_words(event)
            return StreamCut(words) if in_body else StreamEnded(words)
        if isinstance(event, ConnectionTerminated):
            words = f"the server ended the HTTP/2 connection (GOAWAY, {_code(event.error_code)})"
            return StreamCut(words) if in_body else StreamEnded(words)
    if str(exc) == _DISCONNECTED:
        return IncompleteBody(_DISCONNECTED) if in_body else NoResponse(_DISCONNECTED)
    return None


def _length_error(actual: int, expected: int) -> httpx.RemoteProtocolError:
    """A stream that ended (END_STREAM) short of its content-length is a body cut short;
    one longer than it is malformed (RFC 9113 §8.1.1)."""
    if actual < expected:
        return IncompleteBody(f"the response ended after {actual} of {expected} body bytes")
    return MalformedResponse(f"{actual} body bytes, more than the content-length {expected}")


def _reset_words(event: StreamReset) -> str:
    code = _code(event.error_code)
    if event.remote_reset:
        return f"the server reset the stream (HTTP/2 {code})"
    return f"the stream was reset: the server broke HTTP/2 ({code})"


def _code(code: object) -> str:
    """RFC 9113 §7's name of an error code, or its number (an unknown code)."""
    if not isinstance(code, int):
        return str(code)
    try:
        return ErrorCodes(code).name
    except ValueError:
        return f"error code 0x{code:x}"
