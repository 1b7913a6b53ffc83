"""Shared fixtures: the local test server and ways to run the CLI."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import trustme
from hypothesis import settings
from typer.testing import CliRunner

from fetchall.cli import app
from tests.server import TestServer


@pytest.fixture(scope="session", autouse=True)
def _hypothesis_imported_whole() -> None:
    """hypothesis imports some of its modules at the first test that needs them, and
    pytest rewrites each with ast.parse() then; on CPython 3.11.7 that parse can fail with
    "AST constructor recursion depth mismatch" while another thread compiles
    (python/cpython#106905), so all of them (but the optional ``extra`` ones) are imported
    before any test starts a thread: 0.3 s."""
    for module in pkgutil.walk_packages(hypothesis.__path__, "hypothesis."):
        if not module.name.startswith("hypothesis.extra"):
            with contextlib.suppress(ImportError):  # a module for a package not installed
                importlib.import_module(module.name)


FETCHALL = str(Path(sys.executable).with_name("fetchall"))

settings.register_profile("fetchall", deadline=None)
settings.load_profile("fetchall")  # no test times its examples: a loaded CI machine is slow


@pytest.fixture(scope="session")
def server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1, for the whole test session."""
    test_server = TestServer().start()
    yield test_server
    test_server.stop()


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listen queue is full, so new connections hang unanswered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)
        yield port
        for filler in fillers:
            filler.close()


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A port where a plain-HTTP server answers anything (a TLS handshake too) with 400."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                client, _ = listener.accept()
                with client:
                    client.settimeout(5)
                    client.recv(4096)
                    client.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(10)
    listener.close()


class ConnectionCounter:
    """A listening socket on 127.0.0.1 that accepts and counts connections, and closes
    each at once: where a request must never go."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                client, _ = self.listener.accept()
                self.connections += 1
                client.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.listener.close()


@pytest.fixture
def connection_counter() -> Iterator[ConnectionCounter]:
    """A port on 127.0.0.1 that counts the connections made to it."""
    counter = ConnectionCounter()
    yield counter
    counter.stop()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server(tls_ca: trustme.CA) -> Iterator[TestServer]:
    """An HTTPS server whose certificate only ``tls_ca`` vouches for (self-made)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    test_server = TestServer(context).start()
    yield test_server
    test_server.stop()


@pytest.fixture(scope="session")
def ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CA's certificate as a PEM file, for --cacert."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def other_server() -> Iterator[TestServer]:
    """A second server: another host for per-host limits."""
    test_server = TestServer().start()
    yield test_server
    test_server.stop()


@pytest.fixture
def fresh_server(server: TestServer) -> TestServer:
    """The session's server, idle, with its counters reset."""
    deadline = time.monotonic() + 10
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)  # requests that earlier tests abandoned are still closing
    server.reset_counts()
    return server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def url_file(tmp_path: Path):
    """Write lines to a file and return its path."""

    def write(*lines: str) -> Path:
        path = tmp_path / "urls.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        return path

    return write


def run_fetchall(
    *args: str, stdin: bytes = b"", timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``fetchall`` in a subprocess, as a user would."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [FETCHALL, *args], input=stdin, capture_output=True, timeout=timeout, env=env, check=False
    )


def invoke(*args: str, stdin: str | bytes = b""):
    """Run the CLI in-process with typer's CliRunner."""
    return CliRunner().invoke(app, list(args), input=stdin, env={"NO_COLOR": None})


def jsonl(stdout: str) -> list[dict]:
    """The records of a --json run."""
    return [json.loads(line) for line in stdout.splitlines()]
