"""A minimal SOCKS5 proxy for the tests (RFC 1928: no authentication, CONNECT only) on
127.0.0.1, in a thread with its own event loop. ``connects`` lists the (host, port) of
every CONNECT it relayed."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress

from tests.threaded import ThreadedServer


class SocksProxy(ThreadedServer):
    """Start with ``start()``, stop with ``stop()``; ``url`` is its ``socks5://`` URL."""

    name = "socks-proxy"

    def __init__(self) -> None:
        super().__init__()
        self.port = 0
        self.connects: list[tuple[str, int]] = []

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    async def _listen(self) -> list[asyncio.Server]:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return [server]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _, count = await reader.readexactly(2)  # version 5, number of methods
            await reader.readexactly(count)
            writer.write(b"\x05\x00")  # no authentication
            _, command, _, kind = await reader.readexactly(4)
            if kind == 1:
                host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
            elif kind == 3:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            else:
                host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
            port = int.from_bytes(await reader.readexactly(2), "big")
            if command != 1 or host != "127.0.0.1":  # CONNECT, and never beyond this machine
                writer.write(b"\x05\x02\x00\x01" + bytes(6))
                return
            self.connects.append((host, port))
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reader's side closes, then close the writer."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
