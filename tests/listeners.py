"""Listeners for connection tests: one whose accept queue is full, so connections to it
wait unanswered (as to a host behind a broken route), a TLS one with a CA of its own,
and a check for IPv6 on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trustme

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class NeverAccepts:
    """A listener on ``host:port`` whose accept queue is full and which never accepts:
    Linux drops the SYNs of a new connection to it, which waits for its timeout."""

    def __init__(self, host: str, port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, port))
        self.listener.listen(0)
        self.port: int = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):  # listen(0) queues one; the rest make sure it stays full
            filler = socket.socket(family, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, self.port))
            self.fillers.append(filler)
        time.sleep(0.05)
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.3)
            with contextlib.suppress(TimeoutError):
                probe.connect((host, self.port))
                raise RuntimeError("the listen queue did not fill: connections are accepted")

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 on loopback (::1)")
"""For tests that connect to [::1]."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` (connections to it are refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def tls_listener(name: str, handler: Handler) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    """``handler`` serving each connection over TLS on 127.0.0.1, its certificate for
    ``name`` from a CA made now: the port, and a client context trusting that CA."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context)
    try:
        yield server.sockets[0].getsockname()[1], client_context
    finally:
        server.close()
