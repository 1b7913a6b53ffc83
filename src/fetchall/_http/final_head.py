"""The final response's head, as the parser hands it on (``Head``): the status line's
checks llhttp lacks (the status in 100-599, HTTP/1.0 or 1.1, no NUL in the reason, no 101
unasked), the body's framing it decides (``fields.read_framing``, with the no-body rules
of RFC 9110 §9.3.2 and RFC 9112 §6.3), and the errors for content or a close where that
framing has none (``unexpected_content``, ``closed_early``). Called once a head, or once
a response fails, never per byte."""

from __future__ import annotations

from typing import Final, NamedTuple

import httpx

from fetchall._http.errors import (
    IncompleteBody,
    MalformedResponse,
    NoResponse,
    connection_end,
)
from fetchall._http.fields import CHUNKED, LENGTH, Framing, read_framing

_VERSIONS: Final = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}  # llhttp also takes 0.9 and 2.0
_NO_CONTENT: Final = frozenset({101, 204, 304})


class Head(NamedTuple):
    """The final response's status line and fields, in order (values without surrounding
    whitespace, obs-folds unfolded, equal Content-Length repeats merged)."""

    http_version: bytes
    """``b"HTTP/1.0"`` or ``b"HTTP/1.1"``."""
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]


def check_status_line(number: str, status: int, reason: bytes, upgrade: bool) -> bytes | None:
    """The HTTP version of a head with llhttp's version ``number``, ``status`` and
    ``reason``, or None for an interim (1xx) response, skipped (RFC 9110 §15.2); ``upgrade``
    if the request asked for a protocol switch, which alone makes a 101 acceptable.

    Raises ``MalformedResponse`` for a status line refused."""
    version = _VERSIONS.get(number)
    if version is None:
        raise MalformedResponse(f"HTTP version {number}, not 1.0 or 1.1")
    if not 100 <= status <= 599:  # RFC 9110 §15; llhttp takes any three digits
        raise MalformedResponse(f"status {status:03d} outside 100-599")
    if b"\x00" in reason:  # llhttp lets it through
        raise MalformedResponse("NUL in the reason phrase")
    if status < 200 and status != 101:
        return None  # RFC 9110 §15.2: skipped; RFC 9112 §6.3: no content
    if status == 101 and not upgrade:
        raise MalformedResponse("101 Switching Protocols, but no upgrade asked")
    return version


def body_framing(
    fields: list[tuple[bytes, bytes]], version: bytes, status: int, no_body: bool
) -> Framing:
    """The body's framing and the connection's persistence (``fields.read_framing``) of a
    final head with these framing ``fields``; ``no_body`` for the response to a HEAD.

    Raises ``MalformedResponse`` for a Content-Length or Transfer-Encoding refused."""
    no_content = no_body or status in _NO_CONTENT
    return read_framing(fields, version, no_content, status == 101)


def unexpected_content(interim: bool) -> MalformedResponse:
    """The error for content llhttp found where we expect none (in an ``interim`` response
    too), or framed otherwise than we read the fields (``Transfer-Encoding: chunked,`` is
    not chunked for llhttp): never guess."""
    if interim:
        return MalformedResponse("a 1xx response with content")
    return MalformedResponse("body framing unclear")


def closed_early(
    in_body: bool,
    began: bool,
    framing: int,
    received: int,
    length: int,
    lost: BaseException | None = None,
) -> httpx.RemoteProtocolError | None:
    """The error for a connection ended before the response ended: ``in_body`` after its
    head (``framing`` and ``length`` as ``body_framing`` decided, ``received`` body bytes
    as framed), else inside a head if a response ``began`` (more than line breaks);
    ``lost`` is the error that ended it (a reset), None for the peer's close (its words:
    ``errors.connection_end``). None for a close-delimited body the peer's close ends
    (RFC 9112 §6.3 item 8); a reset is no such end (curl fails the transfer too)."""
    ended = connection_end(lost)
    if not in_body:
        if not began:
            return NoResponse(f"{ended} before a response began")
        return MalformedResponse(f"{ended} inside the response head")
    if framing == LENGTH:
        return IncompleteBody(f"{ended} after {received} of {length} body bytes")
    if framing == CHUNKED:
        return IncompleteBody(f"{ended} inside the chunked body after {received} bytes")
    if lost is not None:
        return IncompleteBody(f"{ended} after {received} body bytes")
    return None
