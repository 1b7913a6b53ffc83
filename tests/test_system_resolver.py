"""The installed command resolving names through the system's resolver for real: in a
namespace whose /etc/resolv.conf names the test DNS server on its own 127.0.0.1:53 and whose
/etc/hosts is a test file (``tests/namespace.py``); the machine's resolv.conf untouched."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import FETCHALL
from tests.namespace import run_isolated, why_not_isolated

ROOT = Path(__file__).resolve().parent.parent
WHY_NOT = why_not_isolated()
LIVE = 64
"""Distinct live names, as many as the concurrency."""
DELAY = 0.3
"""Seconds the DNS server takes to answer: long enough that lookups overlap."""


RESOLV_CONF = "nameserver 127.0.0.1\nsearch bench.test\noptions ndots:2 timeout:5 attempts:2\n"
"""A search list, ndots:2, and 5 s x 2 tries per query (glibc's defaults): glibc spends
20 s on a name nobody answers (the name, then the name with the search domain)."""


def run_scenario(folder: Path, urls: list[str], args: list[str]) -> dict:
    """One run of ``fetchall ARGS -`` on ``urls`` in the namespace; its records by host,
    the queries the DNS server saw, and how the run went."""
    resolv_conf = folder / "resolv.conf"
    resolv_conf.write_text(RESOLV_CONF)
    hosts = folder / "hosts"
    hosts.write_text("127.0.0.1 mirror.test\n")
    spec = {"urls": urls, "args": [*args, "-"], "delay": DELAY, "records": {}}
    command = [sys.executable, "-m", "tests.dns_scenario", FETCHALL, json.dumps(spec)]
    run = run_isolated(command, resolv_conf=resolv_conf, hosts=hosts, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    outcome["by_host"] = {}
    for record in outcome["records"]:
        outcome["by_host"].setdefault(record["url"].split("/")[2].split(":")[0], []).append(record)
    return outcome


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of ``fetchall --json -c 64 --connect-timeout 2 -r 0`` in the namespace."""
    if WHY_NOT is not None:
        pytest.skip(WHY_NOT)
    urls = [f"http://live{i}.bench.test:{{port}}/bytes/1" for i in range(LIVE)]
    urls += ["http://short:{port}/bytes/2", "http://mirror.test:{port}/bytes/3"]
    urls += ["http://localhost:{port}/bytes/4", "http://dead-x.bench.test:{port}/"]
    urls += ["http://nx-gone.bench.test:{port}/"] * 1000
    args = ["--json", "-q", "-c", str(LIVE), "--connect-timeout", "2", "-r", "0"]
    return run_scenario(tmp_path_factory.mktemp("namespace"), urls, args)


@pytest.fixture(scope="module")
def dead_first(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """12 names nobody answers, then 8 live ones, at -c 4 --connect-timeout 1: each dead
    lookup holds a thread for glibc's 20 s after its URL gave up at 1 s."""
    if WHY_NOT is not None:
        pytest.skip(WHY_NOT)
    urls = [f"http://dead-{i}.bench.test:{{port}}/" for i in range(12)]
    urls += [f"http://late{i}.bench.test:{{port}}/bytes/1" for i in range(8)]
    args = ["--json", "-q", "-c", "4", "--connect-timeout", "1", "-r", "0"]
    return run_scenario(tmp_path_factory.mktemp("dead_first"), urls, args)


def test_names_resolve_through_the_system_resolver(scenario: dict) -> None:
    """Names from the DNS server (a real lookup: time_dns covers its delay), from the
    search list (``short`` is ``short.bench.test``), and from /etc/hosts (no query) all
    fetch; localhost never reaches DNS."""
    by_host, queries = scenario["by_host"], scenario["queries"]
    for host in ("live0.bench.test", "short", "mirror.test", "localhost"):
        (record,) = by_host[host]
        assert (record["ok"], record["remote_ip"]) == (True, "127.0.0.1"), record
    assert by_host["live0.bench.test"][0]["time_dns"] >= DELAY
    assert queries["short.bench.test A"] == 1
    assert not [name for name in queries if name.startswith(("mirror.test", "localhost"))]


def test_lookups_in_flight_reach_the_concurrency(scenario: dict) -> None:
    """64 distinct names at -c 64: the DNS server has the A and AAAA queries of all 64
    waiting at once (the event loop's getaddrinfo had 2 lookups in flight under uvloop)."""
    assert scenario["max_pending"] == 2 * LIVE
    live = [records for host, records in scenario["by_host"].items() if host.startswith("live")]
    assert [record["ok"] for (record,) in live] == [True] * LIVE


def test_a_thousand_urls_on_a_missing_name_make_one_lookup(scenario: dict) -> None:
    """1,000 URLs on a name that does not exist: one A query for it, 1,000 dns records
    (after the 10th, --max-host-errors says they were not tried, and why)."""
    records = scenario["by_host"]["nx-gone.bench.test"]
    assert scenario["queries"]["nx-gone.bench.test A"] == 1
    assert Counter(r["error_kind"] for r in records) == {"dns": 1000}
    reason = "could not resolve host nx-gone.bench.test: no such name"
    assert all(reason in r["error"] for r in records)
    not_tried = [r["error"] for r in records if not r["attempts"]]
    assert not_tried
    assert set(not_tried) == {  # attempts, which there were, not lookups: there was one
        f"not tried: 10 attempts at nx-gone.bench.test failed in a row (last: {reason})"
    }


def test_a_dead_name_fails_at_the_connect_timeout_and_does_not_delay_exit(
    scenario: dict,
) -> None:
    """A name the DNS server never answers fails as dns at --connect-timeout (2 s), once
    (a name is not retried), while glibc keeps trying for 20 s (5 s x 2 tries, then the
    search list): the command still ends in a few seconds (its lookup threads are
    daemons)."""
    (record,) = scenario["by_host"]["dead-x.bench.test"]
    assert (record["error_kind"], record["error"], record["attempts"]) == (
        "dns",
        "could not resolve host dead-x.bench.test: no answer within 2.0s",
        1,
    )
    assert 2.0 <= record["elapsed"] < 3.0
    assert scenario["wall"] < 10


def test_dead_names_leave_the_lookup_threads_to_live_ones(dead_first: dict) -> None:
    """12 dead names ahead of 8 live ones at -c 4: the dead lookups, given up on at the
    connect timeout, keep running in glibc on threads that no longer count, so the live
    names are still looked up and fetched; the run takes about 12 x 1 s / 4."""
    by_host = dead_first["by_host"]
    live = [records for host, records in by_host.items() if host.startswith("late")]
    assert [(record["ok"], record["error"]) for (record,) in live] == [(True, None)] * 8
    dead = [record for host, (record,) in by_host.items() if host.startswith("dead")]
    assert {(r["error_kind"], r["error"].split(": ")[1]) for r in dead} == {
        ("dns", "no answer within 1.0s")
    }
    assert dead_first["wall"] < 8


CONNECT_TIMEOUT = 2.0
"""--connect-timeout of the runs on httpx's transport below."""
EXIT_MARGIN = 3.0
"""Seconds a run may take past its connect timeout before it is killed and fails."""


def _run_until(folder: Path, urls: list[str], args: list[str]) -> dict:
    """``run_scenario`` killed at ``CONNECT_TIMEOUT + EXIT_MARGIN`` seconds (its lookups
    of dead names never answered: glibc would keep trying for 20 s)."""
    resolv_conf = folder / "resolv.conf"
    resolv_conf.write_text(RESOLV_CONF)
    hosts = folder / "hosts"
    hosts.write_text("")
    limit = CONNECT_TIMEOUT + EXIT_MARGIN
    spec = {"urls": urls, "args": [*args, "-"], "delay": DELAY, "records": {}, "limit": limit}
    command = [sys.executable, "-m", "tests.dns_scenario", FETCHALL, json.dumps(spec)]
    run = run_isolated(command, resolv_conf=resolv_conf, hosts=hosts, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    outcome: dict = json.loads(run.stdout)
    assert outcome["stderr"] != "killed: still running at the limit", outcome["wall"]
    return outcome


@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_dead_names_on_httpx_transport_end_the_run_at_the_connect_timeout(
    tmp_path: Path,
) -> None:
    """httpx's transport resolves through fetchall's resolver too: 20 names nobody answers
    fail as dns at the connect timeout, and the command ends then (anyio's getaddrinfo
    threads made the run wait for every lookup: 200 s)."""
    urls = [f"http://dead-h{i}.bench.test:{{port}}/" for i in range(20)]
    args = ["--json", "-q", "-c", "20", "-r", "0", "--connect-timeout", str(CONNECT_TIMEOUT)]
    outcome = _run_until(tmp_path, urls, [*args, "--transport", "httpx"])
    records = outcome["records"]
    assert len(records) == 20
    assert {(r["error_kind"], r["error"].split(": ")[1]) for r in records} == {
        ("dns", "no answer within 2.0s")
    }
    assert outcome["wall"] < CONNECT_TIMEOUT + EXIT_MARGIN


@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_a_dead_proxy_name_is_dns_naming_the_proxy_and_ends_the_run(tmp_path: Path) -> None:
    """A proxy whose name nobody answers: every URL fails as dns naming the proxy, at the
    connect timeout, and the command ends then (it was "timeout", and the run waited for
    anyio's lookups past the last record)."""
    urls = ["http://127.0.0.1:{port}/bytes/1"] * 50
    args = ["--json", "-q", "-c", "50", "-r", "0", "--connect-timeout", str(CONNECT_TIMEOUT)]
    outcome = _run_until(tmp_path, urls, [*args, "--proxy", "http://dead-proxy.bench.test:8080"])
    records = outcome["records"]
    assert len(records) == 50
    reason = "could not resolve proxy host dead-proxy.bench.test: no answer within 2.0s"
    assert {r["error_kind"] for r in records} == {"dns"}
    assert all(reason in r["error"] for r in records), records[0]
    assert outcome["wall"] < CONNECT_TIMEOUT + EXIT_MARGIN


@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_a_proxy_name_is_looked_up_once_per_run(tmp_path: Path) -> None:
    """200 URLs through a proxy whose name does not exist: one lookup of it (each query
    asked once; it was asked again for every URL), and each URL fails as dns naming the
    proxy."""
    urls = [f"http://127.0.0.1:{{port}}/bytes/{i}" for i in range(200)]
    args = ["--json", "-q", "-c", "50", "-r", "0", "--connect-timeout", str(CONNECT_TIMEOUT)]
    outcome = _run_until(tmp_path, urls, [*args, "--proxy", "http://nx-proxy.bench.test:8080"])
    records = outcome["records"]
    assert len(records) == 200
    assert {r["error_kind"] for r in records} == {"dns"}
    reason = "could not resolve proxy host nx-proxy.bench.test: no such name"
    assert all(reason in r["error"] for r in records), records[0]
    proxy_queries = {q: n for q, n in outcome["queries"].items() if q.startswith("nx-proxy")}
    assert proxy_queries["nx-proxy.bench.test A"] == 1  # one lookup (glibc then tries
    assert set(proxy_queries.values()) == {1}  # the search list, once too)
