"""httpx's own transport through ``typed_transport``: the proxy's failures to answer a
CONNECT name the proxy, and the httpcore internals it reaches are where it expects them
(this fails loudly when an httpcore release moves them)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from fetchall._http.backend import ResolvingBackend, resolve_with
from fetchall._http.httpcore_reach import _HeadBoundBackend, h11_state
from fetchall._http.typed_transport import TypedErrorsTransport
from tests.conftest import jsonl, run_fetchall
from tests.rawserver import RawServer, Reply
from tests.test_names import Names

ANSWERS = {
    "407": b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nauth",
    "502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad",
    "garbage": b"\x00\xffgarbage\r\n\r\n" * 10,
    "close": b"",
    "huge": b"HTTP/1.1 407 Proxy\r\n" + b"X-A: " + b"a" * 200_000 + b"\r\n",
}


@pytest.fixture
def bad_proxy(request: pytest.FixtureRequest) -> Iterator[str]:
    """A proxy that answers every CONNECT with ``ANSWERS[param]``, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = ANSWERS[request.param]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        break
                    head += data
                with contextlib.suppress(OSError):
                    conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.mark.parametrize(
    ("bad_proxy", "kind", "status", "attempts", "error"),
    [
        ("407", "http_status", 407, 1, "refused the tunnel: 407 Proxy Authentication Required"),
        ("502", "http_status", 502, 2, "refused the tunnel: 502 Bad Gateway"),
        ("garbage", "protocol", None, 1, "malformed response from proxy"),
        ("close", "protocol", None, 1, "closed the connection without answering"),
        ("huge", "protocol", None, 1, "response head larger than 100 KiB"),
    ],
    indirect=["bad_proxy"],
)
def test_a_proxy_failing_the_connect_is_named(
    bad_proxy: str, kind: str, status: int | None, attempts: int, error: str
) -> None:
    """The proxy, not the target, is blamed; a 4xx to the CONNECT is not retried; no repr."""
    result = run_fetchall(
        *("--json", "-r", "1", "--max-retry-wait", "1", "--proxy", bad_proxy, "-"),
        stdin=b"https://127.0.0.1:9/ok\n",
        timeout=30,
    )
    (record,) = jsonl(result.stdout.decode())
    assert (record["error_kind"], record["status"], record["attempts"]) == (kind, status, attempts)
    proxy = bad_proxy.removeprefix("http://")
    assert f"proxy {proxy}" in record["error"]
    assert error in record["error"]
    assert "bytearray" not in record["error"]
    assert "127.0.0.1:9" not in record["error"]


def test_httpcore_internals_are_where_typed_transport_reaches() -> None:
    """The pool's network backend is wrapped and a response's h11 state is found: if an
    httpcore release moves them, the excess-bytes and head bounds stop working, and
    httpx's transports no longer resolve through fetchall's resolver (``backend``)."""
    server = RawServer({"ok": Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")}).start()
    try:

        async def fetch() -> None:
            inner = httpx.AsyncHTTPTransport()
            resolve_with(inner, Names({}), 1.0)
            assert isinstance(inner._pool._network_backend, ResolvingBackend)
            transport = TypedErrorsTransport(inner)
            assert isinstance(inner._pool._network_backend, _HeadBoundBackend)
            response = await inner.handle_async_request(httpx.Request("GET", server.url("ok")))
            assert h11_state(response.stream) is not None
            await response.aclose()
            await transport.aclose()

        asyncio.run(fetch())
    finally:
        server.stop()


@pytest.mark.parametrize("proxy", ["http://127.0.0.1:3128", "socks5://127.0.0.1:1080"])
def test_a_proxy_transport_takes_the_resolving_backend(proxy: str) -> None:
    """Each proxy's transport gets the backend too; a transport without httpcore's pool
    where it is expected fails loudly, not silently resolving elsewhere."""
    transport = httpx.AsyncHTTPTransport(proxy=proxy)
    resolve_with(transport, Names({}), 1.0)
    assert isinstance(transport._pool._network_backend, ResolvingBackend)
    moved = httpx.AsyncHTTPTransport()
    del moved._pool
    with pytest.raises(RuntimeError, match="pinned in pyproject"):
        resolve_with(moved, Names({}), 1.0)
