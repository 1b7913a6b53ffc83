"""fetchall started with stdin, stdout or stderr closed (``<&-``, ``>&-``, ``2>&-``: cron
jobs, daemons): no traceback; a closed stdin matters only when it is the list, a closed
stdout is a records stream that cannot be written, a closed stderr loses the messages."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FETCHALL
from tests.server import TestServer

CLOSED_SETS = [
    frozenset(fds) for size in (1, 2, 3) for fds in itertools.combinations((0, 1, 2), size)
]


def run_closed(closed: frozenset[int], *args: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    """Run the installed fetchall with the descriptors ``closed`` closed before it starts
    (the open ones are pipes); its status, stdout and stderr."""

    def close() -> None:
        for fd in closed:
            os.close(fd)

    env = {**os.environ, "NO_COLOR": "1"}
    with subprocess.Popen(
        [FETCHALL, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=close,
        env=env,
    ) as process:
        out, err = process.communicate(None if 0 in closed else stdin, timeout=60)
    return process.returncode, out, err


def name(closed: frozenset[int]) -> str:
    return "+".join(("stdin", "stdout", "stderr")[fd] for fd in sorted(closed)) + "-closed"


@pytest.mark.parametrize("closed", CLOSED_SETS, ids=name)
@pytest.mark.parametrize("list_on_stdin", [False, True], ids=["list-file", "list-on-stdin"])
def test_a_closed_standard_stream_gives_a_clean_run_or_one_line(
    server: TestServer, tmp_path: Path, closed: frozenset[int], list_on_stdin: bool
) -> None:
    """stdin closed and not used: a normal run; closed and used as the list (``-`` or no
    SOURCE): one line, exit 2; stdout closed: one line, exit 1 (records that cannot be
    written), nothing fetched; stderr closed: a normal run, its messages lost."""
    urls = [server.url(f"/bytes/{i}?closed={i}") for i in range(3)]
    listing = "".join(f"{url}\n" for url in urls).encode()
    path = tmp_path / "urls.txt"
    path.write_bytes(listing)
    source = ["-"] if list_on_stdin else [str(path)]
    status, out, err = run_closed(closed, "--json", *source, stdin=listing)
    assert b"Traceback" not in err, err.decode()
    if 0 in closed and list_on_stdin:
        assert (status, out) == (2, b"")
        if 2 not in closed:
            assert err == b"fetchall: cannot read stdin: it is closed (name a SOURCE file)\n"
    elif 1 in closed:
        assert status == 1
        if 2 not in closed:
            assert err == b"fetchall: cannot write the records to stdout: it is closed\n"
    else:
        assert status == 0, err.decode()
        assert sorted(json.loads(line)["url"] for line in out.splitlines()) == urls
        if 2 not in closed:
            assert err.startswith(b"done: 3 URLs"), err.decode()


@pytest.mark.parametrize("closed", [frozenset({0}), frozenset({0, 2})], ids=name)
def test_no_source_and_a_closed_stdin_is_a_usage_error(closed: frozenset[int]) -> None:
    """With no SOURCE, the list is stdin: closed, it is one line and exit 2."""
    status, out, err = run_closed(closed, "-q")
    assert (status, out) == (2, b"")
    said = b"fetchall: cannot read stdin: it is closed (name a SOURCE file)\n"
    assert err == (b"" if 2 in closed else said)


def test_a_closed_stdout_is_never_a_file_or_socket_opened_later(
    server: TestServer, tmp_path: Path
) -> None:
    """With stdout closed, descriptor 1 is held on /dev/null, so the list file opened next
    does not take it (it would, as the lowest free descriptor) and nothing is fetched."""
    path = tmp_path / "urls.txt"
    path.write_text(server.url("/bytes/5/closed-stdout") + "\n")
    status, _, err = run_closed(frozenset({1}), "-q", str(path))
    assert status == 1, err.decode()
    assert not [seen for seen in server.requests if "closed-stdout" in seen]
