"""Request bodies and redirects on the wire, and the record fields that say where a
redirect pointed, how many were followed and the declared length: through the CLI, on
both transports, against the real local server (which keeps every request it got)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import jsonl
from tests.server import TestServer

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True, params=["fast", "httpx"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on fetchall's transport and on httpx's own."""

    def invoke_with(*args: str, stdin: str | bytes = b""):
        return conftest.invoke("--transport", request.param, *args, stdin=stdin)

    monkeypatch.setattr(sys.modules[__name__], "invoke", invoke_with)
    return str(request.param)


def invoke(*args: str, stdin: str | bytes = b""):
    raise AssertionError("replaced by the transport fixture")


def one_record(*args: str, url: str) -> dict:
    (record,) = jsonl(invoke("--json", *args, "-", stdin=url + "\n").stdout)
    return record


def received(server: TestServer, path: str) -> list[tuple[str, dict[str, str], bytes]]:
    """The method, headers (names lower-cased) and body of each request for ``path``."""
    return [
        (method, {name.lower(): value for name, value in headers.items()}, body)
        for method, got, headers, body in server.exchanges
        if got == path
    ]


# --- bodies ---


def test_data_is_posted_as_a_form(fresh_server: TestServer) -> None:
    """-d implies POST and sends the text as given, with curl's form Content-Type."""
    record = one_record("-d", "a=1&b=two words", url=fresh_server.url("/echo"))
    assert record["ok"]
    ((method, headers, body),) = received(fresh_server, "/echo")
    assert method == "POST"
    assert body == b"a=1&b=two words"
    assert headers["content-type"] == FORM
    assert headers["content-length"] == str(len(body))


def test_repeated_data_is_joined_with_ampersands(fresh_server: TestServer) -> None:
    """-d a -d b sends a&b, as curl does."""
    one_record("-d", "a=1", "-d", "b=2", url=fresh_server.url("/echo"))
    ((_, _, body),) = received(fresh_server, "/echo")
    assert body == b"a=1&b=2"


def test_a_header_overrides_the_content_type(fresh_server: TestServer) -> None:
    """-H Content-Type (in any case) replaces the form type: one Content-Type is sent."""
    one_record("-H", "content-type: application/json", "-d", "{}", url=fresh_server.url("/echo"))
    ((_, headers, body),) = received(fresh_server, "/echo")
    assert (headers["content-type"], body) == ("application/json", b"{}")
    (*_, (_, _, raw, _)) = fresh_server.exchanges
    assert [name.lower() for name in raw].count("content-type") == 1


def test_a_header_replaces_a_default_whatever_its_case(fresh_server: TestServer) -> None:
    """-H 'user-agent: …' replaces fetchall's User-Agent: one field is sent, not two."""
    one_record("-H", "user-agent: mine/1.0", url=fresh_server.url("/echo"))
    (*_, (_, _, raw, _)) = fresh_server.exchanges
    assert [value for name, value in raw.items() if name.lower() == "user-agent"] == ["mine/1.0"]


def test_data_binary_sends_the_file_exactly(fresh_server: TestServer, tmp_path: Path) -> None:
    """--data-binary @FILE sends every byte: NULs, CRLFs, invalid UTF-8."""
    payload = b"\x00one\r\ntwo\n\xff\xfe\r\n\x00"
    path = tmp_path / "body.bin"
    path.write_bytes(payload)
    one_record("--data-binary", f"@{path}", url=fresh_server.url("/echo"))
    ((method, headers, body),) = received(fresh_server, "/echo")
    assert (method, body) == ("POST", payload)
    assert headers["content-length"] == str(len(payload))


def test_data_from_a_file_loses_its_line_breaks(fresh_server: TestServer, tmp_path: Path) -> None:
    """-d @FILE reads the file without CR and LF, as curl does."""
    path = tmp_path / "form.txt"
    path.write_bytes(b"a=1\r\n&b=2\n")
    one_record("-d", f"@{path}", url=fresh_server.url("/echo"))
    ((_, _, body),) = received(fresh_server, "/echo")
    assert body == b"a=1&b=2"


def test_an_explicit_method_keeps_the_body(fresh_server: TestServer) -> None:
    """-X PUT with -d sends a PUT carrying the body."""
    one_record("-X", "PUT", "-d", "x=1", url=fresh_server.url("/echo"))
    ((method, headers, body),) = received(fresh_server, "/echo")
    assert (method, body, headers["content-type"]) == ("PUT", b"x=1", FORM)


def test_a_retry_sends_the_body_again(fresh_server: TestServer) -> None:
    """503 then 200: both attempts carry the same body."""
    url = fresh_server.url(f"/flaky?key={uuid.uuid4().hex}&times=1&status=503&retry_after=0")
    record = one_record("-d", "again=1", url=url)
    assert (record["ok"], record["attempts"]) == (True, 2)
    bodies = [(method, body) for method, _, body in received(fresh_server, "/flaky")]
    assert bodies == [("POST", b"again=1"), ("POST", b"again=1")]


# --- redirects after a body ---


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_turns_post_into_get_drops_the_body(
    fresh_server: TestServer, status: int
) -> None:
    """After a POST, 301, 302 and 303 are followed with a GET without the body, its
    Content-Type or its Content-Length."""
    record = one_record("-d", "secret=1", url=fresh_server.url(f"/goto/{status}"))
    assert (record["ok"], record["redirects"]) == (True, 1)
    ((method, _, body),) = received(fresh_server, f"/goto/{status}")
    assert (method, body) == ("POST", b"secret=1")
    ((method, headers, body),) = received(fresh_server, "/echo")
    assert (method, body) == ("GET", b"")
    assert "content-type" not in headers
    assert "content-length" not in headers


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_the_method_and_the_body(fresh_server: TestServer, status: int) -> None:
    """307 and 308 repeat the POST with its body and Content-Type."""
    one_record("-d", "keep=1", url=fresh_server.url(f"/goto/{status}"))
    ((method, headers, body),) = received(fresh_server, "/echo")
    assert (method, body) == ("POST", b"keep=1")
    assert (headers["content-type"], headers["content-length"]) == (FORM, "6")


def test_302_keeps_a_put_and_303_turns_it_into_get(fresh_server: TestServer) -> None:
    """Only POST becomes GET after a 302 (as curl and the Fetch standard say); a 303
    turns any method but HEAD into GET."""
    one_record("-X", "PUT", "-d", "v=1", url=fresh_server.url("/goto/302"))
    one_record("-X", "PUT", "-d", "v=1", url=fresh_server.url("/goto/303"))
    sent = [(method, body) for method, _, body in received(fresh_server, "/echo")]
    assert sent == [("PUT", b"v=1"), ("GET", b"")]


def test_head_stays_head_after_a_303(fresh_server: TestServer) -> None:
    """A 303 does not turn HEAD into GET."""
    one_record("-X", "HEAD", url=fresh_server.url("/goto/303"))
    assert [method for method, _, _ in received(fresh_server, "/echo")] == ["HEAD"]


# --- record fields ---


def test_no_follow_records_where_the_redirect_points(server: TestServer) -> None:
    """--no-follow: the 3xx with its Location made absolute, no redirects followed."""
    record = one_record("--no-follow", url=server.url("/goto/301?to=/bytes/5"))
    assert (record["ok"], record["status"], record["redirects"]) == (True, 301, 0)
    assert record["final_url"] == server.url("/goto/301?to=/bytes/5")
    assert record["location"] == server.url("/bytes/5")


def test_followed_redirects_are_counted_and_leave_no_location(server: TestServer) -> None:
    """Three hops to a 200: redirects 3, location null."""
    record = one_record(url=server.url("/redirect/3"))
    assert (record["status"], record["redirects"], record["location"]) == (200, 3, None)


def test_too_many_redirects_keep_the_last_response(server: TestServer) -> None:
    """The last 3xx stays in the record: its status, URL and Location, and the hops made."""
    record = one_record("--max-redirects", "3", url=server.url("/loop"))
    assert record["error_kind"] == "too_many_redirects"
    assert (record["status"], record["redirects"]) == (302, 3)
    assert record["final_url"] == record["location"] == server.url("/loop")


def test_a_redirect_to_another_scheme_is_not_followed(fresh_server: TestServer) -> None:
    """A Location that is not http(s) is refused, with its target in the record, and
    nothing is sent there."""
    record = one_record(url=fresh_server.url("/goto/302?to=ftp://127.0.0.1:1/file"))
    assert (record["error_kind"], record["status"]) == ("invalid_url", 302)
    assert record["location"] == "ftp://127.0.0.1:1/file"
    assert "unsupported scheme 'ftp'" in record["error"]
    assert sum(fresh_server.requests.values()) == 1


@pytest.mark.parametrize(("method", "size"), [("GET", 1234), ("HEAD", 0)])
def test_content_length_is_the_declared_size(server: TestServer, method: str, size: int) -> None:
    """content_length is the declared size, for HEAD too (which receives no bytes)."""
    record = one_record("-X", method, url=server.url("/bytes/1234"))
    assert (record["content_length"], record["bytes"]) == (1234, size)


def test_content_length_is_null_without_one(server: TestServer) -> None:
    """A chunked body declares no length."""
    record = one_record(url=server.url("/chunked/10"))
    assert (record["content_length"], record["bytes"]) == (None, 10)
