"""Request-field injection: a method, header, User-Agent or Content-Type with a space, a
line break or NUL where RFC 9110 allows none would change the request on the wire, so it
is a usage error naming the option, and nothing is sent (RFC 9110 §9.1: ``method =
token``; §5.1: a field name is a token; §5.5: no CR, LF or NUL in a field value)."""

from __future__ import annotations

import pytest

from tests.conftest import run_fetchall
from tests.server import TestServer


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["-X", "GET\r\nX-Inj: 1"], "--method"),
        (["-X", "GE T"], "--method"),
        (["-X", "GET\t"], "--method"),
        (["-H", "X Y: 1"], "--header"),
        (["-H", "X-A: 1\r\nX-Inj: 1"], "--header"),
        (["-d", "a=1", "-H", "Content-Type: text/plain\nX-Inj: 1"], "--header"),
        (["-A", "ua\r\nX-Inj: 1"], "--user-agent"),
    ],
)
def test_a_request_field_that_would_inject_is_a_usage_error(
    fresh_server: TestServer, transport: str, args: list[str], option: str
) -> None:
    """Exit 2, the option named on stderr, no record, no request."""
    url = fresh_server.url("/bytes/1")
    done = run_fetchall("--transport", transport, *args, "-", stdin=url.encode(), timeout=30)
    assert done.returncode == 2
    assert option in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    assert done.stdout == b""
    assert fresh_server.requests["/bytes/1"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["-H", "Content-Length: 99"],
        ["-H", "content-length: 0"],
        ["-d", "a=1", "-H", "Content-Length: 3"],
        ["-H", "Transfer-Encoding: chunked"],
    ],
)
def test_a_framing_field_given_by_hand_is_a_usage_error(
    fresh_server: TestServer, args: list[str]
) -> None:
    """-H Content-Length or Transfer-Encoding: fetchall frames the body itself (a length
    that is not the body's made the server wait until the speed limit cut the request);
    exit 2 saying so, at once, and nothing is sent."""
    url = fresh_server.url("/bytes/1")
    done = run_fetchall(*args, "-", stdin=url.encode(), timeout=10)
    said = " ".join(done.stderr.decode().replace("│", " ").split())
    assert done.returncode == 2
    assert "--header" in said
    assert "is set by fetchall from the body" in said
    assert done.stdout == b""
    assert fresh_server.requests["/bytes/1"] == 0


def test_a_host_field_may_be_given(fresh_server: TestServer) -> None:
    """-H Host is sent as given (a virtual host at an address), as curl does."""
    url = fresh_server.url("/bytes/1")
    done = run_fetchall("-q", "-H", "Host: example.test", "-", stdin=url.encode(), timeout=30)
    assert done.returncode == 0
    assert fresh_server.last_request["/bytes/1"][1]["Host"] == "example.test"


def test_settings_refuse_a_framing_field() -> None:
    """The library's Settings refuse them too (the same check as -H)."""
    from fetchall import Settings

    with pytest.raises(ValueError, match="Transfer-Encoding is set by fetchall"):
        Settings(headers=(("Transfer-Encoding", "chunked"),))
