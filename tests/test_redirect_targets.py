"""Redirect targets are checked like input lines before anything is sent (issue 12, point 4),
through the installed command, on both transports: a refused target is one invalid_url
record, nothing reaches its host and port, and the run goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.conftest import ConnectionCounter, jsonl, run_fetchall
from tests.rawserver import RawServer, Reply
from tests.server import TestServer

TRANSPORTS = ("fast", "httpx")
WALL_BOUND = 10.0
"""Seconds: every run here ends well within the deadline given (-t 30)."""


def _fetch(transport: str, *urls: str, tmp_path) -> tuple[int, list[dict], float]:
    """Run the installed command on ``urls``: exit status, records by line, seconds."""
    path = tmp_path / "urls.txt"
    path.write_text("".join(f"{url}\n" for url in urls))
    started = time.monotonic()
    result = run_fetchall("--json", "-t", "30", "--transport", transport, str(path), timeout=60)
    elapsed = time.monotonic() - started
    records = sorted(jsonl(result.stdout.decode()), key=lambda record: record["source"])
    assert len(records) == len(urls)
    assert b"Traceback" not in result.stderr
    return result.returncode, records, elapsed


def _to(server: TestServer, location: str) -> str:
    return server.url(f"/to?location={quote(location, safe='')}")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("scheme", ["ftp", "gopher", "smtp", "file"])
def test_a_redirect_to_another_scheme_is_refused_and_sends_nothing(
    server: TestServer, connection_counter: ConnectionCounter, scheme: str, transport: str, tmp_path
) -> None:
    """ftp://, gopher://, smtp://, file:// targets fail as invalid_url naming the scheme,
    with the 302's status; nothing connects to the target's host and port."""
    target = f"{scheme}://127.0.0.1:{connection_counter.port}/secret"
    status, records, elapsed = _fetch(
        transport, _to(server, target), server.url("/bytes/5"), tmp_path=tmp_path
    )
    refused, fetched = records
    assert (status, refused["error_kind"], refused["status"]) == (1, "invalid_url", 302)
    assert f"unsupported scheme '{scheme}'" in refused["error"]
    assert refused["final_url"] == _to(server, target)
    assert (fetched["ok"], fetched["bytes"]) == (True, 5)
    assert elapsed < WALL_BOUND
    time.sleep(0.2)  # a connection the command made would have been accepted by now
    assert connection_counter.connections == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_redirect_to_a_port_past_65535_never_wraps_around(
    server: TestServer, connection_counter: ConnectionCounter, transport: str, tmp_path
) -> None:
    """Port 65536 + N is refused as invalid_url; nothing connects to port N."""
    wrapped = 65536 + connection_counter.port
    target = f"http://127.0.0.1:{wrapped}/"
    status, (record,), elapsed = _fetch(transport, _to(server, target), tmp_path=tmp_path)
    assert (status, record["error_kind"]) == (1, "invalid_url")
    assert f"port {wrapped} is outside 1-65535" in record["error"]
    assert elapsed < WALL_BOUND
    time.sleep(0.2)
    assert connection_counter.connections == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_empty_location_is_no_redirect(server: TestServer, transport: str, tmp_path) -> None:
    """A 302 whose Location is empty is the result, as curl reports it: ok, status 302,
    one attempt, the URL itself as final_url (not a loop to too_many_redirects)."""
    url = _to(server, "")
    status, (record,), elapsed = _fetch(transport, url, tmp_path=tmp_path)
    assert (status, record["ok"], record["status"], record["attempts"]) == (0, True, 302, 1)
    assert record["final_url"] == url
    assert elapsed < WALL_BOUND


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_host_that_is_not_valid_idna_is_invalid_as_a_line_and_as_a_target(
    server: TestServer, transport: str, tmp_path
) -> None:
    """http://xn--n3h.example/ (U+2603 is not IDNA 2008) as a line and as a redirect
    target: two invalid_url records that say why, decided before any name lookup (the
    line makes no attempt; a lookup would have made a dns error), and the run goes on."""
    status, records, elapsed = _fetch(
        transport,
        "http://xn--n3h.example/",
        _to(server, "http://xn--n3h.example/"),
        server.url("/bytes/3"),
        tmp_path=tmp_path,
    )
    line, redirected, fetched = records
    assert status == 1
    for record in (line, redirected):
        assert record["error_kind"] == "invalid_url"
        assert "'xn--n3h.example' is not a valid internationalized name" in record["error"]
    assert line["attempts"] == 0
    assert redirected["status"] == 302
    assert (fetched["ok"], fetched["bytes"]) == (True, 3)
    assert elapsed < WALL_BOUND


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_relative_redirect_is_still_followed(
    server: TestServer, transport: str, tmp_path
) -> None:
    """The checks leave ordinary redirects alone: relative, absolute and scheme-relative
    targets arrive."""
    origin = server.url("")
    targets = ["/bytes/4", f"{origin}/bytes/4", origin.removeprefix("http:") + "/bytes/4"]
    status, records, _ = _fetch(
        transport, *(_to(server, target) for target in targets), tmp_path=tmp_path
    )
    assert status == 0
    for record in records:
        assert (record["ok"], record["bytes"], record["final_url"]) == (
            True,
            4,
            server.url("/bytes/4"),
        )


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://", "no host"),
        ("https://", "no host"),
        ("http:///path", "no host"),
        ("http:ok", "no host"),
        ("javascript:alert(1)", "unsupported scheme 'javascript'"),
        ("tel:+1-555-0100", "unsupported scheme 'tel'"),
        ("http://127.0.0.1:99999999999999999999999/", "refused: "),
    ],
)
def test_a_location_that_makes_no_url_is_a_refused_redirect(
    server: TestServer,
    connection_counter: ConnectionCounter,
    location: str,
    reason: str,
    transport: str,
    tmp_path,
) -> None:
    """A Location that is no URL to request (no host, another scheme, unparsable) is
    refused like any refused target: the record keeps the 302 and its location, and the
    message names the target and why. Nothing is sent anywhere (http:// is not port 80 of
    the first host)."""
    url = _to(server, location)
    status, (record,), elapsed = _fetch(transport, url, tmp_path=tmp_path)
    assert (status, record["error_kind"], record["status"]) == (1, "invalid_url", 302)
    assert (record["final_url"], record["http_version"]) == (url, "HTTP/1.1")
    assert record["location"] is not None
    assert record["error"].startswith(f"redirect to {location}")
    assert reason in record["error"]
    assert elapsed < WALL_BOUND


@pytest.fixture(scope="module")
def two_locations() -> Iterator[RawServer]:
    """302s with two Location fields: different values, and the same value twice."""
    head = b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n"
    replies = {
        "different": Reply(head + b"Location: /ok\r\nLocation: /again\r\n\r\n"),
        "same": Reply(head + b"Location: /x\r\nLocation: /x\r\n\r\n"),
        "target": Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    }
    raw = RawServer(replies).start()
    yield raw
    raw.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_several_different_location_fields_are_refused(
    two_locations: RawServer, transport: str, tmp_path
) -> None:
    """RFC 9110 §10.2.2: Location is one URI. Two fields with different values are not
    joined into one target ("/ok, /again"): the redirect is refused, keeping its 302."""
    url, before = two_locations.url("different"), two_locations.requests["different"]
    status, (record,), _ = _fetch(transport, url, tmp_path=tmp_path)
    assert (status, record["error_kind"], record["status"]) == (1, "invalid_url", 302)
    assert "refused: several Location fields" in record["error"]
    assert record["redirects"] == 0
    assert two_locations.requests["different"] == before + 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_identical_location_fields_are_one(
    two_locations: RawServer, transport: str, tmp_path
) -> None:
    """The same Location twice is taken as one field and followed (this server answers
    /x with the same 302, so the run ends at the redirect limit, not refused)."""
    _, (record,), _ = _fetch(transport, two_locations.url("same"), tmp_path=tmp_path)
    assert (record["error_kind"], record["redirects"]) == ("too_many_redirects", 10), record
    assert record["final_url"].endswith("/x")
