"""People's output never shows a password given inside a URL (issue 12, point 8): the
summary, the live display's rows and failure lines, and error messages show
``user:***@``; records keep ``url`` as given (``--resume`` needs it)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fetchall._targets import masked
from tests.conftest import jsonl, run_fetchall
from tests.server import TestServer

SECRET = "s3cr3t-pw"
TARGET_SECRET = ":t4rget-pw@"
"""The password of a redirect's target, as a URL writes it (the line carries it only
percent-encoded, in its query)."""


def _lines(server: TestServer) -> list[str]:
    with_password = server.url("").replace("http://", f"http://user:{SECRET}@")
    refused = quote(f"ftp://user{TARGET_SECRET}127.0.0.1:2121/file", safe="")
    return [
        f"{with_password}/bytes/10?delay=0.3",  # slowest, and a row of the live display
        f"{with_password}/status/404",  # a failure
        f"{with_password}/to?location={refused}",  # a refused redirect, named in the error
        f"ftp://user:{SECRET}@example.test/x",  # an invalid line
        f"user:{SECRET}@[::1/",  # no scheme, unparsable
    ]


@pytest.mark.parametrize("record_format", ["jsonl", "text"])
def test_no_password_reaches_peoples_output(
    server: TestServer, tmp_path, record_format: str
) -> None:
    """stderr (summary, live display with its failure lines) and the error messages never
    show the password; jsonl records keep the url as given."""
    path = tmp_path / "urls.txt"
    lines = _lines(server)
    path.write_text("\n".join(lines) + "\n")
    result = run_fetchall("--progress", "--format", record_format, str(path))
    stderr, stdout = result.stderr.decode(), result.stdout.decode()
    assert result.returncode == 1
    assert SECRET not in stderr
    assert TARGET_SECRET not in stderr
    assert "user:***@" in stderr
    assert "first failures" in stderr
    if record_format == "jsonl":
        records = jsonl(stdout)
        assert sorted(record["url"] for record in records) == sorted(lines)
        for record in records:
            assert SECRET not in (record["error"] or "")
            assert TARGET_SECRET not in (record["error"] or "")
        (refused,) = [r for r in records if "/to?" in r["url"]]
        assert "redirect to ftp://user:***@127.0.0.1:2121/file refused" in refused["error"]
    else:
        for line in stdout.splitlines():
            url, _, error = line.partition("  [")
            assert SECRET not in error
            assert TARGET_SECRET not in error
            assert SECRET in url


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:pw@host/p", "http://user:***@host/p"),
        ("http://user:p@ss@host/p?q=a:b@c", "http://user:***@host/p?q=a:b@c"),
        ("user:pw@host/p", "user:***@host/p"),
        ("redirect to https://u:pw@h:1/ refused", "redirect to https://u:***@h:1/ refused"),
        ("http://user@host/", "http://user@host/"),
        ("http://host/a:b@c", "http://host/a:b@c"),
        ("http://:pw@host/", "http://:***@host/"),
    ],
)
def test_masked_hides_the_password_only(text: str, shown: str) -> None:
    """The password, up to the authority's last @, becomes ***; a user name alone, and
    an @ in the path or query, stay."""
    assert masked(text) == shown
