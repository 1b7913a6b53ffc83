"""A real HTTP/1.1 server for the tests, on 127.0.0.1 with a port chosen at run time.

It runs its own event loop in a thread and answers by path:

    /bytes/N          200 with an N-byte body (?delay=SECONDS before the headers)
    /gzip/N           200 with N bytes of body, sent gzip-encoded
    /status/CODE      that status with a short body
    /redirect/N       a 302 chain N long, ending in 200
    /loop             a redirect to itself, forever
    /stall            never answers (until the client goes away)
    /close            closes the connection without answering
    /garbage          answers with bytes that are not HTTP
    /short            promises 1000 bytes in Content-Length and sends 10
    /reset            sends headers and part of the body, then resets the connection
    /drip             sends headers, then one body byte every 0.1 s, forever
    /steady/N?rate=R  N body bytes at R bytes a second (a slice every 0.1 s)
    /endless          sends a chunked body as fast as it can, forever
    /chunked/N        N bytes in a chunked body (no Content-Length)
    /flaky?key=K&times=T&status=S[&retry_after=R]
                      answers S (with Retry-After: R) the first T times for key K, then 200
    /chunks/N         N chunks of growing size in a chunked body, with a trailer field
    /badchunk         a chunked body whose chunk size is not hexadecimal
    /eof/N            N bytes with neither Content-Length nor chunking: the close ends them
    /continue         a 100 Continue, then 200 with a short body
    /linger           200, then the server closes the idle connection after 0.1 s
    /bighead          a response head larger than 100 KiB
    /cookie[?then=P]  200 with a Set-Cookie header (or a 302 to P that sets it)
    /echo             200 with a JSON body: the request's method and headers
                      (``last_request[path]`` keeps the method and headers for every path)
    /goto/CODE?to=P   that status (a redirect) with Location: P (default /echo)

A request body (by its Content-Length) is read, and ``exchanges`` keeps every request's
method, path, headers and body, in order of arrival.
    /to?location=L[&status=S]
                      S (302 by default) with ``Location: L`` (L may be empty)
    /encoded/NAME     a body of ``ENCODED_TEXT`` sent with a Content-Encoding, as NAME says:
                      gzip, x-gzip, gzip2 (two gzip members back to back), deflate (zlib),
                      deflate-raw, br, zstd, gzip-cut / br-cut / zstd-cut (the stream cut in
                      half, framed whole), compress (a coding fetchall cannot decode)

A route's first ``/`` may also be written ``_`` or ``%2F`` (``/bytes_7`` is ``/bytes/7``),
and anything after a route's number is ignored (``/bytes/7/more`` is ``/bytes/7``).

A test may set ``delays[path]`` (the path as sent) to answer that path late.

It counts requests by path, the peak number in flight at once, and when each arrived.
With an ``ssl.SSLContext`` it serves HTTPS.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit

import brotli
import zstandard

from tests.threaded import ThreadedServer

REASONS = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}
ENCODED_TEXT = b"fetchall decodes what it advertises. " * 200
"""The decoded body of every ``/encoded/NAME`` route (7,400 bytes)."""


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


_HALF = len(ENCODED_TEXT) // 2
ENCODED = {
    "gzip": ("gzip", gzip.compress(ENCODED_TEXT)),
    "x-gzip": ("x-gzip", gzip.compress(ENCODED_TEXT)),
    "gzip2": (
        "gzip",
        gzip.compress(ENCODED_TEXT[:_HALF]) + gzip.compress(ENCODED_TEXT[_HALF:]),
    ),
    "deflate": ("deflate", zlib.compress(ENCODED_TEXT)),
    "deflate-raw": ("deflate", _deflate_raw(ENCODED_TEXT)),
    "br": ("br", brotli.compress(ENCODED_TEXT)),
    "zstd": ("zstd", zstandard.ZstdCompressor().compress(ENCODED_TEXT)),
    "compress": ("compress", b"\x1f\x9d not really LZW"),
}
"""Content-Encoding and body of each ``/encoded/NAME``; ``NAME-cut`` sends half the body."""


class TestServer(ThreadedServer):
    """Start with ``start()``, stop with ``stop()``; ``url(path)`` names a route."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.port = 0
        self.scheme = "https" if ssl_context else "http"
        self.requests: Counter[str] = Counter()
        self.arrivals: list[tuple[str, float]] = []
        self.last_request: dict[str, tuple[str, dict[str, str]]] = {}
        self.exchanges: list[tuple[str, str, dict[str, str], bytes]] = []
        self.delays: dict[str, float] = {}
        """Seconds to wait before answering a path (as sent), set by a test."""
        self._flaky: Counter[str] = Counter()
        self._ssl = ssl_context
        self.in_flight = 0
        self.connections = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.arrivals.clear()
            self.connections = 0
            self.last_request.clear()
            self.exchanges.clear()
            self.peak_in_flight = self.in_flight

    async def _listen(self) -> list[asyncio.Server]:
        server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, backlog=1024, ssl=self._ssl
        )
        self.port = server.sockets[0].getsockname()[1]
        return [server]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                keep_open = await self._answer(head.decode("latin-1"), reader, writer)
                if not keep_open:
                    break
        except (asyncio.IncompleteReadError, OSError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(
        self, head: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        request_line, *header_lines = head.rstrip("\r\n").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        lengths = [value for name, value in headers.items() if name.lower() == "content-length"]
        body = await reader.readexactly(int(lengths[0])) if lengths else b""
        if method == "HEAD":
            writer = _HeadWriter(writer)
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path
        with self._lock:
            self.requests[path] += 1
            self.arrivals.append((target, time.monotonic()))
            self.last_request[path] = (method, headers)
            self.exchanges.append((method, path, headers, body))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if "delay" in query:
                await asyncio.sleep(float(query["delay"][0]))
            if path in self.delays:
                await asyncio.sleep(self.delays[path])
            return await self._route(path, query, (method, headers), reader, writer)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _route(
        self,
        path: str,
        query: dict[str, list[str]],
        request: tuple[str, dict[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        # a route's first "/" may also be written "_" or "%2F"; text after the number is ignored
        name, _, rest = unquote(path).strip("/").replace("_", "/", 1).partition("/")
        arg = rest.partition("/")[0]
        if name == "bytes":
            _respond(writer, 200, b"x" * int(arg))
        elif name == "gzip":
            body = gzip.compress(b"y" * int(arg))
            _respond(writer, 200, body, {"Content-Encoding": "gzip"})
        elif name == "status":
            code = int(arg)
            _respond(writer, code, f"status {code}\n".encode())
        elif name == "redirect":
            hops = int(arg)
            if hops <= 0:
                _respond(writer, 200, b"arrived\n")
            else:
                _respond(writer, 302, b"", {"Location": f"/redirect/{hops - 1}"})
        elif name == "goto":
            target = query.get("to", ["/echo"])[0]
            _respond(writer, int(arg), b"moved\n", {"Location": target})
        elif name == "loop":
            _respond(writer, 302, b"", {"Location": "/loop"})
        elif name == "stall":
            await reader.read()  # returns when the client closes the connection
            return False
        elif name == "close":
            return False
        elif name == "garbage":
            writer.write(b"HELLO THERE\r\n\r\n")
            await writer.drain()
            return False
        elif name == "short":
            writer.write(_head(200, {"Content-Length": "1000"}) + b"x" * 10)
            await writer.drain()
            return False
        elif name == "reset":
            writer.write(_head(200, {"Content-Length": "100000"}) + b"x" * 1000)
            await writer.drain()
            await asyncio.sleep(0.05)
            _reset(writer)
            return False
        elif name == "drip":
            writer.write(_head(200, {"Content-Length": "1000000"}))
            while True:
                writer.write(b".")
                await writer.drain()
                await asyncio.sleep(0.1)
        elif name == "steady":
            size, rate = int(arg), float(query["rate"][0])
            writer.write(_head(200, {"Content-Length": str(size)}))
            slice_ = max(1, int(rate / 10))
            for start in range(0, size, slice_):
                writer.write(b"s" * min(slice_, size - start))
                await writer.drain()
                await asyncio.sleep(0.1)
        elif name == "endless":
            writer.write(_head(200, {"Transfer-Encoding": "chunked"}))
            chunk = b"4000\r\n" + b"e" * 0x4000 + b"\r\n"
            while True:
                writer.write(chunk)
                await writer.drain()
        elif name == "chunked":
            body = b"c" * int(arg)
            writer.write(_head(200, {"Transfer-Encoding": "chunked"}))
            writer.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        elif name == "flaky":
            key = query["key"][0]
            with self._lock:
                self._flaky[key] += 1
                failing = self._flaky[key] <= int(query["times"][0])
            if failing:
                status = int(query["status"][0])
                extra = {"Retry-After": query["retry_after"][0]} if "retry_after" in query else {}
                _respond(writer, status, b"not now\n", extra)
            else:
                _respond(writer, 200, b"finally\n")
        elif name == "chunks":
            writer.write(_head(200, {"Transfer-Encoding": "chunked"}))
            for size in range(1, int(arg) + 1):
                writer.write(f"{size:x};ext=1\r\n".encode() + b"k" * size + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        elif name == "badchunk":
            writer.write(_head(200, {"Transfer-Encoding": "chunked"}) + b"zz\r\nabc\r\n")
            await writer.drain()
            return False
        elif name == "eof":
            writer.write(_head(200, {"Content-Type": "text/plain"}) + b"e" * int(arg))
            await writer.drain()
            return False
        elif name == "continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            _respond(writer, 200, b"continued\n")
        elif name == "linger":
            _respond(writer, 200, b"linger\n")
            await writer.drain()
            await asyncio.sleep(0.1)
            return False
        elif name == "bighead":
            writer.write(_head(200, {f"X-Big-{i}": "b" * 1000 for i in range(120)}))
            await writer.drain()
            return False
        elif name == "cookie":
            cookie = {"Set-Cookie": "session=abc; Path=/"}
            if "then" in query:  # a redirect that sets a cookie on the way
                _respond(writer, 302, b"", {**cookie, "Location": query["then"][0]})
            else:
                _respond(writer, 200, b"have one\n", cookie)
        elif name == "to":
            status = int(query.get("status", ["302"])[0])
            _respond(writer, status, b"", {"Location": query["location"][0]})
        elif name == "encoded":
            coding, body = ENCODED[arg.removesuffix("-cut")]
            body = body[: len(body) // 2] if arg.endswith("-cut") else body
            _respond(writer, 200, body, {"Content-Encoding": coding})
        elif name == "echo":
            method, headers = request
            body = json.dumps({"method": method, "headers": headers}).encode()
            _respond(writer, 200, body, {"Content-Type": "application/json"})
        else:
            _respond(writer, 404, b"no such route\n")
        await writer.drain()
        return True


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    fields = {"Content-Type": "text/plain", "Content-Length": str(len(body)), **(headers or {})}
    writer.write(_head(status, fields) + body)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _HeadWriter:
    """Answers a HEAD request: the status line and headers pass, the body does not."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._head_done = False

    def write(self, data: bytes) -> None:
        if self._head_done:
            return
        head, sep, _ = data.partition(b"\r\n\r\n")
        self._writer.write(head + sep)
        self._head_done = bool(sep)

    def __getattr__(self, name: str):
        return getattr(self._writer, name)
