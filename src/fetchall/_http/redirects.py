"""Sending a request and following its redirects, each target checked before anything is
sent to it.

httpx's client follows redirects inside ``send``, and builds the next request even when it
is told not to follow (``next_request``), reading ``URL.host``, which raises for a host
that is not valid IDNA. fetchall follows them itself, one request at a time through
``AsyncClient._send_single_request`` (the transport for the URL, with httpx's response
wrapping; a private method of httpx, which the project pins to one minor version):

- a ``Location`` is resolved as httpx resolves it (``_client.py``'s ``_redirect_url``), then
  checked like an input line (``_targets.refusal``): another scheme (ftp, gopher, smtp,
  file, ...), a port outside 1-65535 or a host that is not valid IDNA fails the URL as
  ``invalid_url`` (``RefusedRedirect``) and nothing is sent to it;
- an empty ``Location`` is no redirect: the 3xx is the result, as in curl (``lib/http.c``
  ignores an empty Location: "ignore empty data");
- past ``max_redirects``, ``RedirectLimit`` carries the last response's status and URL;
- the method, headers and body of the next request are httpx's own (303 and 302 become
  GET, Authorization is dropped for another origin, ...), and a password in the URL is
  sent as Basic authorization as httpx does.

This also skips httpx's auth and redirect layers on every request (the async generator of
an auth flow, the history copies): on the no-redirect path it costs less than ``send``.
"""

from __future__ import annotations

import httpx

from fetchall._http.errors import RedirectLimit, RefusedRedirect
from fetchall._settings import Settings
from fetchall._targets import masked, refusal

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""Statuses whose Location is followed (RFC 9110 §15.4; httpx's ``has_redirect_location``)."""
_SHOWN_TARGET = 200
"""Characters of a refused target shown in its message."""


async def send(
    client: httpx.AsyncClient, request: httpx.Request, settings: Settings
) -> httpx.Response:
    """Send ``request`` and follow its redirects as ``settings`` say; the final response,
    streamed, with the redirects' responses in ``history`` (as httpx's ``send`` gives).
    Raises what the transport raises, ``RefusedRedirect`` and ``RedirectLimit``."""
    _authorize(request)
    response = await client._send_single_request(request)
    if not settings.follow_redirects:
        return response
    history: list[httpx.Response] = []
    while response.status_code in REDIRECT_STATUSES and _location(response):
        try:
            if len(history) == settings.max_redirects:
                message = f"more than {settings.max_redirects} redirects"
                raise RedirectLimit(message, response=response)
            request = _next_request(client, request, response)
            if not response.is_stream_consumed:  # read to its end: the connection is kept
                async for _ in response.aiter_raw():
                    pass
        finally:
            await response.aclose()
        history.append(response)
        response = await client._send_single_request(request)
    response.history = history
    return response


def _location(response: httpx.Response) -> str:
    """The Location field, stripped; '' when absent or empty (then the 3xx is the result)."""
    location: str = response.headers.get("location", "")
    return location.strip()


def _authorize(request: httpx.Request) -> None:
    """A user name or password in the URL becomes Basic authorization, as httpx's ``send``
    makes it (``_build_request_auth``)."""
    url = request.url
    if url.userinfo:
        next(httpx.BasicAuth(url.username, url.password).sync_auth_flow(request))


def _next_request(
    client: httpx.AsyncClient, request: httpx.Request, response: httpx.Response
) -> httpx.Request:
    """The request a redirect asks for; ``RefusedRedirect`` when its target is not a URL
    fetchall requests."""
    url = _target(response)
    reason = refusal(str(url))
    if reason is not None:
        shown = masked(str(url))[:_SHOWN_TARGET]
        raise RefusedRedirect(f"redirect to {shown} refused: {reason}", response=response)
    method = client._redirect_method(request, response)
    return httpx.Request(
        method,
        url,
        headers=client._redirect_headers(request, url, method),
        stream=client._redirect_stream(request, method),
        extensions=request.extensions,
    )


def _target(response: httpx.Response) -> httpx.URL:
    """The response's Location resolved against its request's URL as httpx resolves it,
    without reading ``URL.host`` of the target (it raises for an invalid IDNA host)."""
    base, location = response.request.url, _location(response)
    try:
        url = httpx.URL(location)
    except (httpx.InvalidURL, ValueError) as exc:  # a bad IDNA host, a port past 64 bits
        shown = masked(location)[:_SHOWN_TARGET]
        raise RefusedRedirect(f"redirect to {shown!r} refused: {exc}", response=response) from None
    if url.scheme and not url.raw_host:  # "http:/path": httpx fills in the host
        url = url.copy_with(host=base.host)
    if url.is_relative_url:
        url = base.join(url)
    if base.fragment and not url.fragment:  # RFC 9110 §10.2.2
        url = url.copy_with(fragment=base.fragment)
    return url
