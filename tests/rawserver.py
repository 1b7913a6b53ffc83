"""A raw-socket HTTP server for byte-exact responses, on 127.0.0.1.

Each named ``Reply`` gets a port of its own (so the rows of a run never share a
connection) and answers every request on it, whatever the path, with its exact bytes;
then it keeps the connection for the next request, closes it, or holds it open without
reading (as a broken server would) until the client closes or ``hold`` seconds pass. It
counts, per reply, the requests, the connections accepted and the connections open now.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from tests.threaded import ThreadedServer

After = Literal["keep", "close", "hold"]


@dataclass(frozen=True)
class Reply:
    """What to send for each request, and what to do with the connection after it."""

    data: bytes
    after: After = "keep"
    hold: float = 2.0  # seconds a held connection stays open at most


class RawServer(ThreadedServer):
    """``start()``, then ``url(name)``; ``stop()`` at the end."""

    name = "raw-server"

    def __init__(self, replies: dict[str, Reply]) -> None:
        super().__init__()
        self.replies = replies
        self.ports: dict[str, int] = {}
        self.requests: Counter[str] = Counter()
        self.connections: Counter[str] = Counter()
        self.open: Counter[str] = Counter()

    def url(self, name: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    async def _listen(self) -> list[asyncio.Server]:
        servers = []
        for name, reply in self.replies.items():
            server = await asyncio.start_server(
                lambda r, w, name=name, reply=reply: self._serve(name, reply, r, w),
                "127.0.0.1",
                0,
                backlog=512,
            )
            self.ports[name] = server.sockets[0].getsockname()[1]
            servers.append(server)
        return servers

    async def _serve(
        self, name: str, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections[name] += 1
        self.open[name] += 1
        try:
            while await self._answer(name, reply, reader, writer):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.open[name] -= 1
            with contextlib.suppress(OSError):
                writer.close()

    async def _answer(
        self, name: str, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; whether to read another on this connection."""
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            field, _, value = line.partition(b":")
            if field.lower() == b"content-length" and value.strip().isdigit():
                await reader.readexactly(int(value))
        self.requests[name] += 1
        writer.write(reply.data)
        await writer.drain()
        if reply.after == "hold":  # until the client closes (anything it sends is ignored)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(), reply.hold)
        return reply.after == "keep"
