"""Servers and proxies that reset or close a connection, or drip bytes: the record's error
says what happened (reset or closed; before, inside the head or inside the body; the true
byte count; the proxy, not the target), through the installed CLI on both transports."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import run_fetchall

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n"
Serve = Callable[[socket.socket], None]


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.fixture
def listen() -> Iterator[Callable[[Serve], int]]:
    """Start a server on 127.0.0.1 whose every connection ``serve`` handles: its port."""
    listeners: list[socket.socket] = []

    def start(serve: Serve) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=_handle, args=(serve, conn), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()


def _handle(serve: Serve, conn: socket.socket) -> None:
    try:
        conn.recv(65536)
        serve(conn)
    except OSError:
        pass
    finally:
        conn.close()


def record(port: int, *args: str, url: str = "", timeout: float = 30) -> dict:
    target = url or f"http://127.0.0.1:{port}/"
    done = run_fetchall(
        "--json", "--retries", "0", *args, "-", stdin=f"{target}\n".encode(), timeout=timeout
    )
    assert b"Traceback" not in done.stderr
    (line,) = done.stdout.splitlines()
    return dict(json.loads(line))


def _sends(data: bytes, end: Callable[[socket.socket], None]) -> Serve:
    def serve(conn: socket.socket) -> None:
        conn.sendall(data)
        time.sleep(0.1)
        end(conn)

    return serve


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize(
    ("sent", "kind", "said"),
    [
        (b"", "protocol", "{where} {closed} the connection without answering"),
        (HEAD, "protocol", "from {where}: {ended} inside the response head"),
        (HEAD + b"\r\nhello", "read", "connection to {where} lost after 5 bytes: "),
    ],
    ids=["before any byte", "inside the head", "inside the body"],
)
@pytest.mark.parametrize("how", ["reset", "close"])
def test_a_lost_connection_is_said_where_and_how(
    listen: Callable[[Serve], int], transport: str, sent: bytes, kind: str, said: str, how: str
) -> None:
    """Reset (RST) or closed (FIN) before any byte, inside the head, inside the body."""
    port = listen(_sends(sent, _reset if how == "reset" else socket.socket.close))
    got = record(port, "--transport", transport)
    ended = "the connection was reset" if how == "reset" else "the connection closed"
    expected = said.format(where=f"127.0.0.1:{port}", closed="closed", ended=ended)
    assert got["error_kind"] == kind
    assert expected in got["error"]
    if kind == "read" and transport == "fast":  # httpx's own words differ (h11's, the OS's)
        assert got["error"].endswith(f"{ended} after 5 of 100 body bytes")
    elif kind == "read" and how == "reset":
        assert "reset" in got["error"]


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_a_dripped_head_is_counted_by_the_minimum_speed(
    listen: Callable[[Serve], int], transport: str
) -> None:
    """A head sent a byte every 0.25 s is below 1000 bytes/s, but not "0 bytes"."""

    def drip(conn: socket.socket) -> None:
        for byte in HEAD:
            conn.send(bytes([byte]))
            time.sleep(0.25)

    port = listen(drip)
    args = ("--transport", transport, "--speed-limit", "1000", "--speed-time", "1")
    got = record(port, *args, timeout=20)
    assert got["error_kind"] == "timeout"
    assert got["error"].startswith("slower than 1,000 bytes/s for 1s (")
    assert "(0 bytes" not in got["error"]


@pytest.mark.parametrize(
    ("end", "args", "kind", "said"),
    [
        (_reset, (), "protocol", "proxy {proxy} closed the connection without answering"),
        (
            _sends(b"HTTP/1.1 200 Conn", _reset),
            (),
            "protocol",
            "malformed response from proxy {proxy}: the connection was reset inside the "
            "response head",
        ),
        (
            _sends(b"HTTP/1.1 200 Conn", socket.socket.close),
            (),
            "protocol",
            "malformed response from proxy {proxy}: the connection closed inside the response head",
        ),
        (
            lambda conn: time.sleep(5),
            ("-t", "1"),
            "timeout",
            "no complete response within 1s: proxy {proxy} did not answer the CONNECT",
        ),
        (
            lambda conn: time.sleep(5),
            ("--speed-limit", "1000", "--speed-time", "1"),
            "timeout",
            "(0 bytes in the last 1s): proxy {proxy} did not answer the CONNECT",
        ),
    ],
    ids=[
        "reset",
        "reset inside its answer",
        "closed inside its answer",
        "deadline",
        "minimum speed",
    ],
)
def test_a_proxy_that_fails_a_connect_is_named(
    listen: Callable[[Serve], int],
    end: Serve,
    args: tuple[str, ...],
    kind: str,
    said: str,
) -> None:
    """A CONNECT (an https:// target) the proxy resets or leaves unanswered: the error
    names the proxy, not the target (which is never resolved: example.invalid)."""
    port = listen(end)
    proxy = f"127.0.0.1:{port}"
    got = record(port, "--proxy", f"http://{proxy}", *args, url="https://example.invalid/")
    assert got["error_kind"] == kind
    assert said.format(proxy=proxy) in got["error"]
    assert "example.invalid" not in got["error"]


@pytest.mark.parametrize(
    ("end", "kind", "said"),
    [
        (_reset, "protocol", "proxy {proxy} closed the connection without answering"),
        (
            _sends(b"SSH-2.0-OpenSSH_9.6\r\n", socket.socket.close),
            "protocol",
            "malformed response from proxy {proxy}: ",
        ),
        (
            _sends(b"HTTP/1.1 200 O", socket.socket.close),
            "protocol",
            "malformed response from proxy {proxy}: the connection closed inside the response head",
        ),
        (
            _sends(b"HTTP/1.1 200 O", _reset),
            "protocol",
            "malformed response from proxy {proxy}: the connection was reset inside the "
            "response head",
        ),
    ],
    ids=["reset", "not HTTP", "closed inside its answer", "reset inside its answer"],
)
def test_a_proxy_that_fails_a_forwarded_request_is_named(
    listen: Callable[[Serve], int], end: Serve, kind: str, said: str
) -> None:
    """An http:// target goes through the proxy without a CONNECT (the proxy forwards the
    request): when the proxy resets or answers garbage, the error names the proxy, not
    the target, which was never reached (a port nothing listens on)."""
    port = listen(end)
    proxy = f"127.0.0.1:{port}"
    got = record(port, "--proxy", f"http://{proxy}", url="http://127.0.0.1:9/x")
    assert got["error_kind"] == kind
    assert said.format(proxy=proxy) in got["error"], got["error"]
    assert "127.0.0.1:9" not in got["error"].replace(proxy, "")


def _closes_at_accept() -> tuple[socket.socket, int]:
    """A listener on 127.0.0.1 that closes each connection as soon as it accepts it (a
    thread of its own, until the listener is closed): its socket and port."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_https_closed_at_accept_is_a_connect_failure_without_traceback() -> None:
    """100 https URLs on 5 ports whose server closes each connection at accept, 64 at a
    time: when the close arrived before TLS began, uvloop printed a RuntimeError traceback
    for each ("the handler is closed") and the kind depended on timing; now every URL is
    one record, ``connect`` or ``tls`` as the close fell, and nothing else is printed."""
    listeners = [_closes_at_accept() for _ in range(5)]
    try:
        urls = "".join(
            f"https://127.0.0.1:{port}/{i}\n" for i in range(20) for _, port in listeners
        )
        done = run_fetchall(
            "--json", "-k", "-r", "0", "-c", "64", "-q", "-", stdin=urls.encode(), timeout=60
        )
    finally:
        for listener, _ in listeners:
            listener.close()
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr, stderr[:2000]
    assert "Exception in callback" not in stderr, stderr[:2000]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 100
    assert done.returncode == 1
    kinds = {record["error_kind"] for record in records}
    assert kinds <= {"connect", "tls"}, kinds
