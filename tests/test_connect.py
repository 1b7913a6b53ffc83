"""Opening connections (``connect.open_connection``) on both event loops: Happy Eyeballs
over addresses that never answer, refuse or work; errors naming every address; the
connect timeout over resolving, TCP and TLS; the phases marked; no socket left open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest

from fetchall._http.connect import ConnectError, interleave, ip_literal, open_connection
from fetchall._http.resolver import ResolveError
from fetchall._http.timing import Trace
from fetchall._model import Phase
from tests.listeners import NeverAccepts, free_port, needs_ipv6, tls_listener
from tests.loops import both_loops  # noqa: F401 (anyio_backend: both loops)

pytestmark = pytest.mark.anyio
NAME = "mirror.test"


class Phases:
    """Records the phases a trace is told, in order."""

    def __init__(self) -> None:
        self.seen: list[Phase] = []

    def on_phase(self, phase: Phase) -> None:
        self.seen.append(phase)


class Static:
    """A resolver giving fixed addresses for NAME (or waiting forever), counting calls."""

    def __init__(self, addresses: Sequence[str] | None) -> None:
        self.addresses = addresses
        self.calls = 0

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls += 1
        assert host == NAME
        if self.addresses is None:
            await asyncio.sleep(3600)
        return self.addresses or ()


async def connect(
    addresses: Sequence[str] | None,
    port: int,
    *,
    name: str = NAME,
    context: ssl.SSLContext | None = None,
    timeout: float = 10,
    delay: float = 0.25,
    trace: Trace | None = None,
) -> tuple[Echo, str]:
    return await open_connection(
        name,
        port,
        resolver=Static(addresses),
        protocol_factory=Echo,
        ssl_context=context,
        timeout=timeout,
        trace=trace or Trace(Phases()),
        where=f"{name}:{port}",
        delay=delay,
    )


class Echo(asyncio.Protocol):
    """Collects what arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.arrived = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received += data
        self.arrived.set()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(TimeoutError, ConnectionError):
        writer.write(await asyncio.wait_for(reader.read(100), 5))
        await writer.drain()
    writer.close()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """An echo server on 127.0.0.1; its port."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
def never_accepts() -> Iterator[type[NeverAccepts]]:
    """Make NeverAccepts listeners, all closed at the end of the test."""
    made: list[NeverAccepts] = []

    class Tracked(NeverAccepts):
        def __init__(self, host: str, port: int = 0) -> None:
            super().__init__(host, port)
            made.append(self)

    yield Tracked
    for listener in made:
        listener.close()


async def open_fds() -> int:
    """Descriptors open, after one refused connection: uvloop opens a descriptor of its
    own at a loop's first connect (once, however many follow), not to be taken for a leak."""
    with contextlib.suppress(OSError):
        await asyncio.get_running_loop().create_connection(
            asyncio.Protocol, "127.0.0.1", free_port()
        )
    return len(os.listdir("/proc/self/fd"))


async def echoes(protocol: Echo) -> bool:
    """Whether the connection carries data both ways."""
    assert protocol.transport is not None
    protocol.transport.write(b"ping")
    await asyncio.wait_for(protocol.arrived.wait(), 5)
    protocol.transport.close()
    return bytes(protocol.received) == b"ping"


def test_interleave_puts_ipv6_first_and_alternates() -> None:
    """RFC 8305 §4: families alternate, IPv6 first, each family in the resolver's order."""
    assert interleave(["127.0.0.1", "127.0.0.2", "::1", "::2"]) == [
        "::1",
        "127.0.0.1",
        "::2",
        "127.0.0.2",
    ]
    assert interleave(["127.0.0.1", "::1", "127.0.0.2"]) == ["::1", "127.0.0.1", "127.0.0.2"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1",)),
        ("127.1", ("127.0.0.1",)),
        ("0x7f.1", ("127.0.0.1",)),
        ("::1", ("::1",)),
        ("::ffff:127.0.0.1", ("::ffff:127.0.0.1",)),
        ("1password.com", None),
        ("123.bench.test", None),
        ("mirror.test", None),
    ],
)
def test_ip_literals_are_their_own_answer(host: str, expected: tuple[str] | None) -> None:
    """What the system resolver takes as numeric needs no lookup; a name that starts
    with digits is still a name."""
    assert ip_literal(host) == expected


async def test_an_ip_literal_never_reaches_the_resolver(echo_port: int) -> None:
    """Connecting to 127.0.0.1 asks no resolver and marks no resolving phase."""
    trace = Trace(phases := Phases())
    resolver = Static(["192.0.2.1"])
    protocol, ip = await open_connection(
        "127.0.0.1",
        echo_port,
        resolver=resolver,
        protocol_factory=Echo,
        ssl_context=None,
        timeout=5,
        trace=trace,
        where=f"127.0.0.1:{echo_port}",
    )
    assert await echoes(protocol)
    assert (resolver.calls, ip, phases.seen) == (0, "127.0.0.1", [Phase.CONNECTING])
    assert trace.timings().time_dns is None


@needs_ipv6
async def test_an_ipv6_address_that_never_answers_costs_the_stagger(
    never_accepts: type[NeverAccepts], echo_port: int
) -> None:
    """[::1] never answers (full listen queue), 127.0.0.1 works: connected to 127.0.0.1
    one stagger (0.25 s) after the first attempt, far inside the 10 s connect timeout;
    the losing attempt's socket is closed."""
    never_accepts("::1", echo_port)
    fds = await open_fds()
    trace = Trace(Phases())
    protocol, ip = await connect(["::1", "127.0.0.1"], echo_port, trace=trace)
    trace.begin(Phase.WAITING)  # the request would be sent now
    assert ip == trace.remote_ip == "127.0.0.1"
    time_connect = trace.timings().time_connect
    assert time_connect is not None
    assert 0.24 <= time_connect < 1.0
    assert await echoes(protocol)
    await asyncio.sleep(0.05)
    assert await open_fds() == fds


async def test_an_ipv4_address_whose_queue_is_full_costs_the_stagger(
    never_accepts: type[NeverAccepts], echo_port: int
) -> None:
    """The same with two IPv4 addresses: 127.0.0.2 never answers, 127.0.0.1 works."""
    never_accepts("127.0.0.2", echo_port)
    started = asyncio.get_running_loop().time()
    protocol, ip = await connect(["127.0.0.2", "127.0.0.1"], echo_port)
    assert ip == "127.0.0.1"
    assert 0.24 <= asyncio.get_running_loop().time() - started < 1.0
    assert await echoes(protocol)


async def test_a_refused_address_starts_the_next_at_once(echo_port: int) -> None:
    """127.0.0.2 refuses: the next address is tried at once, not after the stagger."""
    started = asyncio.get_running_loop().time()
    protocol, ip = await connect(["127.0.0.2", "127.0.0.1"], echo_port, delay=5)
    assert ip == "127.0.0.1"
    assert asyncio.get_running_loop().time() - started < 1.0
    assert await echoes(protocol)


@needs_ipv6
async def test_every_address_is_tried_and_named_when_all_fail() -> None:
    """Three addresses, all refused: one ConnectError naming each, IPv6 first."""
    port = free_port()
    with pytest.raises(ConnectError) as caught:
        await connect(["127.0.0.1", "127.0.0.2", "::1"], port)
    assert str(caught.value) == (
        f"could not connect to {NAME}:{port}: [::1] refused; 127.0.0.1 refused; 127.0.0.2 refused"
    )
    assert not caught.value.timed_out


async def test_the_connect_timeout_ends_the_race(never_accepts: type[NeverAccepts]) -> None:
    """Three addresses that never answer, a 0.4 s timeout, a 0.25 s stagger: two tried,
    one never started, one ConnectError saying so after 0.4 s; no socket left."""
    port = free_port()
    for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        never_accepts(host, port)
    fds = await open_fds()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConnectError) as caught:
        await connect(["127.0.0.2", "127.0.0.3", "127.0.0.4"], port, timeout=0.4)
    assert 0.39 <= loop.time() - started < 1.5
    assert caught.value.timed_out
    assert str(caught.value) == (
        f"could not connect to {NAME}:{port} within 0.4s: 127.0.0.2 did not answer; "
        "127.0.0.3 did not answer; 127.0.0.4 not tried"
    )
    await asyncio.sleep(0.05)
    assert await open_fds() == fds


async def test_a_urls_own_address_failing_reads_as_before(
    never_accepts: type[NeverAccepts],
) -> None:
    """An IP literal that refuses or never answers: the words of a plain connect."""
    port = free_port()
    with pytest.raises(ConnectError, match=f"^connection refused by 127.0.0.1:{port}$"):
        await connect(None, port, name="127.0.0.1")
    never_accepts("127.0.0.2", port)
    with pytest.raises(ConnectError, match=f"^could not connect to 127.0.0.2:{port} within 0.3s$"):
        await connect(None, port, name="127.0.0.2", timeout=0.3)


async def test_cancelling_the_race_leaves_no_socket(never_accepts: type[NeverAccepts]) -> None:
    """A caller cancelled mid-race (its own deadline) leaves no socket open."""
    port = free_port()
    never_accepts("127.0.0.2", port)
    never_accepts("127.0.0.3", port)
    fds = await open_fds()
    task = asyncio.create_task(connect(["127.0.0.2", "127.0.0.3"], port))
    await asyncio.sleep(0.4)  # both attempts running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    assert await open_fds() == fds


async def test_the_connect_timeout_bounds_resolving() -> None:
    """A name whose lookup never ends fails within the connect timeout, saying so: a
    ResolveError (dns, not retried), not a connect timeout."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ResolveError) as caught:
        await connect(None, 80, timeout=0.2)
    assert not caught.value.negative
    assert str(caught.value) == f"could not resolve host {NAME}: no answer within 0.2s"
    assert loop.time() - started < 1.0


async def test_no_address_is_a_resolve_error() -> None:
    """A resolver answering nothing: the name has no address (a negative answer)."""
    with pytest.raises(ResolveError) as caught:
        await connect([], 80)
    assert caught.value.negative


@pytest.fixture
async def tls_port() -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    """An echo server over TLS for NAME on 127.0.0.1, with a CA made now; its port and a
    client context trusting that CA."""
    async with tls_listener(NAME, _echo) as listening:
        yield listening


async def test_tls_is_timed_apart_from_tcp(tls_port: tuple[int, ssl.SSLContext]) -> None:
    """Over TLS: resolving, connecting and the handshake each marked, in order; the
    connection carries data."""
    port, context = tls_port
    trace = Trace(phases := Phases())
    protocol, ip = await connect(["127.0.0.1"], port, context=context, trace=trace)
    trace.begin(Phase.WAITING)
    assert ip == trace.remote_ip == "127.0.0.1"
    assert phases.seen == [Phase.RESOLVING, Phase.CONNECTING, Phase.TLS, Phase.WAITING]
    assert all(time is not None and time >= 0 for time in trace.timings()[:3])
    assert protocol.transport is not None
    assert protocol.transport.get_extra_info("ssl_object") is not None
    assert await echoes(protocol)


async def test_a_bad_certificate_is_the_ssl_error(tls_port: tuple[int, ssl.SSLContext]) -> None:
    """A certificate for another name: the verifier's SSLError; no socket left."""
    port, context = tls_port
    fds = await open_fds()
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(["127.0.0.1"], port, name="127.0.0.1", context=context)
    await asyncio.sleep(0.05)
    assert await open_fds() == fds


async def test_a_handshake_that_never_ends_times_out(
    tls_port: tuple[int, ssl.SSLContext],
) -> None:
    """TCP connects but nothing answers the ClientHello: a timed-out ConnectError."""
    _, context = tls_port
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(ConnectError) as caught:
        await connect(["127.0.0.1"], port, context=context, timeout=0.5)
    for writer in accepted:
        writer.close()
    server.close()
    assert caught.value.timed_out
    assert str(caught.value) == f"TLS with {NAME}:{port} (127.0.0.1) did not finish within 0.5s"
