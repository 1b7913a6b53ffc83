"""The Docker image, built and run with ../shared/tools/container (podman, no Docker engine).

Select with ``-m docker``, leave out with ``-m "not docker"``. Skipped where the tool is
absent (a user's checkout); .ci/run has it beside the clone and runs these tests.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.server import ENCODED_TEXT, TestServer
from tests.test_process import read_line_within

REPO = Path(__file__).resolve().parents[1]
CONTAINER = REPO.parent / "shared" / "tools" / "container"
IMAGE = "fetchall:test"

pytestmark = [
    pytest.mark.docker,
    pytest.mark.timeout(900),  # a fresh machine first installs podman and makes a base image
    pytest.mark.skipif(not CONTAINER.exists(), reason=f"{CONTAINER} not found: no way to build"),
]


def container(
    *args: str, stdin: bytes = b"", timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CONTAINER), *args], input=stdin, capture_output=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image() -> str:
    """The image built from this checkout's Dockerfile."""
    built = container("build", str(REPO), IMAGE, timeout=850)
    assert built.returncode == 0, built.stderr.decode()[-3000:]
    return IMAGE


def test_dockerfile_lints_clean() -> None:
    """hadolint finds no errors in the Dockerfile."""
    linted = container("lint", str(REPO), timeout=300)
    assert linted.returncode == 0, linted.stdout.decode() + linted.stderr.decode()


def test_url_list_on_stdin_gives_jsonl_records(image: str, server: TestServer) -> None:
    """`docker run -i IMAGE - < urls.txt` writes one jsonl record per line to stdout."""
    urls = f"{server.url('/bytes/77')}\n{server.url('/status/404')}\nftp://x/\n"
    result = container("run", image, "--json", "-", stdin=urls.encode())
    assert result.returncode == 1  # one 404 and one invalid line
    records = {r["source"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == {"-:1", "-:2", "-:3"}
    assert (records["-:1"]["status"], records["-:1"]["bytes"]) == (200, 77)
    assert records["-:2"]["error_kind"] == "http_status"
    assert records["-:3"]["error_kind"] == "invalid_url"
    assert b"done: 3 URLs" in result.stderr


def test_the_image_decodes_br_and_zstd(image: str, server: TestServer) -> None:
    """brotli and zstandard are installed in the image: br and zstd bodies are decoded."""
    urls = f"{server.url('/encoded/br')}\n{server.url('/encoded/zstd')}\n"
    result = container("run", image, "--json", "-", stdin=urls.encode())
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert [record["bytes"] for record in records] == [len(ENCODED_TEXT)] * 2


def test_runs_as_a_non_root_user(image: str) -> None:
    """The process cannot read a root-only file, so it is not root."""
    result = container("run", image, "/etc/shadow")
    assert result.returncode == 2
    assert b"cannot read /etc/shadow: Permission denied" in result.stderr


def test_has_no_compiler(image: str) -> None:
    """The runtime image carries no C compiler."""
    for compiler in ("/usr/bin/gcc", "/usr/bin/cc", "/usr/local/bin/gcc"):
        result = container("run", image, compiler)
        assert result.returncode == 2
        assert b"No such file or directory" in result.stderr, compiler


def test_sigterm_stops_gracefully_with_143(image: str, server: TestServer) -> None:
    """SIGTERM (docker stop) ends the run with 143, finished records flushed, no --init."""
    with subprocess.Popen(
        [str(CONTAINER), "run", image, "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdin is not None
        process.stdin.write(f"{server.url('/bytes/8')}\n{server.url('/stall')}\n".encode())
        process.stdin.flush()
        first = read_line_within(process, 60)
        assert json.loads(first)["bytes"] == 8
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr.decode()
    (cancelled,) = map(json.loads, stdout.splitlines())
    assert cancelled["error_kind"] == "cancelled"
    assert b"terminated" in stderr
    assert time.monotonic() - sent < 10


def test_saves_bodies_as_the_non_root_user(image: str, server: TestServer) -> None:
    """-o /data/out works inside the image: /data belongs to the image's user."""
    result = container(
        "run",
        image,
        "--json",
        "-o",
        "/data/out",
        "-",
        stdin=f"{server.url('/bytes/5/f.txt')}\n".encode(),
    )
    assert result.returncode == 0, result.stderr.decode()
    (record,) = map(json.loads, result.stdout.splitlines())
    assert record["path"] == f"/data/out/127.0.0.1_{server.port}/bytes/5/f.txt"


def test_proxy_variables_reach_fetchall(image: str, fresh_server: TestServer) -> None:
    """HTTP_PROXY passed with -e carries the requests (here to the test server)."""
    result = container(
        "run",
        "-e",
        f"HTTP_PROXY={fresh_server.url('')}",
        image,
        "--json",
        "-",
        stdin=b"http://far-away.test/bytes/9\n",
    )
    (record,) = map(json.loads, result.stdout.splitlines())
    assert (record["ok"], record["bytes"]) == (True, 9)
    assert fresh_server.requests["/bytes/9"] == 1
