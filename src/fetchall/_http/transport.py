"""A lean HTTP/1.1 transport for httpx on asyncio protocols.

httpx's default transport (httpcore, h11 and anyio) spends most of a small request's time
on pool bookkeeping that grows with the number of connections, on per-lock overhead and on
h11's general-purpose state machine. This transport does one thing: HTTP/1.1 over TCP or
TLS, with a keep-alive pool of idle connections per origin and at most ``max_connections``
sockets open, idle ones included (the open-files budget counts on it). httpx's client stays
on top, so redirects, content decoding, headers and the exceptions it raises are httpx's
own; proxies (mounted by httpx from ``--proxy`` or the environment) and HTTP/2 use httpx's
transports.

New connections are opened by ``connect`` (the name through the run's ``Resolver``, Happy
Eyeballs, TLS), each phase marked on the request's ``Trace`` (``timing``).

Responses are parsed by llhttp (``parser``). Errors are raised as the httpx exceptions that
httpcore would raise, each chained to its cause (``ResolveError``, ``connect.ConnectError``,
``OSError``, ``ssl.SSLError``), or as the typed ``NoResponse``, ``IncompleteBody`` and
``MalformedResponse``, for ``errors.classify``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from collections.abc import Callable
from weakref import WeakKeyDictionary

import httpx

from fetchall._http.connect import ConnectError, open_connection
from fetchall._http.connection import Connection, OpenSockets, TlsConnection
from fetchall._http.errors import NoResponse
from fetchall._http.framing import ResponseBody, encode_request, read_request_body
from fetchall._http.parser import ResponseParser
from fetchall._http.resolver import CachingResolver, ResolveError, Resolver
from fetchall._http.system_resolver import system_resolver
from fetchall._http.timing import TRACE, UNTRACED, Trace
from fetchall._model import Phase
from fetchall._origin import Origin

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_NO_RESPONSE = "the server closed the connection without sending a response"


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive, on asyncio protocols (see the module docstring)."""

    def __init__(
        self,
        *,
        ssl_context: Callable[[], ssl.SSLContext],
        max_idle: int,
        max_connections: int,
        connect_timeout: float,
        resolver: Resolver | None = None,
    ) -> None:
        """``max_idle`` connections are kept for reuse; ``connect_timeout`` seconds bound
        resolving, connecting and TLS together; names are resolved by ``resolver``, or by
        the system's resolver with up to ``max_idle`` lookups at once (closed with the
        transport)."""
        self._make_ssl_context = ssl_context
        self._ssl_context: ssl.SSLContext | None = None
        self._max_idle = max_idle
        self._max_connections = max_connections
        self._sockets = OpenSockets()
        self._connecting = 0
        self._connect_timeout = connect_timeout
        self._own_resolver: CachingResolver | None = None
        if resolver is None:
            resolver = self._own_resolver = system_resolver(max_idle, connect_timeout)
        self._resolver = resolver
        self._idle: OrderedDict[Connection, Origin] = OrderedDict()  # oldest first
        self._idle_by_origin: dict[Origin, list[Connection]] = {}
        self._remote_ips: WeakKeyDictionary[Connection, str] = WeakKeyDictionary()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = Origin.from_parts(url.scheme, url.host, url.port)
        data, upgrade = encode_request(request, await read_request_body(request))
        method = request.method
        trace: Trace = request.extensions.get(TRACE, UNTRACED)
        trace.start()
        connection = self._take_idle(origin)
        if connection is not None:
            trace.remote_ip = self._remote_ips.get(connection)
            try:
                return await self._exchange(connection, origin, data, method, upgrade, trace)
            except (NoResponse, httpx.ReadError):
                connection.close()  # the server had closed this idle connection
                if method not in _IDEMPOTENT:
                    raise NoResponse(_NO_RESPONSE) from None
            except BaseException:
                connection.close()
                raise
        connection = await self._connect(origin, url.raw_host.decode("ascii"), trace)
        try:
            return await self._exchange(connection, origin, data, method, upgrade, trace)
        except BaseException:
            connection.close()  # whatever went wrong, nothing else will use it
            raise

    async def _exchange(
        self,
        connection: Connection,
        origin: Origin,
        data: bytes,
        method: str,
        upgrade: bool,
        trace: Trace,
    ) -> httpx.Response:
        """Send a request and receive its final response's head; the body streams."""
        trace.begin(Phase.WAITING)
        connection.send(data, ResponseParser(method, upgrade=upgrade), trace)
        head = await connection.receive_head()
        trace.begin(Phase.RECEIVING)
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=ResponseBody(self.release, connection, origin),
            extensions={"reason_phrase": head.reason, "http_version": head.http_version},
        )

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        self._idle_by_origin.clear()
        if self._own_resolver is not None:
            await self._own_resolver.aclose()

    def release(self, connection: Connection, origin: Origin) -> None:
        """Keep a connection whose response is complete, for the next request to its origin;
        beyond ``max_idle`` kept connections, the one idle longest is closed."""
        if not connection.reusable:
            connection.close()
            return
        connection.keep()
        self._idle[connection] = origin
        self._idle_by_origin.setdefault(origin, []).append(connection)
        while len(self._idle) > self._max_idle:
            oldest, oldest_origin = self._idle.popitem(last=False)
            self._forget(oldest, oldest_origin)
            oldest.close()

    def _take_idle(self, origin: Origin) -> Connection | None:
        """The most recently used idle connection to ``origin`` that is still open."""
        connections = self._idle_by_origin.get(origin)
        while connections:
            connection = connections.pop()
            del self._idle[connection]
            if not connections:
                del self._idle_by_origin[origin]
            if connection.reusable:
                return connection
            connection.close()
        return None

    def _forget(self, connection: Connection, origin: Origin) -> None:
        connections = self._idle_by_origin[origin]
        connections.remove(connection)
        if not connections:
            del self._idle_by_origin[origin]

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made at the first https connection (loading CAs takes time)."""
        if self._ssl_context is None:
            self._ssl_context = self._make_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    async def _make_room(self) -> None:
        """Close the connections idle longest while one more would open more than
        ``max_connections`` sockets, and wait until their sockets are closed. (With many
        origins, idle connections to the last ones would otherwise add up to as many
        again as those in use.)"""
        while self._idle and self._sockets.count + self._connecting >= self._max_connections:
            oldest, oldest_origin = self._idle.popitem(last=False)
            self._forget(oldest, oldest_origin)
            oldest.close()
            await oldest.wait_lost()

    async def _connect(self, origin: Origin, name: str, trace: Trace) -> Connection:
        """A new connection to ``origin``, whose host is ``name`` as sent (an A-label)."""
        loop = asyncio.get_running_loop()
        tls = origin.scheme == "https"
        kind = TlsConnection if tls else Connection
        await self._make_room()
        self._connecting += 1
        try:
            connection, remote_ip = await open_connection(
                name,
                origin.port,
                resolver=self._resolver,
                protocol_factory=lambda: kind(loop, self._sockets),
                ssl_context=self._tls() if tls else None,
                timeout=self._connect_timeout,
                trace=trace,
                where=origin.authority,
            )
        except ConnectError as exc:
            if exc.timed_out:
                raise httpx.ConnectTimeout(str(exc)) from exc
            raise httpx.ConnectError(str(exc)) from exc
        except (ResolveError, OSError) as exc:  # no address; TLS (SSLError), reset
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        finally:
            self._connecting -= 1
        self._remote_ips[connection] = remote_ip
        return connection
