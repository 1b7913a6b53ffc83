"""A small authoritative DNS server for tests (UDP, asyncio, dnslib).

It answers for one zone (``bench.test``) and nothing else, so a name that leaks out of a
test can never reach a real resolver through it:

=====================  ===========================================================
name (under the zone)  answer
=====================  ===========================================================
``dead-*``             never answered (the query is counted and dropped)
``nx-*``               NXDOMAIN, with the zone's SOA
names in ``records``   exactly those addresses (A for IPv4, AAAA for IPv6)
any other name         A ``127.0.0.1``; AAAA: no answer (NOERROR, the SOA)
=====================  ===========================================================

A name outside the zone is REFUSED. Every answer is sent ``delay`` seconds after the query
arrived (a timer, so thousands can wait at once). Queries are counted per (name, type) in
``queries``, and ``max_pending`` is the most answers ever waiting for their delay at once:
how many queries a client had in flight together.

glibc cannot ask a server on another port than 53 (resolv.conf has none), so tests that go
through the system's resolver start it on port 53 inside a network namespace of their own
(``tests/namespace.py``); the others inject a resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from types import TracebackType

from dnslib import AAAA, QTYPE, RCODE, RR, SOA, A, DNSLabel, DNSRecord

ZONE = "bench.test"
RECEIVE_BUFFER = 4 * 1024 * 1024
"""Bytes the UDP socket may queue: Linux's default (208 KiB) holds ~270 small datagrams,
so a burst of lookups from -c 256 (A and AAAA each) would be dropped (proto13 FINDINGS §7)."""


class DNSServer(asyncio.DatagramProtocol):
    """``async with DNSServer(port=53, delay=0.05) as server``; ``server.port`` once started."""

    def __init__(
        self,
        *,
        port: int = 0,
        delay: float = 0.0,
        records: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.port = port
        self.delay = delay
        self.records = dict(records or {})
        self.queries: Counter[tuple[str, str]] = Counter()
        self.max_pending = 0
        self._pending: set[asyncio.TimerHandle] = set()
        self._transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> DNSServer:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", self.port)
        )
        self.port = transport.get_extra_info("sockname")[1]
        sock = transport.get_extra_info("socket")
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            try:
                if option is not None:
                    sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                    break
            except OSError:
                continue
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for handle in self._pending:
            handle.cancel()
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # malformed: dropped
            return
        if not request.questions:
            return
        name = str(request.q.qname).lower().rstrip(".")
        self.queries[(name, QTYPE.get(request.q.qtype, str(request.q.qtype)))] += 1
        if name.endswith("." + ZONE) and name.startswith("dead-"):
            return
        reply = self._answer(request, name).pack()
        handle: asyncio.TimerHandle

        def send() -> None:
            self._pending.discard(handle)
            if self._transport is not None and not self._transport.is_closing():
                self._transport.sendto(reply, addr)

        handle = asyncio.get_running_loop().call_later(self.delay, send)
        self._pending.add(handle)
        self.max_pending = max(self.max_pending, len(self._pending))

    def _answer(self, request: DNSRecord, name: str) -> DNSRecord:
        reply = request.reply()
        if not (name == ZONE or name.endswith("." + ZONE)):
            reply.header.rcode = RCODE.REFUSED
            return reply
        if name.startswith("nx-"):
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(_soa())
            return reply
        qtype = request.q.qtype
        for text in self.records.get(name, ["127.0.0.1"]):
            version = ipaddress.ip_address(text).version
            if qtype == QTYPE.A and version == 4:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(text), ttl=300))
            elif qtype == QTYPE.AAAA and version == 6:
                reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(text), ttl=300))
        if not reply.rr:  # NODATA: NOERROR, no answer, the SOA
            reply.add_auth(_soa())
        return reply


def _soa() -> RR:
    return RR(
        DNSLabel(ZONE),
        QTYPE.SOA,
        rdata=SOA(f"ns.{ZONE}", f"hostmaster.{ZONE}", (1, 3600, 600, 86400, 60)),
        ttl=60,
    )
