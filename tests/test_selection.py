"""Choosing lines: --resume (with a real SIGKILL mid-run), --unique and --shard, the
compact digest set behind them, and the Kubernetes manifest that uses --shard."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from fetchall import Line, Ok
from fetchall._input.digests import DigestSet, canonical_url, digest64
from fetchall._input.selection import Shard
from tests.conftest import FETCHALL, invoke, jsonl
from tests.server import TestServer

REPO = Path(__file__).resolve().parents[1]


def parse_lenient(path: Path) -> tuple[list[dict], int]:
    """The records of a jsonl file, and how many lines were not JSON."""
    records, malformed = [], 0
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except ValueError:
            malformed += 1
    return records, malformed


def test_kill_then_resume_covers_every_line_once(fresh_server: TestServer, tmp_path: Path) -> None:
    """SIGKILL mid-run, then the same command with --resume: every line ends with an ok
    record, and no URL that already had one is requested again."""
    urls = [fresh_server.url(f"/bytes/64?delay=0.01&i={i}") for i in range(1200)]
    listing = tmp_path / "big.txt"
    listing.write_text("\n".join(urls) + "\n")
    results = tmp_path / "results.jsonl"
    with results.open("ab") as out:
        first = subprocess.Popen([FETCHALL, "--json", "-c", "8", str(listing)], stdout=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and results.read_bytes().count(b"\n") < 200:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with results.open("ab") as out:
        out.write(b'{"url": "' + urls[-1].encode()[:20])  # a record torn by the kill
    killed_records, _ = parse_lenient(results)
    done_before = {r["url"] for r in killed_records if r["ok"]}
    assert 200 <= len(done_before) < len(urls)

    with results.open("ab") as out:
        second = subprocess.run(
            [FETCHALL, "--json", "-c", "8", "--resume", str(results), str(listing)],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    assert second.returncode == 0
    assert second.stderr.count(b"malformed") == 1  # one warning for the torn line
    records, malformed = parse_lenient(results)
    assert malformed == 1  # the torn line alone: the new records did not glue onto it
    ok_urls = Counter(r["url"] for r in records if r["ok"])
    assert set(ok_urls) == set(urls)
    requests = Counter(target for target, _ in fresh_server.arrivals)
    for url in done_before:
        assert requests[url.removeprefix(fresh_server.url(""))] == 1, url


def test_resume_skips_only_ok_records(fresh_server: TestServer, tmp_path: Path) -> None:
    """Failed, cancelled and missing lines are fetched again; ok ones make no record."""
    previous = tmp_path / "before.jsonl"
    done = fresh_server.url("/bytes/1")
    failed = fresh_server.url("/bytes/2")
    previous.write_text(
        json.dumps({"url": done, "ok": True})
        + "\n"
        + json.dumps({"url": failed, "ok": False, "error_kind": "timeout"})
        + "\nnot json at all\n[1, 2]\n"
    )
    stdin = f"  {done}  \n{failed}\n{fresh_server.url('/bytes/3')}\n"
    result = invoke("--json", "--resume", str(previous), "-", stdin=stdin)
    assert sorted(r["url"] for r in jsonl(result.stdout)) == [failed, fresh_server.url("/bytes/3")]
    assert fresh_server.requests["/bytes/1"] == 0
    assert result.stderr.count("skipped 2 malformed line(s)") == 1


def test_resume_from_a_missing_file_fetches_everything(server: TestServer, tmp_path: Path) -> None:
    """The first run of a resumable command has no file yet: a note, and a normal run."""
    result = invoke("--json", "--resume", str(tmp_path / "none.jsonl"), "-", stdin="ftp://x/\n")
    assert len(jsonl(result.stdout)) == 1
    assert "does not exist yet" in result.stderr


def test_unique_drops_the_fragment_which_is_never_sent(fresh_server: TestServer) -> None:
    """``URL`` and ``URL#frag`` are one URL: one request, one record, its ``url`` as given."""
    url = fresh_server.url("/bytes/2")
    stdin = f"{url}#part-1\n{url}\n{url}#part-2\n"
    records = jsonl(invoke("--json", "--unique", "-", stdin=stdin).stdout)
    assert [r["url"] for r in records] == [f"{url}#part-1"]
    assert fresh_server.requests["/bytes/2"] == 1


def test_unique_fetches_each_normalised_url_once(fresh_server: TestServer) -> None:
    """Scheme and host case and default ports are normalised; invalid lines by raw text."""
    url = fresh_server.url("/bytes/3")
    shouting = url.replace("http://", "HTTP://")
    stdin = f"{url}\n{shouting}\n{url}\nftp://x/\nftp://x/\nftp://X/\n"
    records = jsonl(invoke("--json", "--unique", "-", stdin=stdin).stdout)
    assert sorted(r["url"] for r in records) == sorted([url, "ftp://x/", "ftp://X/"])
    assert fresh_server.requests["/bytes/3"] == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://Example.COM:80/a?b=1", "http://example.com/a?b=1"),
        ("HTTPS://example.com:443/", "https://EXAMPLE.com/"),
        ("example.com/x", "https://example.com:443/x"),
        ("http://example.com/a#top", "http://example.com/a"),
        ("http://example.com/a?q=1#x", "http://example.com/a?q=1#"),
    ],
)
def test_canonical_url_normalises_scheme_host_and_default_port(first: str, second: str) -> None:
    """Two spellings of one URL have one canonical URL; paths keep their case."""
    from fetchall._input.lines import parse_line

    one, two = parse_line(first.encode(), "a:1"), parse_line(second.encode(), "a:2")
    assert one is not None
    assert two is not None
    assert canonical_url(one) == canonical_url(two)
    assert canonical_url(Line("x", "a:3", Ok("http://e.com/A"))) != canonical_url(
        Line("x", "a:4", Ok("http://e.com/a"))
    )


def test_shards_cover_every_line_exactly_once(server: TestServer, tmp_path: Path) -> None:
    """Running shards 0..N-1 over one list handles each line in exactly one shard."""
    lines = [server.url(f"/bytes/1?i={i}") for i in range(40)] + [f"ftp://h/{i}" for i in range(20)]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(lines) + "\n")
    seen: list[str] = []
    for index in range(4):
        result = invoke("--json", "--shard", f"{index}/4", "-c", "8", str(listing))
        shard_sources = [r["source"] for r in jsonl(result.stdout)]
        assert shard_sources  # 60 lines over 4 shards: none is empty
        seen += shard_sources
    assert sorted(seen) == sorted(f"{listing}:{n}" for n in range(1, 61))


def test_shard_is_stable_across_machines() -> None:
    """The shard of a URL comes from a fixed digest (8-byte BLAKE2b), not Python's hash():
    a known answer pins it, so every machine and version agrees."""
    assert digest64("https://example.com/") == 0x14BA2EB79C27555B
    line = Line("https://example.com/", "a:1", Ok("https://example.com/"))
    assert [Shard(k, 7).holds(line) for k in range(7)] == [
        k == 0x14BA2EB79C27555B % 7 for k in range(7)
    ]


@pytest.mark.parametrize("text", ["4/4", "-1/3", "1", "a/b", "3/0", ""])
def test_bad_shards_are_usage_errors(text: str) -> None:
    """--shard needs K/N with 0 <= K < N."""
    assert invoke("--shard", text, "-", stdin="x.test\n").exit_code == 2


def test_digest_set_is_compact_and_exact() -> None:
    """100,000 digests: all found, nothing else found, at most 32 bytes each."""
    members = DigestSet()
    for number in range(100_000):
        assert members.add(digest64(f"https://e.com/{number}"))
    assert not members.add(digest64("https://e.com/5"))
    assert len(members) == 100_000
    assert all(digest64(f"https://e.com/{n}") in members for n in range(0, 100_000, 997))
    assert digest64("https://other.test/") not in members
    assert members._slots.itemsize * len(members._slots) <= 32 * 100_000


def test_the_kubernetes_job_shards_the_list() -> None:
    """deploy/fetchall-job.yaml is a valid Indexed Job whose pods each take their shard."""
    job = yaml.safe_load((REPO / "deploy" / "fetchall-job.yaml").read_text())
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    shards = spec["completions"]
    assert spec["parallelism"] == shards
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    script = " ".join(container["args"])
    assert f'--shard "$JOB_COMPLETION_INDEX/{shards}"' in script
    assert '>> "/data/results-$JOB_COMPLETION_INDEX.jsonl"' in script
    assert script.startswith("exec fetchall --json")
    env = {item["name"]: item for item in container["env"]}
    assert (
        "job-completion-index" in env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    )
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/input", "/data"} <= mounts
    assert pod["securityContext"]["runAsNonRoot"] is True
