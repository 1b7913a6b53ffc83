"""Where a request's time goes: its phases as they begin, told to the attempt's progress
(the live display's "resolving", "connecting", ...) and timed for its record.

One ``Trace`` goes with each attempt, in its request's extensions (``TRACE``; a
redirect's request carries the same extensions). fetchall's transport marks each phase
itself (``begin``); httpx's own transports report theirs through httpcore's ``trace``
extension, which is the same object (``__call__``: ``connection.connect_tcp``,
``start_tls``, ``http11.send_request_headers``, ``receive_response_headers``, and their
``http2`` and proxy forms). Either way a transport calls ``start()`` as each request
begins, so a record carries the phases of the request that gave its response.

Phases follow one another: resolving, connecting, tls, waiting, receiving. A phase lasts
from its mark to the next phase's mark (``time_connect`` ends where TLS begins, or where
the request is sent); a phase without a mark did not happen, and its time is None: a
reused connection has neither lookup, nor connect, nor TLS; plain http has no TLS. httpcore
resolves names inside its TCP connect: its ``connect_tcp.started`` for a host name begins
resolving, and ``backend``'s resolving backend begins connecting once the name is
resolved, through ``CURRENT`` (the trace of the request this task sends); with another
backend (an API caller's transport) nobody says so, and ``time_dns`` is None while
``time_connect`` includes the lookup. Times are ``time.perf_counter`` seconds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from contextvars import ContextVar
from time import perf_counter
from typing import NamedTuple, Protocol

from fetchall._model import Phase

TRACE = "fetchall.trace"
"""The request extension holding the attempt's ``Trace``."""

_HTTPCORE_PHASES = {
    "connect_tcp.started": Phase.CONNECTING,
    "start_tls.started": Phase.TLS,
    "send_request_headers.started": Phase.WAITING,
    "receive_response_headers.complete": Phase.RECEIVING,
}
"""httpcore's trace events (without their ``connection.``/``http11.``/``http2.``/
``http_proxy.``/``socks_proxy.`` prefix) that begin a phase."""


class PhaseProgress(Protocol):
    """Told when a request enters a phase (only update counters)."""

    def on_phase(self, phase: Phase) -> None:
        """The request is now in ``phase``."""


class Timings(NamedTuple):
    """The phases of one request, in seconds; None for one that did not happen."""

    time_dns: float | None
    time_connect: float | None
    time_tls: float | None
    time_ttfb: float | None


class Trace:
    """The phases of the current request of one attempt, the address it went to, and the
    bytes of response heads the attempt received."""

    __slots__ = ("_marks", "_tell", "head_bytes", "remote_ip", "tunnel")

    def __init__(self, progress: PhaseProgress) -> None:
        self._tell = progress.on_phase
        self._marks: dict[Phase, float] = {}
        self.remote_ip: str | None = None
        """The address connected to (IPv6 without brackets), once known."""
        self.head_bytes = 0
        """Bytes received while response heads were awaited, over all the attempt's
        requests (never reset: the minimum speed counts them, ``deadline.SpeedGuard``)."""
        self.tunnel: str | None = None
        """The proxy (``host:port``) whose answer to a CONNECT the request awaits, if any."""

    def start(self) -> None:
        """A new request begins: forget the phases of the one before (a redirect's)."""
        self._marks.clear()
        self.remote_ip = None
        self.tunnel = None

    def begin(self, phase: Phase) -> None:
        """The request enters ``phase`` now."""
        self._marks[phase] = perf_counter()
        self._tell(phase)

    async def __call__(self, name: str, info: Mapping[str, object]) -> None:
        """httpcore's ``trace`` extension: mark the phase an event begins, if any."""
        phase = _HTTPCORE_PHASES.get(name.partition(".")[2])
        if phase is Phase.CONNECTING and _is_name(info.get("host")):
            phase = Phase.RESOLVING  # httpcore resolves it inside the connect
        if phase is not None:
            self.begin(phase)

    def timings(self) -> Timings:
        """How long each phase of the current request took so far."""
        marks = self._marks
        resolving = marks.get(Phase.RESOLVING)
        connecting = marks.get(Phase.CONNECTING)
        tls = marks.get(Phase.TLS)
        waiting = marks.get(Phase.WAITING)
        receiving = marks.get(Phase.RECEIVING)
        connected = waiting if tls is None else tls
        if connecting is None:  # resolved inside a connect nobody marked: both in one
            connecting, resolving = resolving, None
        return Timings(
            None if resolving is None or connecting is None else connecting - resolving,
            None if connecting is None or connected is None else connected - connecting,
            None if tls is None or waiting is None else waiting - tls,
            None if waiting is None or receiving is None else receiving - waiting,
        )


def _is_name(host: object) -> bool:
    """Whether httpcore's ``host`` is a name to resolve (not an IP literal)."""
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return False


class _Unobserved:
    def on_phase(self, phase: Phase) -> None:
        """Nobody is told."""


UNTRACED = Trace(_Unobserved())
"""The trace of a request that came without one (fetchall's transport used on its own):
marked, never read."""

CURRENT: ContextVar[Trace] = ContextVar("fetchall_trace", default=UNTRACED)
"""The trace of the request this task sends through httpx's transport (set by
``typed_transport``: httpcore connects in the task that sends the request)."""
