"""Conformance: every row of ``conformance_rows`` served byte for byte by ``rawserver``,
fetched through the installed command (``-c 1``, three URLs of a row in a row, so a kept
connection is reused), on fetchall's transport and on httpx's own. Each row's records
must say what the row expects; where httpx's transport cannot, the row says what it does
instead and why (never a skip). fetchall's transport meets every row."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conformance_rows import HOLD, ROWS, Row
from tests.conftest import jsonl, run_fetchall
from tests.rawserver import RawServer

URLS_PER_ROW = 3
NO_WAIT = HOLD / 2
"""Seconds an attempt that does not wait for the server may take at most."""


@dataclass
class Fetched:
    records: list[dict]
    connections: int


def fetch_rows(transport: str) -> dict[str, Fetched]:
    """Every row's records and connections, one run of the command per request method."""
    server = RawServer({name: row.reply for name, row in ROWS.items()}).start()
    fetched: dict[str, Fetched] = {}
    try:
        for method in ("GET", "POST", "HEAD"):
            names = [name for name, row in ROWS.items() if row.method == method]
            urls = {server.url(name, f"/{i}"): name for name in names for i in range(URLS_PER_ROW)}
            result = run_fetchall(
                *("--json", "-c", "1", "-r", "0", "-t", "10", "--transport", transport),
                *("-X", method, "-"),
                stdin="".join(f"{url}\n" for url in urls).encode(),
                timeout=120,
            )
            assert result.returncode in (0, 1), result.stderr.decode()
            records = jsonl(result.stdout.decode())
            assert sorted(record["url"] for record in records) == sorted(urls)
            for name in names:
                fetched[name] = Fetched([], 0)
            for record in records:
                fetched[urls[record["url"]]].records.append(record)
        for name in fetched:
            fetched[name].connections = server.connections[name]
    finally:
        server.stop()
    return fetched


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Fetched]]:
    """Each transport's run over the whole table, made when first asked for."""
    return {}


def fetched(runs: dict[str, dict[str, Fetched]], transport: str, name: str) -> Fetched:
    if transport not in runs:
        runs[transport] = fetch_rows(transport)
    return runs[transport][name]


def check(row: Row, got: Fetched, transport: str) -> None:
    differs = row.httpx if transport == "httpx" else None
    expected = differs.records if differs and differs.records else (row.expect,) * URLS_PER_ROW
    assert len(got.records) == len(expected)
    for record, expect in zip(got.records, expected, strict=True):
        fields = (record["ok"], record["status"], record["bytes"], record["error_kind"])
        assert fields == (expect.ok, expect.status, expect.bytes, expect.kind), record
        if expect.error is None:
            assert record["error"] is None
        else:
            assert expect.error in record["error"], record
        if transport == "fast":
            assert row.detail in (record["error"] or ""), record
        if row.content_type is not None:
            assert record["content_type"] == row.content_type
        if not expect.waits:
            assert record["elapsed"] < NO_WAIT, record
    if differs and differs.connections is not None:
        assert got.connections == differs.connections
    else:
        assert got.connections == row.connections


@pytest.mark.parametrize("name", list(ROWS))
def test_fast_transport(runs: dict[str, dict[str, Fetched]], name: str) -> None:
    """fetchall's transport meets the row."""
    check(ROWS[name], fetched(runs, "fast", name), "fast")


@pytest.mark.parametrize("name", list(ROWS))
def test_httpx_transport(runs: dict[str, dict[str, Fetched]], name: str) -> None:
    """httpx's own transport meets the row, or does what the row says it does instead."""
    check(ROWS[name], fetched(runs, "httpx", name), "httpx")
