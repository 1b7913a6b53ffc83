"""Test servers on their own event loop in a thread of their own, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from typing import Self


class ThreadedServer:
    """``start()`` returns once the server listens, ``stop()`` ends it and every task it
    runs. A subclass's ``_listen()`` starts its asyncio servers and returns them."""

    name = "test-server"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name} did not start")
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    async def _listen(self) -> list[asyncio.Server]:
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        servers = await self._listen()
        self._ready.set()
        await self._stopped.wait()
        for server in servers:
            server.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
