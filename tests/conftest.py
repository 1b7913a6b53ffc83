"""Shared fixtures: the local test server and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import TestServer

FETCHALL = str(Path(sys.executable).with_name("fetchall"))


@pytest.fixture(scope="session")
def server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1, for the whole test session."""
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
