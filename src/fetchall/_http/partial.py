"""What is known of an attempt's response so far (``Partial``), so that a failure can still
report its status, fields, bytes and timings; read from each head as it arrives
(``take_head``); what the minimum speed counts of it (``Transferred``); and two rules a
head is read by (``declared_length``, ``no_content``), for httpx's transport too."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from fetchall._http.redirects import location
from fetchall._http.timing import Trace
from fetchall._model import Response


@dataclass(slots=True)
class Partial:
    """What is known of a response so far, so a failure can still report it."""

    final_url: str
    trace: Trace
    """The phases of the request that gave the response."""
    status: int | None = None
    received: int = 0
    content_type: str | None = None
    retry_after: float | None = None
    location: str | None = None
    redirects: int = 0
    content_length: int | None = None
    content_encoding: str | None = None
    http_version: str | None = None

    def response(self) -> Response | None:
        """The record's response so far (status, fields, bytes, timings in seconds); None
        before any head arrived."""
        if self.status is None:
            return None
        dns, connect, tls, ttfb = self.trace.timings()
        return Response(
            self.status,
            self.final_url,
            self.received,
            self.content_type,
            self.retry_after,
            location=self.location,
            redirects=self.redirects,
            content_length=self.content_length,
            remote_ip=self.trace.remote_ip,
            http_version=self.http_version,
            time_dns=dns,
            time_connect=connect,
            time_tls=tls,
            time_ttfb=ttfb,
        )


def take_head(response: httpx.Response, partial: Partial) -> None:
    """Keep what the last response's head says in ``partial`` (the target of a redirect
    that was not followed too)."""
    partial.status = response.status_code
    partial.final_url = str(response.url)
    fields = _head_fields(response.headers)
    partial.content_type = fields.get(b"content-type")
    partial.content_encoding = fields.get(b"content-encoding")
    partial.content_length = declared_length(fields.get(b"content-length"))
    partial.location = location(response)
    partial.http_version = response.http_version


_HEAD_FIELDS = frozenset({b"content-type", b"content-length", b"content-encoding"})
"""The fields a record or the body's reading needs, found in one pass over the head."""


def _head_fields(headers: httpx.Headers) -> dict[bytes, str]:
    """The values of ``_HEAD_FIELDS`` in ``headers``, repeated ones joined with ", " as
    ``Headers.get`` joins them. One pass over httpx's list of fields (a private part of
    httpx, pinned): each ``Headers.get`` is a pass of its own, 1 us a field."""
    found: dict[bytes, str] = {}
    for _, name, value in headers._list:
        if name in _HEAD_FIELDS:
            text = _text(value)
            found[name] = f"{found[name]}, {text}" if name in found else text
    return found


class Transferred:
    """What the minimum speed counts: the bytes of response heads and bodies received (a
    head dripped slowly is slow, but not "0 bytes")."""

    __slots__ = ("_partial",)

    def __init__(self, partial: Partial) -> None:
        self._partial = partial

    @property
    def received(self) -> int:
        """Bytes received so far: the body's (as the record's ``bytes`` counts them) and
        those of every response head of the attempt."""
        return self._partial.received + self._partial.trace.head_bytes


_MAX_LENGTH_DIGITS = 19
"""Content-Length digits that count (63 bits); a longer one is left to the framing, which
refuses it, and to the count of bytes received (``int`` refuses more than 4,300 digits)."""


def _text(value: bytes) -> str:
    """A field's value as text: UTF-8, or Latin-1 when it is not (as httpx decodes)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def declared_length(declared: str | None) -> int | None:
    """A Content-Length field's bytes; None when absent or not one number of ASCII digits
    (``str.isdigit`` takes ``²``; repeated fields come joined with commas)."""
    if declared is None or len(declared) > _MAX_LENGTH_DIGITS:
        return None
    return int(declared) if declared.isascii() and declared.isdigit() else None


_NO_CONTENT_STATUSES = frozenset({204, 304})


def no_content(method: str, status: int) -> bool:
    """Whether a response has no content whatever its fields say (RFC 9110 §6.4.1): one to
    HEAD, a 1xx, 204 (No Content) or 304 (Not Modified). Its empty body is no body: it has
    no SHA-256."""
    return method == "HEAD" or status < 200 or status in _NO_CONTENT_STATUSES
