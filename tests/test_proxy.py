"""SOCKS proxies: the socks extra carries requests through one; without it, --proxy
socks5://… is a usage error that names the extra."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from fetchall import Err, ErrorKind, Settings, fetch_all
from fetchall.cli import app
from tests.conftest import invoke, jsonl
from tests.server import TestServer
from tests.socks_proxy import SocksProxy
from tests.test_names import SystemStandIn


@pytest.fixture
def socks_proxy() -> Iterator[SocksProxy]:
    proxy = SocksProxy().start()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_a_socks5_proxy_carries_the_requests(
    server: TestServer, socks_proxy: SocksProxy, transport: str
) -> None:
    """With the socks extra, --proxy socks5://… sends each request through the proxy."""
    url = server.url("/bytes/7")
    result = invoke("--transport", transport, "--json", "--proxy", socks_proxy.url, "-", stdin=url)
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["bytes"]) == (True, 7)
    assert socks_proxy.connects == [("127.0.0.1", server.port)]


def test_socks_without_the_extra_is_a_usage_error(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without socksio installed, --proxy socks5://… exits 2 naming the extra to install."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "socksio" else find_spec(name, *a),
    )
    result = invoke("--proxy", "socks5://127.0.0.1:1080", "-", stdin=server.url("/bytes/1"))
    assert result.exit_code == 2
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "pip install 'fetchall[socks]'" in said
    assert "pipx inject fetchall 'httpx[socks]'" in said  # pipx and uv installs too
    assert "uv tool install --with 'httpx[socks]'" in said
    assert result.stdout == ""


# A proxy that cannot be used or reached: the message names the proxy, not the target.


@pytest.mark.parametrize(
    "proxy", ["http://", "http://:3128", "http://proxy.test:0", "http://proxy.test:x", "ftp://p:21"]
)
def test_a_proxy_url_without_a_usable_host_or_port_is_a_usage_error(
    server: TestServer, proxy: str
) -> None:
    """--proxy with no host, a bad port or another scheme: exit 2 naming --proxy, no request."""
    result = invoke("--proxy", proxy, "-", stdin=server.url("/bytes/1"))
    assert result.exit_code == 2
    assert "--proxy" in result.stderr
    assert result.stdout == ""


def test_a_proxy_variable_without_a_host_is_a_usage_error(server: TestServer) -> None:
    """HTTP_PROXY=http:// (no host) stops the run (exit 2) naming the variable."""
    result = CliRunner().invoke(
        app, ["-"], input=server.url("/bytes/1"), env={"HTTP_PROXY": "http://", "NO_PROXY": ""}
    )
    assert result.exit_code == 2
    assert "HTTP_PROXY: proxy 'http://' names no host" in result.stderr
    assert result.stdout == ""


PROXY_VARIABLES = [f"{name}_proxy" for name in ("http", "https", "all")]


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("HTTP_PROXY", "ftp://127.0.0.1:1", "unsupported scheme 'ftp'"),
        ("http_proxy", "gopher://x", "unsupported scheme 'gopher'"),
        ("ALL_PROXY", "gopher://x", "unsupported scheme 'gopher'"),
        ("https_proxy", "http://h:99999", "the port is not a number in 1-65535"),
        ("HTTPS_PROXY", "http://h:0", "the port is not a number in 1-65535"),
    ],
)
def test_every_check_of_a_proxy_variable_names_it_as_set(
    server: TestServer, variable: str, value: str, said: str
) -> None:
    """Each proxy variable, in the case it was set in, is checked like --proxy before
    httpx reads it (httpx's own "Unknown scheme for proxy URL URL(...)" never shows)."""
    unset: dict[str, str | None] = {
        name: None for lower in PROXY_VARIABLES for name in (lower, lower.upper())
    }
    result = CliRunner().invoke(
        app, ["-"], input=server.url("/bytes/1"), env={**unset, variable: value, "NO_PROXY": ""}
    )
    assert result.exit_code == 2
    assert f"{variable}: proxy {value!r}: {said}" in result.stderr
    assert "URL(" not in result.stderr
    assert result.stdout == ""


def test_a_proxy_without_a_scheme_is_taken_as_http(fresh_server: TestServer) -> None:
    """--proxy 127.0.0.1:PORT (curl's form) is http://127.0.0.1:PORT."""
    proxy = f"127.0.0.1:{fresh_server.port}"
    result = invoke("--json", "--proxy", proxy, "-", stdin="http://far-away.test/bytes/5")
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["bytes"]) == (True, 5)
    assert fresh_server.requests["/bytes/5"] == 1


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_refused_proxy_is_named_in_the_error(
    server: TestServer, unused_port: int, transport: str, scheme: str
) -> None:
    """A proxy on a closed port: ``connect`` naming the proxy, not the target."""
    result = invoke(
        "--json", "--retries", "0", "--transport", transport,
        "--proxy", f"http://127.0.0.1:{unused_port}", "-",
        stdin=f"{scheme}://127.0.0.1:{server.port}/bytes/1",
    )  # fmt: skip
    (record,) = jsonl(result.stdout)
    assert (record["error_kind"], record["error"]) == (
        "connect",
        f"connection refused by proxy 127.0.0.1:{unused_port}",
    )


def test_a_refused_proxy_from_a_variable_is_named_in_the_error(
    server: TestServer, unused_port: int
) -> None:
    """The same for HTTP_PROXY, given without a scheme as httpx reads it."""
    result = CliRunner().invoke(
        app,
        ["--json", "--retries", "0", "-"],
        input=server.url("/bytes/1"),
        env={"HTTP_PROXY": f"127.0.0.1:{unused_port}", "NO_PROXY": ""},
    )
    (record,) = jsonl(result.stdout)
    assert record["error"] == f"connection refused by proxy 127.0.0.1:{unused_port}"


@pytest.mark.anyio
async def test_a_proxy_name_that_does_not_resolve_is_named_in_the_error(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy's name is resolved by fetchall's resolver (the system's, on threads,
    through ``socket.getaddrinfo``), replaced by the stand-in: ``nx-*.bench.test`` is "no
    such name" and nothing reaches the machine's resolver."""
    monkeypatch.setattr(socket, "getaddrinfo", SystemStandIn(socket.getaddrinfo))
    settings = Settings(retries=0, proxy="http://nx-proxy.bench.test:3128")
    url = f"http://127.0.0.1:{server.port}/bytes/1"
    (result,) = [result async for result in fetch_all([url], settings)]
    assert isinstance(result.outcome, Err)
    assert (result.outcome.error.kind, result.outcome.error.message) == (
        ErrorKind.DNS,
        "could not resolve proxy host nx-proxy.bench.test: no such name",
    )


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_a_socks5_proxy_named_by_a_host_name_is_resolved_by_the_resolver(
    server: TestServer, socks_proxy: SocksProxy, transport: str
) -> None:
    """A proxy given by name (``localhost``, answered by fetchall's resolver without a
    lookup) carries the requests on either transport."""
    url = server.url("/bytes/3")
    proxy = socks_proxy.url.replace("127.0.0.1", "localhost")
    result = invoke("--transport", transport, "--json", "--proxy", proxy, "-", stdin=url)
    (record,) = jsonl(result.stdout)
    assert (record["ok"], record["bytes"]) == (True, 3)
