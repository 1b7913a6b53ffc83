"""HTTP: the only package that speaks HTTP and imports httpx and httptools.

Owns the client a run shares (``client``: settings to httpx's ``AsyncClient``, one TLS
context), one attempt at a URL (``attempt``: request, streamed body, the deadline), the
mapping from exceptions to error kinds (``errors``, the only place that decides a kind),
fetchall's HTTP/1.1 transport (``transport``, its responses read by ``parser`` with llhttp)
with its name resolution (``resolver``: the system's, on threads, cached), connections
(``connect``: Happy Eyeballs, TLS) and the phases it times (``timing``), the typed-error
wrapper for httpx's own (``typed_transport``), URLs (``urls``) and the Retry-After field
(``retry_after``).

Imports ``fetchall._settings`` and the shared values (``_model``, ``_origin``, ``_version``)
only; nothing of the engine, the input, the bodies or the command line.
"""

from fetchall._http.attempt import AttemptProgress, BodySink
from fetchall._http.client import HttpClient, Transport
from fetchall._http.resolver import ResolveError, Resolver

__all__ = ["AttemptProgress", "BodySink", "HttpClient", "ResolveError", "Resolver", "Transport"]
