"""Redirects: fetchall follows them itself, one hop at a time over httpx's client, so that
a result can say how many hops were followed and where an unfollowed one pointed; and the
rules for the next request's method, body and headers.

The rules are the Fetch standard's (4.4, HTTP-redirect fetch), which curl and browsers
follow: a 303 turns any method but HEAD into GET, a 301 or 302 turns POST into GET, and
every other redirect (307, 308) keeps the method and the body. A request turned into GET
loses its body and the fields that describe it. httpx itself turns a 302 after any method
into GET and keeps Content-Type, hence ``RedirectingClient``.
"""

from __future__ import annotations

import httpx

FOLLOWED_SCHEMES = ("http", "https")
MAX_DISCARDED_BYTES = 64 * 1024
"""A redirect's body is read (so its connection can be reused) up to this many bytes;
a longer one is dropped with its connection."""
_BODY_FIELDS = (
    "Content-Type",
    "Content-Encoding",
    "Content-Language",
    "Content-Location",
    "Content-Length",
    "Transfer-Encoding",
)
"""The Fetch standard's request-body-header names, and the framing fields."""


def redirect_method(method: str, status: int) -> str:
    """The method of the request that follows a ``status`` redirect answering ``method``."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET"
    return method


class RedirectingClient(httpx.AsyncClient):
    """httpx's client, building each redirect's request by ``redirect_method``; when that
    turns the method into GET, the body and the fields describing it are dropped (httpx
    drops the body, Content-Length and Transfer-Encoding; the rest are dropped here).
    Everything else (the URL resolved, Host updated, Authorization dropped when the origin
    changes) is httpx's."""

    def _redirect_method(self, request: httpx.Request, response: httpx.Response) -> str:
        return redirect_method(request.method, response.status_code)

    def _redirect_headers(
        self, request: httpx.Request, url: httpx.URL, method: str
    ) -> httpx.Headers:
        headers = super()._redirect_headers(request, url, method)
        if method != request.method:
            for name in _BODY_FIELDS:
                headers.pop(name, None)
        return headers


def is_followed(request: httpx.Request) -> bool:
    """Whether a redirect to ``request``'s URL can be followed (only http and https)."""
    return request.url.scheme in FOLLOWED_SCHEMES


async def discard(response: httpx.Response) -> None:
    """Read and drop a redirect's body so its connection can carry the next request; one
    longer than ``MAX_DISCARDED_BYTES`` is cut off, with its connection. Raises httpx's
    exceptions when the body cannot be read. (A body already read, as mock transports
    give, is left as it is.)"""
    try:
        if response.is_stream_consumed:
            return
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > MAX_DISCARDED_BYTES:
                break
    finally:
        await response.aclose()
