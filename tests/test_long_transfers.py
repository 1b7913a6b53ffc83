"""The default limits as a user meets them: a long download at a steady rate succeeds, a
server that drips or stalls is cut after 30 s below 1 KiB/s. (About 40 s, in one run.)"""

from __future__ import annotations

import time

from tests.conftest import jsonl, run_fetchall
from tests.server import TestServer


def test_defaults_let_a_long_steady_download_finish_and_cut_a_drip(server: TestServer) -> None:
    """With no timing options: 40 s at 64 KiB/s is ok; a drip (10 B/s) and a stall fail as
    timeout once 30 s passed below 1 KiB/s, and are not retried forever."""
    steady = server.url(f"/steady/{40 * 64 * 1024}?rate={64 * 1024}")
    urls = [steady, server.url("/drip"), server.url("/stall")]
    started = time.monotonic()
    result = run_fetchall(
        "--json", "-r", "0", "-c", "3", "-", stdin="\n".join(urls).encode(), timeout=90
    )
    took = time.monotonic() - started
    records = {record["url"]: record for record in jsonl(result.stdout.decode())}
    assert (records[steady]["ok"], records[steady]["bytes"]) == (True, 40 * 64 * 1024)
    assert records[steady]["elapsed"] > 39
    for path in ("/drip", "/stall"):
        record = records[server.url(path)]
        assert record["error_kind"] == "timeout", record
        assert record["error"].startswith("slower than 1,024 bytes/s for 30s")
        assert 30 <= record["elapsed"] < 33
    assert took < 60
