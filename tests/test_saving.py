"""Saving bodies: names, sanitising, collisions, atomic writes, --skip-existing, --sha256."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fetchall._bodies import BodyWriter, Saver
from fetchall._bodies.naming import (
    MAX_NAME_BYTES,
    Fold,
    folding,
    relative_parts,
    short_hash,
)
from tests.conftest import FETCHALL, invoke, jsonl, run_fetchall
from tests.server import TestServer

_UNSHARE_MOUNTS = ["unshare", "-m", "--propagation", "private"]
"""A mount namespace of its own, its mounts unseen outside."""


def h(text: str) -> str:
    return short_hash(text)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://example.com/a/b.txt", ["example.com", "a", "b.txt"]),
        ("https://example.com/", ["example.com", "index.html"]),
        ("https://example.com", ["example.com", "index.html"]),
        ("https://example.com/dir/", ["example.com", "dir", "index.html"]),
        ("http://example.com:8080/x.gz", ["example.com_8080", "x.gz"]),
        ("http://example.com:80/x.gz", ["example.com", "x.gz"]),
        ("https://Example.COM/x.gz", ["example.com", "x.gz"]),
        ("https://e.com/page.html?q=1", ["e.com", f"page_{h('q=1')}.html"]),
        ("https://e.com/?q=1", ["e.com", f"index_{h('q=1')}.html"]),
        ("https://e.com/caf%C3%A9.txt", ["e.com", "café.txt"]),
        ("https://e.com/café.txt", ["e.com", "café.txt"]),  # sent as caf%C3%A9.txt
        ("https://e.com/a%20b(1).txt", ["e.com", "a b(1).txt"]),
        # files and folders share names: a file without an extension, a folder with one,
        # and index.html asked for by name are suffixed (the hash of the path and query)
        ("http://e.com/x", ["e.com", f"x_{h('/x')}"]),
        ("http://e.com/x?q=1", ["e.com", f"x_{h('/x?q=1')}"]),
        ("http://e.com/a/b", ["e.com", "a", f"b_{h('/a/b')}"]),
        ("http://e.com/v1.2/x.json", ["e.com", f"v1.2_{h('/v1.2')}", "x.json"]),
        ("http://e.com/d/index.html", ["e.com", "d", f"index_{h('/d/index.html')}.html"]),
        # another spelling of a name, or a name that needed sanitising: suffixed
        ("https://e.com/caf%c3%a9.txt", ["e.com", f"café_{h('/caf%c3%a9.txt')}.txt"]),
        ("https://e.com/%61.txt", ["e.com", f"a_{h('/%61.txt')}.txt"]),
        ("https://e.com/a%28b%29.txt", ["e.com", f"a(b)_{h('/a%28b%29.txt')}.txt"]),
        ("https://e.com/100%.txt", ["e.com", f"100%_{h('/100%.txt')}.txt"]),
        ("https://e.com/p_q.txt", ["e.com", "p_q.txt"]),
        ("https://e.com/p%00q.txt", ["e.com", f"p_q_{h('/p%00q.txt')}.txt"]),
        ("https://e.com/s/p%00q/x.txt", ["e.com", "s", "p_q", f"x_{h('/s/p%00q/x.txt')}.txt"]),
        # hostile paths: nothing may climb out of the folder or hide
        (
            "https://e.com/../../etc/passwd",
            ["e.com", "__", "__", "etc", f"passwd_{h('/../../etc/passwd')}"],
        ),
        ("https://e.com/%2e%2e/%2E%2E/x", ["e.com", "__", "__", f"x_{h('/%2e%2e/%2E%2E/x')}"]),
        ("https://e.com/a%2fb%2F..%2fc", ["e.com", f"a_b_._{h('/a%2fb%2F..%2fc')}._c"]),
        ("https://e.com/a%5cb", ["e.com", f"a_b_{h('/a%5cb')}"]),
        ("https://e.com/./x/.", ["e.com", "_", "x", f"__{h('/./x/.')}"]),
        (
            "https://e.com//etc//passwd.txt",
            ["e.com", "etc", f"passwd_{h('//etc//passwd.txt')}.txt"],
        ),
        ("https://e.com/nul%00byte", ["e.com", f"nul_byte_{h('/nul%00byte')}"]),
        ("https://e.com/ctl%0a%0d%1b%7f", ["e.com", f"ctl_____{h('/ctl%0a%0d%1b%7f')}"]),
        ("https://e.com/bad%ff.txt", ["e.com", f"bad\ufffd_{h('/bad%ff.txt')}.txt"]),
    ],
)
def test_names_mirror_the_url_and_are_sanitised(url: str, parts: list[str]) -> None:
    """Table of URLs, friendly and hostile, and the path each is saved under."""
    assert relative_parts(url) == parts


@pytest.mark.parametrize(
    ("urls", "fold"),
    [
        (
            ["http://e.com/Read.me", "http://e.com/read.me", "http://e.com/READ.ME"],
            folding(True, False),
        ),
        (["http://e.com/caf%C3%A9.txt", "http://e.com/cafe%CC%81.txt"], folding(False, True)),
        (["http://e.com/A/x.txt", "http://e.com/a/x.txt"], folding(True, True)),
    ],
)
def test_names_a_file_system_would_confuse_are_told_apart(urls: list[str], fold: Fold) -> None:
    """Where the file system ignores case or Unicode normalisation, only the folded
    spelling keeps its plain name: no two URLs land in one file there either."""
    paths = {"/".join(fold(part) for part in relative_parts(url, fold)) for url in urls}
    assert len(paths) == len(urls)
    plain = [
        url for url in urls if relative_parts(url, fold)[-1] in {"read.me", "café.txt", "x.txt"}
    ]
    assert len(plain) == 1


def test_over_long_names_are_cut_and_keep_their_extension() -> None:
    """A component over 200 bytes is cut, made unique by a hash, extension kept."""
    long_name = "é" * 300 + ".tar.gz"
    (_, name) = relative_parts(f"https://e.com/{long_name}")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(".gz")
    other = relative_parts(f"https://e.com/{'é' * 301}.tar.gz")[1]
    assert other != name


def saved(server: TestServer, out: Path, *urls: str, extra: tuple[str, ...] = ()) -> list[dict]:
    stdin = "".join(server.url(url) + "\n" for url in urls)
    result = invoke("--json", "-c", "1", "-o", str(out), *extra, "-", stdin=stdin)
    return jsonl(result.stdout)


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_bodies_land_under_host_and_path(server: TestServer, tmp_path: Path) -> None:
    """-o DIR writes DIR/<host>_<port>/<path>; records give DIR as given joined with it."""
    out = tmp_path / "out"
    records = saved(server, out, "/bytes/300/b.bin", "/redirect/1/r.txt")
    top = f"127.0.0.1_{server.port}"
    assert files_under(out) == {f"{top}/bytes/300/b.bin", f"{top}/redirect/1/r.txt"}
    assert (out / top / "bytes" / "300" / "b.bin").read_bytes() == b"x" * 300
    paths = {record["path"] for record in records}
    assert paths == {f"{out}/{top}/bytes/300/b.bin", f"{out}/{top}/redirect/1/r.txt"}


def test_relative_output_dir_is_kept_relative_in_records(
    server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o out gives paths starting with out/."""
    monkeypatch.chdir(tmp_path)
    (record,) = saved(server, Path("out"), "/bytes/5/f.txt")
    assert record["path"] == f"out/127.0.0.1_{server.port}/bytes/5/f.txt"


def test_failures_leave_no_file_and_no_temporary(server: TestServer, tmp_path: Path) -> None:
    """404s, bodies cut short, resets and oversized bodies leave nothing behind."""
    out = tmp_path / "out"
    urls = ("/status/404", "/short", "/reset", "/endless", "/bytes/10/f.txt")
    records = saved(server, out, *urls, extra=("--max-size", "100K", "-r", "0"))
    assert sorted(r["ok"] for r in records) == [False, False, False, False, True]
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/10/f.txt"}
    assert not [path for path in out.rglob("*") if path.is_dir() and not any(path.iterdir())]


def test_cancelled_downloads_leave_no_temporary(server: TestServer, tmp_path: Path) -> None:
    """A body cancelled mid-stream (--fail-fast) leaves no file behind."""
    out = tmp_path / "out"
    stdin = f"{server.url('/drip')}\n{server.url('/status/404?delay=0.5')}\n"
    result = invoke("--json", "-c", "2", "-o", str(out), "--fail-fast", "-", stdin=stdin)
    kinds = sorted(r["error_kind"] for r in jsonl(result.stdout))
    assert kinds == ["cancelled", "http_status"]
    assert list(out.rglob("*.part")) == []
    assert files_under(out) == set()


COLLIDING = (
    "/bytes/7/p_q.txt",  # plain
    "/bytes/7/p%00q.txt",  # sanitised to p_q.txt
    "/bytes/7/p%5Fq.txt",  # another spelling of p_q.txt
    "/bytes/7/p_q.txt?v=1",  # a query
    "/bytes/3/a",  # a file named a, and a folder named a below
    "/bytes/3/a/b",
    "/bytes/3/a/b.txt",
    "/bytes/4/",  # index.html, and index.html by name
    "/bytes/4/index.html",
    "/bytes/5/v1.2",  # a file named v1.2, and a folder named v1.2
    "/bytes/5/v1.2/c.txt",
    "/bytes/6/A.txt",  # names differing in case
    "/bytes/6/a.txt",
)


def run_cli(server: TestServer, out: Path, urls: list[str], *extra: str) -> dict[str, dict]:
    stdin = "".join(server.url(url) + "\n" for url in urls).encode()
    done = run_fetchall("--json", "-c", "16", "-o", str(out), *extra, "-", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return {record["url"]: record for record in jsonl(done.stdout.decode())}


def test_each_url_has_its_own_path_whatever_the_order_or_timing(
    fresh_server: TestServer, tmp_path: Path
) -> None:
    """URLs whose names collide once sanitised, a file and a folder of one name, index.html
    twice: run in both orders, each time with a different one of them slow; every URL
    has its own file, the same path in both runs, holding its own body; then
    --skip-existing, in either order, skips every one and reports that URL's own path."""
    urls = list(COLLIDING)
    layouts = []
    for run, (order, slow) in enumerate([(urls, urls[0]), (urls[::-1], urls[1])]):
        fresh_server.delays = {slow.partition("?")[0]: 0.5}
        out = tmp_path / f"out{run}"
        records = run_cli(fresh_server, out, order)
        fresh_server.delays = {}
        paths = {url: Path(record["path"]) for url, record in records.items()}
        assert len(set(paths.values())) == len(urls)
        assert files_under(out) == {str(path.relative_to(out)) for path in paths.values()}
        for url, path in paths.items():
            size = int(urlsplit(url).path.split("/")[2])
            assert path.read_bytes() == b"x" * size, url
        layouts.append({url: path.relative_to(out) for url, path in paths.items()})
    assert layouts[0] == layouts[1]
    top = f"127.0.0.1_{fresh_server.port}"
    assert str(layouts[0][fresh_server.url("/bytes/7/p_q.txt")]) == f"{top}/bytes/7/p_q.txt"
    assert str(layouts[0][fresh_server.url("/bytes/4/")]) == f"{top}/bytes/4/index.html"
    assert str(layouts[0][fresh_server.url("/bytes/3/a/b.txt")]) == f"{top}/bytes/3/a/b.txt"

    fresh_server.reset_counts()
    for order in (urls, urls[::-1]):
        again = run_cli(fresh_server, tmp_path / "out0", order, "--skip-existing")
        assert {url: r["skipped"] for url, r in again.items()} == dict.fromkeys(again, True)
        assert {
            url: Path(r["path"]).relative_to(tmp_path / "out0") for url, r in again.items()
        } == layouts[0]
    assert sum(fresh_server.requests.values()) == 0


def test_skip_existing_fetches_a_url_whose_own_file_is_missing(
    fresh_server: TestServer, tmp_path: Path
) -> None:
    """A colliding URL's file removed: --skip-existing fetches that one only (another
    URL's file of the same plain name does not count)."""
    out = tmp_path / "out"
    urls = ["/bytes/7/p_q.txt", "/bytes/7/p%00q.txt", "/bytes/3/a", "/bytes/3/a/b"]
    first = run_cli(fresh_server, out, urls)
    for url in urls[1], urls[3]:
        os.unlink(first[fresh_server.url(url)]["path"])
    fresh_server.reset_counts()
    again = run_cli(fresh_server, out, urls, "--skip-existing")
    assert {url: r["skipped"] for url, r in again.items()} == {
        fresh_server.url(url): url not in (urls[1], urls[3]) for url in urls
    }
    assert {url: r["path"] for url, r in again.items()} == {u: r["path"] for u, r in first.items()}
    assert sorted(fresh_server.requests) == ["/bytes/3/a/b", "/bytes/7/p%00q.txt"]


def test_a_file_from_an_earlier_run_is_replaced(server: TestServer, tmp_path: Path) -> None:
    """Running again refreshes the same files rather than adding suffixed copies; so
    does the same URL twice in one run."""
    out = tmp_path / "out"
    saved(server, out, "/bytes/8/f.txt")
    saved(server, out, "/bytes/8/f.txt", "/bytes/8/f.txt")
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/8/f.txt"}


def test_skip_existing_does_not_fetch(fresh_server: TestServer, tmp_path: Path) -> None:
    """--skip-existing answers ok, skipped: true, with no request."""
    out = tmp_path / "out"
    saved(fresh_server, out, "/bytes/9/f.txt")
    (record,) = saved(fresh_server, out, "/bytes/9/f.txt", extra=("--skip-existing",))
    assert (record["ok"], record["skipped"], record["attempts"]) == (True, True, 0)
    assert record["path"].endswith("/bytes/9/f.txt")
    assert fresh_server.requests["/bytes/9/f.txt"] == 1


def test_skip_existing_needs_an_output_dir() -> None:
    """Without -o there is nothing to skip: a usage error."""
    assert invoke("--skip-existing", "-", stdin="x.test\n").exit_code == 2


def test_sha256_with_and_without_saving(server: TestServer, tmp_path: Path) -> None:
    """--sha256 gives the body's digest, saved or not; null when not asked."""
    expected = hashlib.sha256(b"x" * 1234).hexdigest()
    stdin = server.url("/bytes/1234") + "\n"
    plain = jsonl(invoke("--json", "--sha256", "-", stdin=stdin).stdout)[0]
    assert plain["sha256"] == expected
    assert plain["path"] is None
    with_file = saved(server, tmp_path / "o", "/bytes/1234", extra=("--sha256",))[0]
    assert with_file["sha256"] == expected
    assert jsonl(invoke("--json", "-", stdin=stdin).stdout)[0]["sha256"] is None


def test_a_write_failure_is_a_write_error_and_the_run_goes_on(
    server: TestServer, tmp_path: Path
) -> None:
    """A body the disk refuses (file size limit here) fails as write; others still save."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out = tmp_path / "out"
    stdin = f"{server.url('/bytes/100000/f.bin')}\n{server.url('/bytes/100/f.bin')}\n"
    result = subprocess.run(
        [FETCHALL, "--json", "-c", "1", "-o", str(out), "-"],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        preexec_fn=small_files,
        check=False,
    )
    records = {r["url"]: r for r in jsonl(result.stdout.decode())}
    big = records[server.url("/bytes/100000/f.bin")]
    assert (big["ok"], big["error_kind"], big["status"]) == (False, "write", 200)
    assert "File too large" in big["error"]
    assert records[server.url("/bytes/100/f.bin")]["ok"] is True
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/100/f.bin"}
    assert result.returncode == 1
    assert os.path.getsize(out / f"127.0.0.1_{server.port}" / "bytes/100/f.bin") == 100


def test_head_saves_nothing(server: TestServer, tmp_path: Path) -> None:
    """A HEAD request has no body to save."""
    (record,) = saved(server, tmp_path / "o", "/bytes/10", extra=("-X", "HEAD"))
    assert (record["ok"], record["path"]) == (True, None)


def test_output_dir_naming_a_file_is_not_a_directory(server: TestServer, tmp_path: Path) -> None:
    """-o naming an existing regular file is a usage error that says so (not "File exists")."""
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me\n")
    result = invoke("-o", str(taken), "-", stdin=server.url("/bytes/3") + "\n")
    assert result.exit_code == 2
    assert f"cannot use {taken}: not a directory" in result.stderr
    assert "File exists" not in result.stderr
    assert taken.read_text() == "keep me\n"


def test_remove_temporaries_removes_the_files_of_bodies_being_written(tmp_path: Path) -> None:
    """A run exiting at once (a second Ctrl-C) removes its temporary files: those of
    bodies being written, not those finished or already discarded."""
    saver = Saver(str(tmp_path / "out"))
    writing = [BodyWriter(saver, f"http://site.test/a{i}.txt", digest=False) for i in range(3)]
    for writer in writing:
        writer.write(b"part")
    writing[1].finish()
    writing[2].discard()
    assert len(list((tmp_path / "out").rglob(".fetchall-*.part"))) == 1
    saver.remove_temporaries()
    assert list((tmp_path / "out").rglob(".fetchall-*.part")) == []
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["a1.txt"]


def listing(folder: Path) -> set[str]:
    """Every path below ``folder``, folders included, symbolic links not followed."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def test_a_host_folder_linked_outside_creates_nothing_outside(
    server: TestServer, tmp_path: Path
) -> None:
    """A symbolic link in DIR leading outside it is refused as write before any folder is
    made: neither the place it leads to nor DIR gains anything (issue F4a)."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "kept.txt").write_text("mine\n")
    top = f"127.0.0.1_{server.port}"
    (out / top).symlink_to(outside)
    deep = "/".join(f"d{i}" for i in range(20))
    before_outside, before_out = listing(outside), listing(out)
    (record,) = saved(server, out, f"/bytes/5/sub/{deep}/f.txt")
    assert (record["ok"], record["error_kind"]) == (False, "write")
    assert record["error"] == (
        f"cannot write the body: {out}/{top} leads outside {out} (a symbolic link)"
    )
    assert listing(outside) == before_outside
    assert listing(out) == before_out


def test_a_link_deeper_down_leading_outside_is_refused_and_its_folders_removed(
    server: TestServer, tmp_path: Path
) -> None:
    """A link found below folders the save made: refused, and those folders removed."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    top = out / f"127.0.0.1_{server.port}"
    (top / "bytes").mkdir(parents=True)
    outside.mkdir()
    (top / "bytes" / "5").symlink_to(outside)
    before = listing(out)
    (record,) = saved(server, out, "/bytes/5/a/b.txt", "/bytes/6/x/y.txt")[:1]
    assert record["error_kind"] == "write"
    assert listing(outside) == set()
    assert listing(out) == before | {
        f"127.0.0.1_{server.port}/bytes/6",
        f"127.0.0.1_{server.port}/bytes/6/x",
        f"127.0.0.1_{server.port}/bytes/6/x/y.txt",
    }


def test_a_link_inside_dir_leading_inside_dir_is_followed(
    server: TestServer, tmp_path: Path
) -> None:
    """A symbolic link inside DIR whose target lies inside DIR is followed; the record
    gives the path through the link, and --skip-existing finds the file through it."""
    out = tmp_path / "out"
    out.mkdir()
    top = f"127.0.0.1_{server.port}"
    (out / top).symlink_to("mirror")  # not there yet: made inside DIR
    (record,) = saved(server, out, "/bytes/5/a/b.txt")
    assert (record["ok"], record["path"]) == (True, f"{out}/{top}/bytes/5/a/b.txt")
    assert (out / "mirror" / "bytes" / "5" / "a" / "b.txt").read_bytes() == b"xxxxx"
    (again,) = saved(server, out, "/bytes/5/a/b.txt", extra=("--skip-existing",))
    assert again["skipped"] is True


def test_a_path_over_path_max_leaves_dir_as_it_was(server: TestServer, tmp_path: Path) -> None:
    """A URL whose file would have a path over PATH_MAX fails as write before any folder
    is made (issue F4b)."""
    out = tmp_path / "out"
    (out / "earlier").mkdir(parents=True)
    deep = "/".join("d" * 150 + str(i) for i in range(40))
    (record,) = saved(server, out, f"/bytes/5/{deep}/f.txt")
    assert (record["ok"], record["error_kind"]) == (False, "write")
    assert record["error"].endswith("f.txt: File name too long (over 4096 bytes)")
    assert listing(out) == {"earlier"}


def test_a_failure_deeper_down_removes_the_folders_the_run_made(
    server: TestServer, tmp_path: Path
) -> None:
    """A folder that cannot be made below others the run just made (a full disk here, no
    inodes left on a small tmpfs) fails as write and removes those others (issue F4b);
    a folder that was there before stays."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = (
        'mount -t tmpfs -o size=1m,nr_inodes=8 tmpfs "$1" || exit 77\n'
        'mkdir -p "$1/out/before"\n'
        '"$2" --json -o "$1/out" "$3"\n'
        'echo "--"; cd "$1/out" && find . | sort'
    )
    urls = tmp_path / "urls.txt"
    urls.write_text(server.url("/bytes/5/a/b/c/d/e/f/g/h.txt") + "\n")
    result = subprocess.run(
        [*_UNSHARE_MOUNTS, "sh", "-c", script, "sh", str(mount), FETCHALL, str(urls)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    records, _, found = result.stdout.partition("--\n")
    (record,) = jsonl(records)
    assert (record["ok"], record["error_kind"]) == (False, "write")
    assert "No space left on device" in record["error"]
    assert found.split() == [".", "./before"]


def test_a_failure_keeps_the_new_folder_another_body_is_writing_into(
    server: TestServer, tmp_path: Path
) -> None:
    """Two bodies in one new folder: the one that made it fails (too slow) while the other
    is being written there; the folder stays and the other's file is saved (issue F4b)."""
    out = tmp_path / "out"
    failing = server.url("/steady/600/new/slow.bin?rate=20")  # makes the folder first
    saving = server.url("/steady/600/new/fast.bin?rate=200&delay=0.3")  # 0.3 s to 3.3 s
    speed = ("--speed-limit", "100", "--speed-time", "1")
    result = invoke(
        "--json", "-c", "2", *speed, "-r", "0", "-o", str(out), "-", stdin=f"{failing}\n{saving}\n"
    )
    records = {r["url"]: r for r in jsonl(result.stdout)}
    assert records[failing]["error_kind"] == "timeout"
    assert records[saving]["ok"] is True
    folder = out / f"127.0.0.1_{server.port}" / "steady" / "600" / "new"
    (kept,) = folder.iterdir()
    assert kept.name.startswith("fast_")
    assert kept.read_bytes() == b"s" * 600


def test_the_last_failure_in_a_shared_new_folder_removes_it(tmp_path: Path) -> None:
    """Bodies sharing folders the run made: each failure leaves the folders another body
    is writing into, and the last one removes them all, including those the other made."""
    saver = Saver(str(tmp_path / "out"))
    first = BodyWriter(saver, "http://site.test/x/a/1.txt", digest=False)
    first.write(b"1")  # makes x and x/a
    second = BodyWriter(saver, "http://site.test/x/b/2.txt", digest=False)
    second.write(b"2")  # makes x/b only
    first.discard()
    assert listing(tmp_path / "out") >= {"site.test/x", "site.test/x/b"}
    assert "site.test/x/a" not in listing(tmp_path / "out")
    second.discard()
    assert listing(tmp_path / "out") == set()


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_sha256_is_null_for_a_response_without_content(server: TestServer, transport: str) -> None:
    """--sha256 of a response that has no content by its nature (RFC 9110 §6.4.1: to HEAD,
    204, 304) is null, not the hash of nothing; an empty 200 body has its hash."""
    empty = hashlib.sha256(b"").hexdigest()
    args = ("--json", "--sha256", "--transport", transport, "-c", "1")
    head = jsonl(invoke(*args, "-X", "HEAD", "-", stdin=server.url("/bytes/5") + "\n").stdout)
    assert (head[0]["ok"], head[0]["status"], head[0]["sha256"]) == (True, 200, None)
    stdin = "".join(server.url(path) + "\n" for path in ("/status/204", "/status/304", "/bytes/0"))
    results = jsonl(invoke(*args, "-", stdin=stdin).stdout)
    records = {r["url"].rsplit("/", 2)[-1]: r for r in results}
    assert records["204"]["sha256"] is None
    assert records["304"]["sha256"] is None
    assert (records["0"]["ok"], records["0"]["sha256"]) == (True, empty)
