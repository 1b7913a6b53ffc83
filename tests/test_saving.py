"""Saving bodies: names, sanitising, collisions, atomic writes, --skip-existing, --sha256."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
from pathlib import Path

import pytest

from fetchall._bodies import BodyWriter, Saver
from fetchall._bodies.naming import MAX_NAME_BYTES, relative_parts, short_hash, with_suffix
from tests.conftest import FETCHALL, invoke, jsonl
from tests.server import TestServer


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://example.com/a/b.txt", ["example.com", "a", "b.txt"]),
        ("https://example.com/", ["example.com", "index.html"]),
        ("https://example.com", ["example.com", "index.html"]),
        ("https://example.com/dir/", ["example.com", "dir", "index.html"]),
        ("http://example.com:8080/x", ["example.com_8080", "x"]),
        ("http://example.com:80/x", ["example.com", "x"]),
        ("https://Example.COM/x", ["example.com", "x"]),
        ("https://e.com/page.html?q=1", ["e.com", f"page_{short_hash('q=1')}.html"]),
        ("https://e.com/?q=1", ["e.com", f"index_{short_hash('q=1')}.html"]),
        # hostile paths: nothing may climb out of the folder or hide
        ("https://e.com/../../etc/passwd", ["e.com", "__", "__", "etc", "passwd"]),
        ("https://e.com/%2e%2e/%2E%2E/x", ["e.com", "__", "__", "x"]),
        ("https://e.com/a%2fb%2F..%2fc", ["e.com", "a_b_.._c"]),
        ("https://e.com/a%5cb", ["e.com", "a_b"]),
        ("https://e.com/./x/.", ["e.com", "_", "x", "_"]),
        ("https://e.com//etc//passwd", ["e.com", "etc", "passwd"]),
        ("https://e.com/nul%00byte", ["e.com", "nul_byte"]),
        ("https://e.com/ctl%0a%0d%1b%7f", ["e.com", "ctl____"]),
        ("https://e.com/caf%C3%A9", ["e.com", "café"]),
        ("https://e.com/bad%ff", ["e.com", "bad\ufffd"]),
    ],
)
def test_names_mirror_the_url_and_are_sanitised(url: str, parts: list[str]) -> None:
    """Table of URLs, friendly and hostile, and the path each is saved under."""
    assert relative_parts(url) == parts


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
    records = saved(server, out, "/bytes/300", "/redirect/1")
    top = f"127.0.0.1_{server.port}"
    assert files_under(out) == {f"{top}/bytes/300", f"{top}/redirect/1"}
    assert (out / top / "bytes" / "300").read_bytes() == b"x" * 300
    paths = {record["path"] for record in records}
    assert paths == {f"{out}/{top}/bytes/300", f"{out}/{top}/redirect/1"}


def test_relative_output_dir_is_kept_relative_in_records(
    server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o out gives paths starting with out/."""
    monkeypatch.chdir(tmp_path)
    (record,) = saved(server, Path("out"), "/bytes/5")
    assert record["path"] == f"out/127.0.0.1_{server.port}/bytes/5"


def test_failures_leave_no_file_and_no_temporary(server: TestServer, tmp_path: Path) -> None:
    """404s, bodies cut short, resets and oversized bodies leave nothing behind."""
    out = tmp_path / "out"
    urls = ("/status/404", "/short", "/reset", "/endless", "/bytes/10")
    records = saved(server, out, *urls, extra=("--max-size", "100K", "-r", "0"))
    assert sorted(r["ok"] for r in records) == [False, False, False, False, True]
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/10"}
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


def test_two_urls_with_one_name_do_not_overwrite(server: TestServer, tmp_path: Path) -> None:
    """/bytes_7 and /bytes%2F7 both sanitise to bytes_7: the second gets its URL's hash."""
    out = tmp_path / "out"
    records = saved(server, out, "/bytes_7", "/bytes%2F7")
    paths = {r["url"]: Path(r["path"]) for r in records}
    assert paths[server.url("/bytes_7")].name == "bytes_7"
    second = server.url("/bytes%2F7")
    assert paths[second].name == with_suffix("bytes_7", short_hash(second))
    assert all(path.read_bytes() == b"x" * 7 for path in paths.values())


def test_a_file_and_a_folder_of_the_same_name_both_survive(
    server: TestServer, tmp_path: Path
) -> None:
    """/chunked/5 saved as a file, then /chunked/5/6 needs that name as a folder."""
    out = tmp_path / "out"
    records = saved(server, out, "/chunked/5", "/chunked/5/6")
    by_url = {r["url"]: r for r in records}
    first = by_url[server.url("/chunked/5")]
    assert Path(first["path"]).read_bytes() == b"c" * 5
    second = by_url[server.url("/chunked/5/6")]
    assert second["ok"] is True
    folder = with_suffix("5", short_hash(f"127.0.0.1_{server.port}/chunked/5"))
    assert Path(second["path"]).parent.name == folder
    assert Path(second["path"]).read_bytes() == b"c" * 5


def test_a_folder_then_a_file_of_the_same_name(server: TestServer, tmp_path: Path) -> None:
    """A file whose name is already a folder gets its URL's hash as a suffix."""
    out = tmp_path / "out"
    top = out / f"127.0.0.1_{server.port}" / "bytes" / "40"
    top.mkdir(parents=True)
    (record,) = saved(server, out, "/bytes/40")
    assert record["ok"] is True
    assert Path(record["path"]).name == with_suffix("40", short_hash(server.url("/bytes/40")))
    assert top.is_dir()


def test_a_file_from_an_earlier_run_is_replaced(server: TestServer, tmp_path: Path) -> None:
    """Running again refreshes the same files rather than adding suffixed copies."""
    out = tmp_path / "out"
    saved(server, out, "/bytes/8")
    saved(server, out, "/bytes/8")
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/8"}


def test_skip_existing_does_not_fetch(fresh_server: TestServer, tmp_path: Path) -> None:
    """--skip-existing answers ok, skipped: true, with no request."""
    out = tmp_path / "out"
    saved(fresh_server, out, "/bytes/9")
    (record,) = saved(fresh_server, out, "/bytes/9", extra=("--skip-existing",))
    assert (record["ok"], record["skipped"], record["attempts"]) == (True, True, 0)
    assert record["path"].endswith("/bytes/9")
    assert fresh_server.requests["/bytes/9"] == 1


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
    stdin = f"{server.url('/bytes/100000')}\n{server.url('/bytes/100')}\n"
    result = subprocess.run(
        [FETCHALL, "--json", "-c", "1", "-o", str(out), "-"],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        preexec_fn=small_files,
        check=False,
    )
    records = {r["url"]: r for r in jsonl(result.stdout.decode())}
    big = records[server.url("/bytes/100000")]
    assert (big["ok"], big["error_kind"], big["status"]) == (False, "write", 200)
    assert "File too large" in big["error"]
    assert records[server.url("/bytes/100")]["ok"] is True
    assert files_under(out) == {f"127.0.0.1_{server.port}/bytes/100"}
    assert result.returncode == 1
    assert os.path.getsize(out / f"127.0.0.1_{server.port}" / "bytes" / "100") == 100


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
    writing = [BodyWriter(saver, f"http://site.test/a{i}", digest=False) for i in range(3)]
    for writer in writing:
        writer.write(b"part")
    writing[1].finish()
    writing[2].discard()
    assert len(list((tmp_path / "out").rglob(".fetchall-*.part"))) == 1
    saver.remove_temporaries()
    assert list((tmp_path / "out").rglob(".fetchall-*.part")) == []
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["a1"]
