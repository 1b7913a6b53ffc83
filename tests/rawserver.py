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
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Literal

After = Literal["keep", "close", "hold"]


@dataclass(frozen=True)
class Reply:
    """What to send for each request, and what to do with the connection after it."""

    data: bytes
    after: After = "keep"
    hold: float = 2.0  # seconds a held connection stays open at most


class RawServer:
    """``start()``, then ``url(name)``; ``stop()`` at the end."""

    def __init__(self, replies: dict[str, Reply]) -> None:
        self.replies = replies
        self.ports: dict[str, int] = {}
        self.requests: Counter[str] = Counter()
        self.connections: Counter[str] = Counter()
        self.open: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="raw-server", daemon=True)

    def url(self, name: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def start(self) -> RawServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("raw server did not start")
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
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
        self._ready.set()
        await self._stopped.wait()
        for server in servers:
            server.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
