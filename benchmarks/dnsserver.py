"""The benchmark suite's DNS server: answers ``*.bench.test`` after a fixed delay (R1-R4).

    python benchmarks/dnsserver.py --port 53 --delay 0.02 --control /tmp/x/dns.sock

Over UDP only (every answer is small), for one zone and nothing else:

- ``dead-*.bench.test``: never answered (the query is counted and dropped);
- any other name in the zone: A ``127.0.0.1`` (TTL 300), after ``--delay`` seconds; AAAA
  (or any other type): NOERROR with no answer and the zone's SOA (NODATA), after the same
  delay, so every tool connects over IPv4;
- a name outside the zone: REFUSED at once (never forwarded anywhere).

Each delayed answer is a timer of its own, so thousands can wait at once. Counters are
read, and reset, through a Unix socket (``--control``): connect, send ``take``, read one
JSON line. A pathname socket is reachable from outside the network namespace the server
runs in. The server stops on SIGTERM or SIGINT, and by itself after ``--max-seconds``.

Derived from the issue 13 prototype's server (proto13/dnsserver.py), trimmed to what the
benchmarks use; with its fix of a 4 MiB receive buffer (see ``RECEIVE_BUFFER``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from dnslib import QTYPE, RCODE, RR, SOA, A, DNSLabel, DNSRecord

ZONE = "bench.test"
ADDRESS = "127.0.0.1"
TTL = 300
RECEIVE_BUFFER = 4 * 1024 * 1024
"""Bytes the UDP socket may queue. Linux's default (rmem_default, 208 KiB) holds ~270
small datagrams: at -c 256 the prototype saw bursts of 512 queries, the rest dropped and,
with ``attempts:1``, names failing as timeouts (proto13 FINDINGS §7)."""


@dataclass
class Counts:
    """Queries received since the last ``take``."""

    queries: int = 0
    a: int = 0
    aaaa: int = 0
    dead: int = 0
    outside: int = 0
    names: set[str] = field(default_factory=set)

    def as_json(self) -> str:
        """One line: the counters, with ``names`` as the number of distinct names."""
        fields = dataclasses.asdict(self)
        fields["names"] = len(self.names)
        return json.dumps(fields)


class Server(asyncio.DatagramProtocol):
    """Answers queries for ``ZONE`` after ``delay`` seconds and counts them."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.counts = Counts()
        self._transport: asyncio.DatagramTransport | None = None
        self._zone = DNSLabel(ZONE)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is no subclass

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # malformed: dropped (nothing in a benchmark sends one)
            return
        if not request.questions:
            return
        reply = self._answer(request)
        if reply is None:
            return
        delay = 0 if reply.header.rcode == RCODE.REFUSED else self.delay
        asyncio.get_running_loop().call_later(delay, self._send, reply.pack(), addr)

    def take(self) -> Counts:
        """The counters so far; counting starts again from zero."""
        counts, self.counts = self.counts, Counts()
        return counts

    def _send(self, packed: bytes, addr: tuple[str | int, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(packed, addr)

    def _answer(self, request: DNSRecord) -> DNSRecord | None:
        """The reply, or None for a name never answered; counts the query."""
        name = str(request.q.qname).lower().rstrip(".")
        qtype = request.q.qtype
        counts = self.counts
        counts.queries += 1
        counts.a += qtype == QTYPE.A
        counts.aaaa += qtype == QTYPE.AAAA
        reply = request.reply()
        if not name.endswith("." + ZONE):
            counts.outside += 1
            reply.header.rcode = RCODE.REFUSED
            reply.header.aa = 0
            return reply
        counts.names.add(name)
        if name.startswith("dead-"):
            counts.dead += 1
            return None
        if qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(ADDRESS), ttl=TTL))
        else:  # NODATA: NOERROR, no answer, the SOA for its negative TTL (RFC 2308)
            times = (1, 3600, 600, 86400, 60)
            soa = SOA(f"ns.{ZONE}", f"hostmaster.{ZONE}", times)
            reply.add_auth(RR(self._zone, QTYPE.SOA, rdata=soa, ttl=60))
        return reply


def udp_socket(host: str, port: int) -> socket.socket:
    """A bound UDP socket with a ``RECEIVE_BUFFER`` (past rmem_max when root)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
            break
        except OSError:
            continue
    sock.bind((host, port))
    return sock


async def serve(args: argparse.Namespace) -> None:
    """Answer until SIGTERM/SIGINT or ``args.max_seconds``; counters on ``args.control``."""
    loop = asyncio.get_running_loop()
    sock = udp_socket(args.host, args.port)
    transport, server = await loop.create_datagram_endpoint(lambda: Server(args.delay), sock=sock)

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError):
            if (await asyncio.wait_for(reader.readline(), 5.0)).strip() == b"take":
                writer.write(server.take().as_json().encode() + b"\n")
                await writer.drain()
        writer.close()

    controller = await asyncio.start_unix_server(control, args.control)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    controller.close()
    transport.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options and serve (on uvloop when installed: less CPU per query)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds before each answer")
    parser.add_argument("--control", required=True, help="path of the Unix socket for counts")
    parser.add_argument("--max-seconds", type=float, default=6 * 3600)
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("--host must be a loopback address")
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
