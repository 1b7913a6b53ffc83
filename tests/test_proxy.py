"""SOCKS proxies: the socks extra carries requests through one; without it, --proxy
socks5://… is a usage error that names the extra."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.conftest import invoke, jsonl
from tests.server import TestServer
from tests.socks_proxy import SocksProxy


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
    assert "pip install 'fetchall[socks]'" in " ".join(result.stderr.replace("│", " ").split())
    assert result.stdout == ""
