"""Where the time goes, per URL: ``remote_ip``, ``http_version`` and the phases of the
request that gave the response (``time_dns``, ``time_connect``, ``time_tls``,
``time_ttfb``), on fetchall's transport and httpx's; null for a phase that did not happen;
in jsonl and csv; and the phases reported to observers as they begin."""

from __future__ import annotations

import csv
import io
import json
import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import trustme

from fetchall import FetchResult, Line, NullObserver, Ok, Phase, Response, Settings, fetch_all
from fetchall.cli.records import FIELDS
from tests.conftest import invoke
from tests.server import TestServer

pytestmark = pytest.mark.anyio
NAME = "mirror.test"


class Names:
    """A resolver answering 127.0.0.1 for every name."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        return ("127.0.0.1",)


class PhaseLog(NullObserver):
    """Records each line's phases in order."""

    def __init__(self) -> None:
        self.phases: dict[str, list[Phase]] = {}

    def on_phase(self, line: Line, phase: Phase) -> None:
        self.phases.setdefault(line.text, []).append(phase)


async def run(urls: list[str], settings: Settings, **kwargs: object) -> list[Response]:
    results: list[FetchResult] = [
        result
        async for result in fetch_all(urls, settings, resolver=Names(), **kwargs)  # type: ignore[arg-type]
    ]
    responses = []
    for result in results:
        assert isinstance(result.outcome, Ok), result.outcome
        assert result.outcome.value is not None
        assert_ordered(result.outcome.value, result.elapsed)
        responses.append(result.outcome.value)
    return responses


def phases(response: Response) -> tuple[bool, bool, bool, bool]:
    """Which of dns, connect, tls, ttfb happened."""
    times = (response.time_dns, response.time_connect, response.time_tls, response.time_ttfb)
    return tuple(time is not None for time in times)  # type: ignore[return-value]


def assert_ordered(response: Response, elapsed: float) -> None:
    """Each phase took no negative time, and together no longer than the URL."""
    times = (response.time_dns, response.time_connect, response.time_tls, response.time_ttfb)
    taken = [time for time in times if time is not None]
    assert all(time >= 0 for time in taken)
    assert sum(taken) <= elapsed


@pytest.fixture(scope="module")
def named_tls_server(tls_ca: trustme.CA) -> Iterator[TestServer]:
    """An HTTPS server with a certificate for NAME from the tests' CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert(NAME).configure_cert(context)
    server = TestServer(context).start()
    yield server
    server.stop()


async def test_a_new_connection_over_http(fresh_server: TestServer) -> None:
    """A name over http: its lookup, TCP and time to first byte; no TLS; the address."""
    url = f"http://{NAME}:{fresh_server.port}/bytes/10"
    (response,) = await run([url], Settings())
    assert phases(response) == (True, True, False, True)
    assert (response.remote_ip, response.http_version) == ("127.0.0.1", "HTTP/1.1")


async def test_a_new_connection_over_https(named_tls_server: TestServer, ca_file: Path) -> None:
    """A name over https: every phase, the handshake included."""
    url = f"https://{NAME}:{named_tls_server.port}/bytes/10"
    (response,) = await run([url], Settings(cacert=str(ca_file)))
    assert phases(response) == (True, True, True, True)
    assert response.remote_ip == "127.0.0.1"


async def test_a_reused_connection_has_no_lookup_connect_or_tls(
    named_tls_server: TestServer, ca_file: Path
) -> None:
    """-c 1, two URLs on one origin: the second comes over the first's connection, so
    only its time to first byte is there (and the address it came from)."""
    urls = [f"https://{NAME}:{named_tls_server.port}/bytes/{n}" for n in (1, 2)]
    first, second = await run(urls, Settings(concurrency=1, cacert=str(ca_file)))
    assert phases(first) == (True, True, True, True)
    assert phases(second) == (False, False, False, True)
    assert second.remote_ip == "127.0.0.1"


async def test_an_ip_literal_has_no_lookup(fresh_server: TestServer) -> None:
    """127.0.0.1 is its own address: no time_dns."""
    (response,) = await run([fresh_server.url("/bytes/1")], Settings())
    assert phases(response) == (False, True, False, True)


async def test_a_redirect_records_the_phases_of_the_last_request(
    fresh_server: TestServer,
) -> None:
    """A redirect followed over the same connection: the record's phases are those of
    the request that gave the final response, which made no new connection."""
    (response,) = await run([f"http://{NAME}:{fresh_server.port}/redirect/1"], Settings())
    assert response.redirects == 1
    assert phases(response) == (False, False, False, True)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_httpx_transport_gives_connect_tls_ttfb_and_the_address(
    server: TestServer, tls_server: TestServer, ca_file: Path, scheme: str
) -> None:
    """On httpx's transport: TCP (its own lookup inside), TLS and time to first byte
    come from httpcore's trace; no time_dns; the address from its network stream; a
    reused connection has only time_to_first_byte."""
    base = server if scheme == "http" else tls_server
    urls = [base.url("/bytes/1"), base.url("/bytes/2")]
    settings = Settings(concurrency=1, transport="httpx", cacert=str(ca_file))
    first, second = await run(urls, settings)
    assert phases(first) == (False, True, scheme == "https", True)
    assert phases(second) == (False, False, False, True)
    assert first.remote_ip == second.remote_ip == "127.0.0.1"
    assert first.http_version == "HTTP/1.1"


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_httpx_transport_times_the_lookup_of_a_name(
    server: TestServer, named_tls_server: TestServer, ca_file: Path, scheme: str
) -> None:
    """On httpx's transport a name is looked up by fetchall's resolver (here one that
    answers 127.0.0.1): a new connection has time_dns, as on fetchall's transport; a
    reused one has only time to first byte."""
    port = server.port if scheme == "http" else named_tls_server.port
    urls = [f"{scheme}://{NAME}:{port}/bytes/{n}" for n in (1, 2)]
    settings = Settings(concurrency=1, transport="httpx", cacert=str(ca_file))
    first, second = await run(urls, settings)
    assert phases(first) == (True, True, scheme == "https", True)
    assert phases(second) == (False, False, False, True)
    assert first.remote_ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("transport", "host", "looked_up"),
    [
        ("fast", NAME, [Phase.RESOLVING]),
        ("fast", "127.0.0.1", []),
        ("httpx", NAME, [Phase.RESOLVING]),
        ("httpx", "127.0.0.1", []),
    ],
)
async def test_observers_are_told_each_phase(
    fresh_server: TestServer, transport: str, host: str, looked_up: list[Phase]
) -> None:
    """The phases of each request, as they begin: a new connection's, then a reused
    one's (names are resolved by the test's resolver on either transport: no test may
    ask the machine's resolver)."""
    log = PhaseLog()
    urls = [f"http://{host}:{fresh_server.port}/bytes/{n}" for n in (1, 2)]
    await run(urls, Settings(concurrency=1, transport=transport), observer=log)
    assert list(log.phases.values()) == [
        [*looked_up, Phase.CONNECTING, Phase.WAITING, Phase.RECEIVING],
        [Phase.WAITING, Phase.RECEIVING],
    ]


NEW_FIELDS = ["remote_ip", "http_version", "time_dns", "time_connect", "time_tls", "time_ttfb"]


def test_records_carry_the_fields_last_in_jsonl_and_csv(server: TestServer) -> None:
    """jsonl and csv carry the new fields after every earlier one, with their values
    (null or an empty cell for a phase that did not happen)."""
    url = server.url("/bytes/10")
    (record,) = [json.loads(line) for line in invoke("--json", "-q", stdin=url).stdout.splitlines()]
    assert list(record)[-6:] == list(FIELDS)[-6:] == NEW_FIELDS
    assert (record["remote_ip"], record["http_version"]) == ("127.0.0.1", "HTTP/1.1")
    assert record["time_dns"] is record["time_tls"] is None
    assert 0 < record["time_connect"] + record["time_ttfb"] <= record["elapsed"]
    rows = list(csv.DictReader(io.StringIO(invoke("--format", "csv", "-q", stdin=url).stdout)))
    assert list(rows[0])[-6:] == NEW_FIELDS
    assert (rows[0]["remote_ip"], rows[0]["time_dns"], rows[0]["time_tls"]) == ("127.0.0.1", "", "")
    assert float(rows[0]["time_connect"]) > 0
