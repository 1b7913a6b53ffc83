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
