"""Opening a connection to a host: its name resolved (an IP literal is its own answer), TCP
to its addresses by Happy Eyeballs (RFC 8305), then TLS; each phase marked on the
request's ``Trace``, and all of it within the connect timeout (curl's ``--connect-timeout``
covers resolving, connecting and the TLS handshake alike).

The race (RFC 8305 §4-5): the addresses are interleaved by family, IPv6 first; a new TCP
attempt starts every ``HAPPY_EYEBALLS_DELAY`` seconds, or at once when the one before it
failed; the first to connect wins and the others are closed. So an address that never
answers (a broken IPv6 route) costs 250 ms, not the connect timeout, and every address is
tried before the host fails, with one ``ConnectError`` naming each and its fate.

Each attempt is the loop's own ``create_connection`` to an IP (nothing to resolve), and TLS
is ``start_tls`` on the winner: under uvloop the cheapest way to time the two apart (proto13
bench_connect.py, CPU per connection: TCP 43 us as before; a Python-level ``sock_connect``,
as ``aiohappyeyeballs`` makes, costs 106 us). Not ``create_connection(host,
happy_eyeballs_delay=)``: it resolves through the loop's small getaddrinfo pool, times TCP
and TLS as one, and uvloop does not take those arguments (MagicStack/uvloop#406).

Times are ``time.perf_counter`` seconds (a deadline is never over early, see ``deadline``).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import itertools
import socket
import ssl
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import TypeVar, cast

from fetchall._http.deadline import Deadline
from fetchall._http.race import Attempted, RaceLost, race
from fetchall._http.resolver import ResolveError, Resolver, no_answer_within
from fetchall._http.timing import Trace
from fetchall._model import Phase
from fetchall._origin import bracketed

HAPPY_EYEBALLS_DELAY = 0.25
"""RFC 8305 §8: "the recommended value for the Connection Attempt Delay is 250 ms"."""

P = TypeVar("P", bound=asyncio.BaseProtocol)
_Won = tuple[asyncio.Transport, asyncio.BaseProtocol]


class ConnectError(Exception):
    """No connection: the message says to where and why (each address tried and its
    fate); ``timed_out`` when the connect timeout ended it (resolving, connecting or the
    TLS handshake)."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


async def open_connection(
    name: str,
    port: int,
    *,
    resolver: Resolver,
    protocol_factory: Callable[[], P],
    ssl_context: ssl.SSLContext | None,
    timeout: float,
    trace: Trace,
    where: str,
    delay: float = HAPPY_EYEBALLS_DELAY,
) -> tuple[P, str]:
    """A connection to ``name`` (a host name as sent, or an IP literal) on ``port``, over
    TLS when ``ssl_context`` is given (SNI and certificate checked for ``name``), with
    ``protocol_factory()``'s protocol (its ``connection_made`` called once, with the
    transport to use); and the address connected to. ``where`` names the target in
    messages (``host:port``).

    Raises ``ResolveError`` (no address, or none within ``timeout``), ``ConnectError`` (no
    TCP connection, a peer that closed it before TLS, or a timeout connecting or in the
    TLS handshake), the ``ssl.SSLError``
    or ``OSError`` of a failed handshake, or ``CancelledError``; nothing else."""
    loop = asyncio.get_running_loop()
    deadline = perf_counter() + timeout
    addresses: Sequence[str] | None = ip_literal(name)
    if addresses is None:
        trace.begin(Phase.RESOLVING)
        try:
            async with Deadline(loop, timeout):
                addresses = await resolver.resolve(name, port)
        except TimeoutError:  # the name's failure, as the resolver keeps it: dns, no retry
            raise ResolveError(name, no_answer_within(timeout)) from None
        if not addresses:
            raise ResolveError(name, "no address for the name", negative=True)
    trace.begin(Phase.CONNECTING)
    race = _Race(loop, port, deadline, delay, where, timeout)
    if ssl_context is None:
        _, protocol, ip = await race.run(interleave(addresses), protocol_factory, name)
        trace.remote_ip = ip
        return cast(P, protocol), ip
    transport, _, ip = await race.run(interleave(addresses), asyncio.Protocol, name)
    trace.remote_ip = ip
    if transport.is_closing():  # the peer closed at once: TLS would write to a closed socket
        message = f"{where} ({ip}) closed the connection before the TLS handshake"
        raise ConnectError(message, timed_out=False)
    trace.begin(Phase.TLS)
    tls_protocol = protocol_factory()
    try:
        async with Deadline(loop, deadline - perf_counter()):
            tls_transport = await loop.start_tls(
                transport, tls_protocol, ssl_context, server_hostname=name
            )
    except TimeoutError:
        transport.abort()
        message = f"TLS with {where} ({ip}) did not finish within {timeout}s"
        raise ConnectError(message, timed_out=True) from None
    except BaseException:
        transport.abort()
        raise
    if tls_transport is None:  # typeshed allows it; neither loop returns it
        transport.abort()
        raise ConnectError(f"TLS with {where} ({ip}) failed", timed_out=False)
    tls_protocol.connection_made(tls_transport)
    return tls_protocol, ip


def ip_literal(host: str) -> tuple[str] | None:
    """``(address,)`` when ``host`` is an IP address (IPv6 without brackets, or an IPv4
    form glibc takes as numeric: ``127.1``, ``0x7f.1``), else None: such a host never goes
    to a resolver, as in getaddrinfo."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return (host,)
    if not host or not host[-1].isdigit():  # a name's last label is never all digits
        return None
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return (socket.inet_ntoa(packed),)


def interleave(addresses: Sequence[str]) -> list[str]:
    """RFC 8305 §4: the families alternate, IPv6 first, each in the resolver's order."""
    v6 = [address for address in addresses if ":" in address]
    v4 = [address for address in addresses if ":" not in address]
    merged = itertools.chain.from_iterable(itertools.zip_longest(v6, v4))
    return [address for address in merged if address is not None]


def _fate(attempt: Attempted) -> str:
    """What became of an address that did not connect, in a few words."""
    code = getattr(attempt.error, "errno", None)
    if not attempt.started:
        return "not tried"
    if attempt.error is None:
        return "did not answer"
    if code == errno.ECONNREFUSED:
        return "refused"
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreachable"
    detail = getattr(attempt.error, "strerror", None) or str(attempt.error)
    return f"failed: {detail or type(attempt.error).__name__}"


def _describe(attempt: Attempted) -> str:
    return f"{bracketed(attempt.address)} {_fate(attempt)}"


_SINGLE_WORDS = {
    "refused": "connection refused by {where}",
    "unreachable": "{where} is unreachable",
    "did not answer": "could not connect to {where}{within}",
}
"""A URL's own IP address failing, in the words of a plain connect."""


class _Race:
    """The staggered TCP race of RFC 8305 §5 to the addresses of one host."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        port: int,
        deadline: float,
        delay: float,
        where: str,
        timeout: float,
    ) -> None:
        self._loop = loop
        self._port = port
        self._deadline = deadline
        self._delay = delay
        self._where = where
        self._timeout = timeout

    async def run(
        self, addresses: list[str], factory: Callable[[], asyncio.BaseProtocol], name: str
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol, str]:
        """The winning connection and its address; ``ConnectError`` when none connects."""
        if len(addresses) > 1:
            return await self._race(addresses, factory, name)
        address = addresses[0]  # nothing to race: no tasks
        try:
            async with Deadline(self._loop, self._deadline - perf_counter()):
                transport, protocol = await self._attempt(address, factory)
        except TimeoutError:
            raise self._error([Attempted(address, None)], name, timed_out=True) from None
        except OSError as exc:
            raise self._error([Attempted(address, exc)], name, timed_out=False) from exc
        return transport, protocol, address

    async def _race(
        self, addresses: list[str], factory: Callable[[], asyncio.BaseProtocol], name: str
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol, str]:
        try:
            (transport, protocol), address = await race(
                addresses,
                lambda address: self._attempt(address, factory),
                _abort,
                delay=self._delay,
                deadline=self._deadline,
            )
        except RaceLost as lost:
            raise self._error(lost.attempts, name, timed_out=lost.timed_out) from None
        return transport, protocol, address

    async def _attempt(self, address: str, factory: Callable[[], asyncio.BaseProtocol]) -> _Won:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        transport, protocol = await self._loop.create_connection(
            factory, address, self._port, family=family
        )
        return transport, protocol

    def _error(self, failures: list[Attempted], name: str, *, timed_out: bool) -> ConnectError:
        """One error for the whole race, naming each address and its fate; a URL's own
        IP address failing alone reads as a plain connect ("connection refused by ...")."""
        where = self._where
        within = f" within {self._timeout}s" if timed_out else ""
        if len(failures) == 1 and failures[0].address == name:
            words = _SINGLE_WORDS.get(_fate(failures[0]))
            if words is not None:
                return ConnectError(words.format(where=where, within=within), timed_out=timed_out)
        parts = "; ".join(_describe(failure) for failure in failures) or "no address"
        return ConnectError(f"could not connect to {where}{within}: {parts}", timed_out=timed_out)


async def _abort(won: _Won) -> None:
    """Close a connection that won after another did."""
    won[0].abort()
