"""Sending a request and following its redirects, one hop at a time, each target checked
before anything is sent to it.

httpx's client follows redirects inside ``send``, and builds the next request even when it
is told not to follow (``next_request``), reading ``URL.host``, which raises for a host
that is not valid IDNA. fetchall follows them itself, one request at a time through
``AsyncClient._send_single_request`` (the transport for the URL, with httpx's response
wrapping; a private method of httpx, which the project pins to one minor version). This
also skips httpx's auth and redirect layers on every request: on the no-redirect path it
costs less than ``send`` (measured: 125 against 134 us of CPU a request).

- A ``Location`` is resolved as httpx resolves it (``_client.py``'s ``_redirect_url``), then
  checked like an input line (``_targets.refusal``): another scheme (ftp, gopher, smtp,
  file, ...), a port outside 1-65535 or a host that is not valid IDNA fails the URL as
  ``invalid_url`` (``RefusedRedirect``) and nothing is sent to it. So does a Location that
  makes no URL (``_target``): no host (``http://``, ``http:ok``), unparsable, or several
  fields with different values (RFC 9110 §10.2.2; identical repeats are one).
- An empty ``Location`` is no redirect: the 3xx is the result, as in curl (``lib/http.c``
  ignores an empty Location: "ignore empty data").
- Past ``max_redirects``, ``RedirectLimit`` carries the last response.
- The next request's method follows the Fetch standard (4.4, HTTP-redirect fetch), as curl
  and browsers do: a 303 turns any method but HEAD into GET, a 301 or 302 turns POST into
  GET, and 307 and 308 keep the method and the body. A request turned into GET loses its
  body and the fields that describe it. (httpx itself turns a 302 after any method into
  GET and keeps Content-Type, hence ``RedirectingClient``.) A password in the URL is sent
  as Basic authorization as httpx does; Authorization is dropped for another origin.
"""

from __future__ import annotations

import httpx

from fetchall._http.errors import RedirectLimit, RefusedRedirect
from fetchall._settings import Settings
from fetchall._targets import masked, refusal

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""Statuses whose Location is followed (RFC 9110 §15.4; httpx's ``has_redirect_location``)."""
MAX_DISCARDED_BYTES = 64 * 1024
"""A redirect's body is read (so its connection can be reused) up to this many bytes; a
longer one is dropped with its connection."""
_SHOWN_TARGET = 200
"""Characters of a refused target shown in its message."""
_BODY_FIELDS = (
    "Content-Type",
    "Content-Encoding",
    "Content-Language",
    "Content-Location",
    "Content-Length",
    "Transfer-Encoding",
)
"""The Fetch standard's request-body-header names, and the framing fields."""


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


def redirect_method(method: str, status: int) -> str:
    """The method of the request that follows a ``status`` redirect answering ``method``."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET"
    return method


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    settings: Settings,
    history: list[httpx.Response],
) -> httpx.Response:
    """Send ``request`` and follow its redirects as ``settings`` say; the final response,
    streamed. Each redirect followed is appended to ``history`` (the caller's list, so that
    a failure at a redirect's target still knows the redirects that led there), which
    becomes the response's ``history`` as in httpx's ``send``. Raises what the transport
    raises, ``RefusedRedirect`` and ``RedirectLimit``."""
    _authorize(request)
    response = await client._send_single_request(request)
    if not settings.follow_redirects:
        return response
    while response.status_code in REDIRECT_STATUSES and _location(response):
        try:
            if len(history) == settings.max_redirects:
                message = f"more than {settings.max_redirects} redirects"
                raise RedirectLimit(message, response=response, redirects=len(history))
            request = _next_request(client, request, response, len(history))
            await discard(response)
        finally:
            await response.aclose()
        history.append(response)
        response = await client._send_single_request(request)
    response.history = history
    return response


def location(response: httpx.Response) -> str | None:
    """Where a redirect response points, resolved against its URL (the field as sent when
    it cannot be resolved); None for a response that is no redirect, or whose Location is
    empty."""
    if response.status_code not in REDIRECT_STATUSES or not _location(response):
        return None
    try:
        return str(_target(response, 0))
    except RefusedRedirect:
        return _location(response)


async def discard(response: httpx.Response) -> None:
    """Read and drop a redirect's body so its connection can carry the next request; one
    longer than ``MAX_DISCARDED_BYTES`` is cut off, with its connection. Raises httpx's
    exceptions when the body cannot be read. (A body already read, as mock transports
    give, is left as it is.)"""
    if response.is_stream_consumed:
        return
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > MAX_DISCARDED_BYTES:
            break


def _location(response: httpx.Response) -> str:
    """The Location field, stripped; '' when absent or empty (then the 3xx is the result)."""
    field: str = response.headers.get("location", "")
    return field.strip()


def _authorize(request: httpx.Request) -> None:
    """A user name or password in the URL becomes Basic authorization, as httpx's ``send``
    makes it (``_build_request_auth``)."""
    url = request.url
    if url.userinfo:
        next(httpx.BasicAuth(url.username, url.password).sync_auth_flow(request))


def _next_request(
    client: httpx.AsyncClient, request: httpx.Request, response: httpx.Response, followed: int
) -> httpx.Request:
    """The request a redirect asks for (``followed`` redirects before it);
    ``RefusedRedirect`` when its target is not a URL fetchall requests."""
    url = _target(response, followed)
    reason = refusal(str(url))
    if reason is not None:
        shown = masked(str(url))[:_SHOWN_TARGET]
        message = f"redirect to {shown} refused: {reason}"
        raise RefusedRedirect(message, response=response, redirects=followed)
    method = client._redirect_method(request, response)
    return httpx.Request(
        method,
        url,
        headers=client._redirect_headers(request, url, method),
        stream=client._redirect_stream(request, method),
        extensions=request.extensions,
    )


def _target(response: httpx.Response, followed: int) -> httpx.URL:
    """The response's Location resolved against its request's URL as httpx resolves it,
    without reading ``URL.host`` of the target (it raises for an invalid IDNA host).
    ``RefusedRedirect`` for a Location that makes no URL (RFC 9110 §10.2.2: one URI
    reference): several fields with different values, another scheme, an absolute URL
    without a host (``http://``, ``http:ok``: curl's "URL malformed"), or one httpx cannot
    parse."""
    base, fields = response.request.url, _locations(response)
    field = fields[0] if fields else ""
    try:
        if len(fields) > 1:
            raise _Unusable("several Location fields")
        url = httpx.URL(field)
        if url.scheme and url.scheme not in _SCHEMES:
            raise _Unusable(f"unsupported scheme {url.scheme!r}: only http and https are fetched")
        if url.scheme and not url.raw_host:
            rest = field.partition(":")[2]
            if not rest.startswith("/") or rest.startswith("//"):
                raise _Unusable("no host")
            url = url.copy_with(host=base.host)  # "http:/path": httpx fills in the host
        if url.is_relative_url:
            url = base.join(url)
        if base.fragment and not url.fragment:  # RFC 9110 §10.2.2
            url = url.copy_with(fragment=base.fragment)
    except (_Unusable, httpx.InvalidURL, ValueError) as exc:  # a bad IDNA host, a port past 64 bits
        shown = masked(", ".join(fields))[:_SHOWN_TARGET]
        message = f"redirect to {shown} refused: {exc}"
        raise RefusedRedirect(message, response=response, redirects=followed) from None
    return url


_SCHEMES = frozenset({"http", "https"})


class _Unusable(Exception):
    """Why a Location makes no URL to request."""


def _locations(response: httpx.Response) -> list[str]:
    """The different values of the response's Location fields, stripped, empty ones left
    out (identical repeats are one)."""
    values: list[str] = []
    for value in response.headers.get_list("location"):
        value = value.strip()
        if value and value not in values:
            values.append(value)
    return values
