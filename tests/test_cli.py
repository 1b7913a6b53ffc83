"""The command line through typer's CliRunner: options, formats, exit codes."""

from __future__ import annotations

import csv
import hashlib
import io
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest

from fetchall import __version__
from fetchall.cli.records import FIELDS
from tests.conftest import FETCHALL, invoke, jsonl, run_fetchall
from tests.server import TestServer


def test_jsonl_records_carry_every_field(server: TestServer, url_file) -> None:
    """Each record has exactly the documented fields, with the documented values."""
    path = url_file(server.url("/bytes/321"))
    result = invoke("--json", str(path))
    assert result.exit_code == 0
    (record,) = jsonl(result.stdout)
    assert list(record) == list(FIELDS)
    assert record["url"] == server.url("/bytes/321")
    assert record["final_url"] == server.url("/bytes/321")
    assert record["ok"] is True
    assert record["status"] == 200
    assert record["bytes"] == 321
    assert isinstance(record["elapsed"], float)
    assert record["content_type"] == "text/plain"
    assert record["error_kind"] is None
    assert record["error"] is None
    assert record["source"] == f"{path}:1"


def test_failures_exit_1_and_keep_status_and_bytes(server: TestServer, url_file) -> None:
    """A 404 is a failed record with its status and bytes, and the run exits 1."""
    result = invoke("--format", "jsonl", str(url_file(server.url("/status/404"))))
    assert result.exit_code == 1
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["status"], record["error_kind"]) == (False, 404, "http_status")
    assert record["bytes"] == len(b"status 404\n")
    assert record["error"] == "HTTP 404 Not Found"


def test_invalid_lines_are_records_not_crashes(url_file) -> None:
    """Bad lines give invalid_url records with their line numbers; no request is needed."""
    path = url_file("# header", "", "ftp://example.com/", "http://[::1")
    result = invoke("--json", str(path))
    assert result.exit_code == 1
    records = jsonl(result.stdout)
    assert [(r["source"], r["error_kind"], r["status"]) for r in records] == [
        (f"{path}:3", "invalid_url", None),
        (f"{path}:4", "invalid_url", None),
    ]
    assert all(r["final_url"] is None for r in records)


def test_lines_that_cannot_name_a_host_are_invalid_not_looked_up(url_file) -> None:
    """Spreadsheet debris and other schemes are invalid_url records saying why, never a
    name lookup (a ``dns`` record for host ``=cmd|x``, ``b`` or ``http``)."""
    lines = ["=cmd|x", '"quoted",', "+1,2", "mailto:a@b", "http:/host/x"]
    result = invoke("--json", str(url_file(*lines)))
    assert result.exit_code == 1
    assert [(r["url"], r["error_kind"], r["error"]) for r in jsonl(result.stdout)] == [
        ("=cmd|x", "invalid_url", "host '=cmd|x' is not a valid host name: " + _BAD_LABEL),
        ('"quoted",', "invalid_url", "host '\"quoted\",' is not a valid host name: " + _BAD_LABEL),
        ("+1,2", "invalid_url", "host '+1,2' is not a valid host name: " + _BAD_LABEL),
        (
            "mailto:a@b",
            "invalid_url",
            "unsupported scheme 'mailto': only http and https are fetched",
        ),
        ("http:/host/x", "invalid_url", "'http:/' is missing a slash: write 'http://'"),
    ]


_BAD_LABEL = "a label that is not 1-63 letters, digits, '-' or '_'"


def test_non_utf8_input_line_is_an_invalid_record(tmp_path: Path) -> None:
    """A line that is not UTF-8 is reported, and the next line is still read."""
    path = tmp_path / "bytes.txt"
    path.write_bytes(b"http://caf\xe9.test/\nftp://x/\n")
    result = invoke("--json", str(path))
    assert result.exit_code == 1
    records = jsonl(result.stdout)
    assert [r["error"] for r in records] == [
        "line is not valid UTF-8",
        "unsupported scheme 'ftp': only http and https are fetched",
    ]


def test_text_format_is_one_aligned_line_per_url(server: TestServer, url_file) -> None:
    """Text lines show status, exact bytes, seconds, URL and any error, without colour."""
    ok_url, missing_url = server.url("/bytes/12345"), server.url("/status/404")
    result = invoke(str(url_file(ok_url, missing_url, "ftp://x/")))
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert "\x1b[" not in result.stdout
    by_url = {line.split()[3]: line.split() for line in lines}
    assert by_url[ok_url][:2] == ["200", "12345"]
    assert by_url[ok_url][2].endswith("s")
    assert by_url[missing_url][:2] == ["404", "11"]
    assert by_url[missing_url][4:] == ["[http_status]", "HTTP", "404", "Not", "Found"]
    assert by_url["ftp://x/"][:2] == ["---", "0"]


def test_text_columns_line_up(server: TestServer, url_file) -> None:
    """The URL starts in the same column on every line."""
    urls = [server.url("/bytes/1"), server.url("/bytes/100000"), server.url("/status/500")]
    result = invoke(str(url_file(*urls)))
    starts = {line.index("http://") for line in result.stdout.splitlines()}
    assert len(starts) == 1


def test_text_records_say_what_happened(server: TestServer, url_file, tmp_path: Path) -> None:
    """Retries, the saved path, the start of the SHA-256 and a skipped line show in text,
    with the URL still in one column."""
    key = uuid.uuid4().hex
    flaky = server.url(f"/flaky?key={key}&times=2&status=503&retry_after=0")
    saved = server.url("/bytes/5/f.txt")
    out = tmp_path / "out"
    first = invoke("-o", str(out), "--sha256", str(url_file(flaky, saved)))
    lines = {line.split()[3]: line for line in first.stdout.splitlines()}
    assert "(3 attempts)" in lines[flaky]
    path = out / f"127.0.0.1_{server.port}" / "bytes" / "5" / "f.txt"
    digest = hashlib.sha256(b"x" * 5).hexdigest()
    assert lines[saved].endswith(f"→ {path}  sha256 {digest[:12]}")
    again = invoke("-o", str(out), "--skip-existing", str(url_file(saved)))
    (skipped,) = again.stdout.splitlines()
    assert skipped.split()[:2] == ["skip", "0"]
    assert skipped.endswith(f"→ {path}")
    assert len({line.index("http://") for line in [*lines.values(), skipped]}) == 1


def test_csv_has_a_header_and_neutralises_formulas(server: TestServer, url_file) -> None:
    """CSV starts with the field names; a cell a spreadsheet would run is defused."""
    path = url_file(server.url("/bytes/7"), "=HYPERLINK(1)", "@cmd", "+1", "-2")
    result = invoke("--format", "csv", str(path))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == ",".join(FIELDS)
    by_source = {row["source"]: row for row in rows}
    assert by_source[f"{path}:1"]["bytes"] == "7"
    assert by_source[f"{path}:1"]["ok"] == "true"
    for number, text in [(2, "=HYPERLINK(1)"), (3, "@cmd"), (4, "+1"), (5, "-2")]:
        row = by_source[f"{path}:{number}"]
        assert row["url"] == "'" + text
        assert row["ok"] == "false"


def test_summary_goes_to_stderr_only(server: TestServer, url_file) -> None:
    """stdout holds records only; the counts by kind and the bytes are on stderr."""
    path = url_file(server.url("/bytes/2048"), server.url("/status/404"), "ftp://x/")
    result = invoke("--json", str(path))
    assert len(jsonl(result.stdout)) == 3
    assert "1 ok, 2 failed" in result.stderr
    assert "http_status  1  33.3%" in result.stderr
    assert "invalid_url  1  33.3%" in result.stderr
    assert "\x1b[" not in result.stderr  # not a terminal: plain text
    assert "2,059 bytes" in result.stderr


@pytest.mark.parametrize(("fmt", "lines"), [("text", 1), ("jsonl", 1), ("csv", 2)])
def test_quiet_hides_the_chatter_never_the_records(
    server: TestServer, url_file, tmp_path: Path, fmt: str, lines: int
) -> None:
    """-q drops the summary and warnings, never the records, in every format (as curl -s
    and wget -q); an error is still said."""
    path = url_file(server.url("/bytes/3"))
    missing = tmp_path / "not-yet.jsonl"  # --resume on a missing file: a warning
    result = invoke("-q", "--format", fmt, "--resume", str(missing), str(path))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == lines
    assert "/bytes/3" in result.stdout
    assert result.stderr == ""
    failed = invoke("-q", str(tmp_path / "no-such-list.txt"))
    assert failed.exit_code == 2
    assert "cannot read" in failed.stderr


@pytest.mark.parametrize("fmt", ["csv", "text"])
def test_json_contradicting_format_is_a_usage_error(url_file, fmt: str) -> None:
    """--json with any --format but jsonl (or json) exits 2, naming both options."""
    result = invoke("--json", "--format", fmt, str(url_file("x.test")))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--json" in result.stderr
    assert f"--format {fmt}" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_json_agreeing_with_format_is_jsonl(server: TestServer, url_file, fmt: str) -> None:
    """--json with --format jsonl (or its other name json) writes JSON lines."""
    result = invoke("-q", "--json", "--format", fmt, str(url_file(server.url("/bytes/1"))))
    assert result.exit_code == 0
    assert jsonl(result.stdout)[0]["ok"] is True


def test_several_sources_are_read_in_order_with_stdin(server: TestServer, url_file) -> None:
    """Files and - are read in the order given; stdin lines are tagged -:N."""
    path = url_file(server.url("/bytes/1"))
    result = invoke("--json", "-c", "1", str(path), "-", stdin=f"\n{server.url('/bytes/2')}\n")
    assert [r["source"] for r in jsonl(result.stdout)] == [f"{path}:1", "-:2"]


def test_no_source_reads_stdin(server: TestServer) -> None:
    """Without SOURCE, piped stdin is read."""
    result = invoke("--json", stdin=server.url("/bytes/4") + "\n")
    assert result.exit_code == 0
    assert [r["bytes"] for r in jsonl(result.stdout)] == [4]


def test_unreadable_source_exits_2_and_fetches_nothing(
    fresh_server: TestServer, url_file, tmp_path
) -> None:
    """A missing SOURCE stops the run before any request, with a message on stderr."""
    good = url_file(fresh_server.url("/bytes/1"))
    missing = tmp_path / "missing.txt"
    result = invoke(str(good), str(missing))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"cannot read {missing}" in result.stderr
    assert fresh_server.requests["/bytes/1"] == 0


def test_a_directory_is_an_unreadable_source(tmp_path: Path) -> None:
    """A folder given as SOURCE is a clear error, exit 2."""
    result = invoke(str(tmp_path))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_duplicates_are_fetched_again(fresh_server: TestServer, url_file) -> None:
    """The same URL twice is two requests and two records."""
    url = fresh_server.url("/bytes/9")
    result = invoke("--json", str(url_file(url, url)))
    assert len(jsonl(result.stdout)) == 2
    assert fresh_server.requests["/bytes/9"] == 2


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_bad_concurrency_is_a_usage_error(value: str, url_file) -> None:
    """-c must be a positive integer."""
    result = invoke("-c", value, str(url_file("x.test")))
    assert result.exit_code == 2


def test_version() -> None:
    """--version prints the version and exits 0."""
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"fetchall {__version__}\n"


def test_help_lists_every_option() -> None:
    """--help names each option of the contract, and bracketed text survives rich markup."""
    result = invoke("--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "pip install 'fetchall[http2]'" in flat
    assert "pipx inject fetchall 'httpx[http2]'" in flat
    assert "[default: fetchall/" in flat
    for option in [
        "--concurrency",
        "--format",
        "--json",
        "--quiet",
        "--timeout",
        "--version",
        "SOURCE",
    ]:
        assert option in result.stdout


def test_concurrency_option_caps_requests_in_flight(fresh_server: TestServer, url_file) -> None:
    """-c 5 gives exactly five requests at once at the server."""
    urls = [fresh_server.url(f"/bytes/1?delay=0.15&i={i}") for i in range(25)]
    result = invoke("-q", "-c", "5", str(url_file(*urls)))
    assert result.exit_code == 0
    assert fresh_server.peak_in_flight == 5


def test_default_concurrency_is_16(fresh_server: TestServer, url_file) -> None:
    """Without -c, sixteen requests run at once."""
    urls = [fresh_server.url(f"/bytes/1?delay=0.2&i={i}") for i in range(40)]
    assert invoke("-q", str(url_file(*urls))).exit_code == 0
    assert fresh_server.peak_in_flight == 16


def test_up_to_ten_redirects_are_followed(server: TestServer, url_file) -> None:
    """Ten redirects arrive; eleven are too_many_redirects, keeping the last response's
    status and URL."""
    result = invoke("--json", str(url_file(server.url("/redirect/10"), server.url("/redirect/11"))))
    records = {r["url"]: r for r in jsonl(result.stdout)}
    arrived = records[server.url("/redirect/10")]
    assert (arrived["ok"], arrived["final_url"]) == (True, server.url("/redirect/0"))
    looped = records[server.url("/redirect/11")]
    assert looped["error_kind"] == "too_many_redirects"
    assert (looped["status"], looped["final_url"]) == (302, server.url("/redirect/1"))


def test_timeout_option_is_the_deadline(server: TestServer, url_file) -> None:
    """-t bounds a URL that never answers; the record says timeout."""
    result = invoke("--json", "-t", "0.5", str(url_file(server.url("/stall"))))
    (record,) = jsonl(result.stdout)
    assert record["error_kind"] == "timeout"
    assert 0.5 <= record["elapsed"] < 3
    assert result.exit_code == 1


@pytest.mark.parametrize(
    "args", [("-t", "nan"), ("--connect-timeout", "nan"), ("--rate", "nan"), ("-t", "-3")]
)
def test_bad_numbers_are_usage_errors_not_internal_errors(args: tuple[str, str], url_file) -> None:
    """A number out of range stops the run with exit 2 and names the option."""
    result = invoke(*args, str(url_file("x.test")))
    assert result.exit_code == 2
    assert args[0] in result.stderr
    assert "internal error" not in result.stderr


def test_help_shows_usage_examples_and_exit_statuses() -> None:
    """The usage line says several SOURCEs may be given; examples and every exit status
    (from the enum) are in the help."""
    from fetchall.cli.status import ExitStatus

    result = invoke("--help")
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "Usage: fetchall [OPTIONS] [SOURCE]..." in flat
    assert "Examples" in flat
    assert "fetchall -c 64 --per-host 4 urls.txt" in flat
    for status in ExitStatus:
        assert f"{status.value} {status.meaning}" in flat


def test_format_json_is_jsonl(server: TestServer, url_file) -> None:
    """--format json, as projectdiscovery's httpx users type it, writes JSON lines."""
    result = invoke("--format", "json", str(url_file(server.url("/bytes/3"))))
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["bytes"]) == (True, 3)


def test_shell_completion_is_offered() -> None:
    """typer's completion: --show-completion prints a script for the shell named."""
    result = run_fetchall("--show-completion", "bash")
    assert result.returncode == 0
    assert b"_fetchall_completion" in result.stdout


def test_the_summary_has_no_trailing_spaces_off_a_terminal(server: TestServer, url_file) -> None:
    """Off a terminal (a file, a pipe, CI logs) no summary line ends in spaces; rich pads
    its table rows to the width."""
    result = run_fetchall(
        "-c", "2", str(url_file(server.url("/bytes/3"), server.url("/status/404")))
    )
    summary = result.stderr.decode()
    assert summary.startswith("done: 2 URLs"), summary
    assert "slowest" in summary
    assert [line for line in summary.splitlines() if line != line.rstrip()] == []


@pytest.mark.parametrize(
    "source",
    [
        "https://example.com/",
        "http://x/?a=1&b=2",
        "example.com:8080/page",
        "127.0.0.1:18765",
        "127.0.0.1",
        "example.com/x",
        "www.example.com",
        "[::1]:8080/x",
    ],
)
def test_a_url_given_as_source_gets_a_hint(source: str, tmp_path: Path) -> None:
    """SOURCE is a list file; one that does not exist and looks like a URL gets a hint on
    how to fetch one URL; the exit status stays 2 and nothing is fetched."""
    result = subprocess.run(
        [FETCHALL, source], capture_output=True, cwd=tmp_path, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stdout == b""
    quoted = shlex.quote(source)
    assert result.stderr.decode() == (
        f"fetchall: cannot read {source}: No such file or directory "
        f"(SOURCE is a file of URLs; for one URL: echo {quoted} | fetchall -)\n"
    )


@pytest.mark.parametrize("source", ["urls.txt", "lists/a.txt", "list.d/urls.txt", "a.b"])
def test_a_missing_list_file_gets_no_url_hint(source: str, tmp_path: Path) -> None:
    """A missing SOURCE that does not look like a URL (a file's name, a path under a
    folder that exists): the plain message."""
    (tmp_path / "list.d").mkdir()
    result = subprocess.run(
        [FETCHALL, source], capture_output=True, cwd=tmp_path, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr == f"fetchall: cannot read {source}: No such file or directory\n".encode()
