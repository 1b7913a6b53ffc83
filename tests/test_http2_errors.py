"""HTTP/2 failures on httpx's transport (``--http2``), told as fetchall's own transport
tells a failure: RST_STREAM, GOAWAY and HTTP/2 broken by the server in words with RFC
9113's error code names (not h2's objects), and a body cut short keeps its status and the
bytes so far. The server is a small h2 one on 127.0.0.1 (TLS, ALPN h2) that misbehaves
as each path says."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest
import trustme

from tests.conftest import jsonl, run_fetchall


class _Misbehaving(asyncio.Protocol):
    """One HTTP/2 connection; each request is answered as its path says:

    ``/ok``: 200 with 5 bytes; ``/reset``: RST_STREAM (INTERNAL_ERROR) before any head;
    ``/cut``: a head (Content-Length 100), 10 bytes, then RST_STREAM (INTERNAL_ERROR);
    ``/goaway``: GOAWAY (PROTOCOL_ERROR) before any head; ``/broken``: a head, 10 bytes,
    then trailers holding a pseudo-header (RFC 9113 §8.3: the client must refuse them);
    ``/short``: a head (Content-Length 100), 10 bytes and END_STREAM."""

    def __init__(self) -> None:
        config = h2.config.H2Configuration(
            client_side=False, validate_outbound_headers=False, normalize_outbound_headers=False
        )
        self._h2 = h2.connection.H2Connection(config)
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._h2.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                path = dict(event.headers or []).get(b":path", b"/")
                assert event.stream_id is not None
                self._answer(event.stream_id, path)
        self._flush()

    def _answer(self, stream: int, path: bytes) -> None:
        internal = h2.errors.ErrorCodes.INTERNAL_ERROR
        if path == b"/reset":
            self._h2.reset_stream(stream, internal)
            return
        if path == b"/goaway":
            self._h2.close_connection(h2.errors.ErrorCodes.PROTOCOL_ERROR, last_stream_id=stream)
            return
        length = b"5" if path == b"/ok" else b"100"
        self._h2.send_headers(stream, [(b":status", b"200"), (b"content-length", length)])
        if path == b"/ok":
            self._h2.send_data(stream, b"hello", end_stream=True)
            return
        if path == b"/short":  # 10 of 100 bytes, then END_STREAM: in one write
            self._h2.send_data(stream, b"0123456789", end_stream=True)
            return
        self._h2.send_data(stream, b"0123456789")
        if path == b"/cut":
            self._h2.reset_stream(stream, internal)
        elif path == b"/broken":
            self._h2.send_headers(stream, [(b":status", b"200")], end_stream=True)

    def _flush(self) -> None:
        if self._transport is not None:
            self._transport.write(self._h2.data_to_send())


@pytest.fixture(scope="module")
def h2_server(tls_ca: trustme.CA) -> Iterator[int]:
    """The port of a misbehaving HTTP/2 server on 127.0.0.1 (its certificate from the
    tests' CA), on a thread of its own."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(["h2"])
    loop = asyncio.new_event_loop()
    started = loop.run_until_complete(loop.create_server(_Misbehaving, "127.0.0.1", 0, ssl=context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield started.sockets[0].getsockname()[1]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    started.close()
    loop.close()


def fetch(port: int, path: str, ca_file: Path) -> dict[str, object]:
    """The one record of fetching ``path`` with --http2 (no retry), the CLI's output
    checked: no traceback, stdout holding the record only."""
    url = f"https://127.0.0.1:{port}{path}"
    done = run_fetchall(
        "--json", "--http2", "--cacert", str(ca_file), "-", stdin=url.encode(), timeout=30
    )
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    (record,) = jsonl(done.stdout.decode())
    return record


def test_a_whole_response_over_http2(h2_server: int, ca_file: Path) -> None:
    """The server answers well: an HTTP/2 response."""
    record = fetch(h2_server, "/ok", ca_file)
    assert (record["ok"], record["status"], record["bytes"]) == (True, 200, 5)
    assert record["http_version"] == "HTTP/2"


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/reset", "protocol", "the server reset the stream (HTTP/2 INTERNAL_ERROR)"),
        (
            "/goaway",
            "protocol",
            "the server ended the HTTP/2 connection (GOAWAY, PROTOCOL_ERROR)",
        ),
    ],
)
def test_a_failure_before_the_head_is_told_in_words(
    h2_server: int, ca_file: Path, path: str, kind: str, words: str
) -> None:
    """RST_STREAM or GOAWAY before any head: the error code's name, no h2 object."""
    record = fetch(h2_server, path, ca_file)
    assert (record["ok"], record["error_kind"], record["status"]) == (False, kind, None)
    error = str(record["error"])
    assert words in error, error
    assert "<" not in error
    assert "stream_id" not in error


def test_a_reset_body_keeps_its_status_and_bytes(h2_server: int, ca_file: Path) -> None:
    """RST_STREAM after the head and 10 of 100 bytes: a body cut short (``read``), as on
    fetchall's own transport: the status and the bytes so far are kept."""
    record = fetch(h2_server, "/cut", ca_file)
    assert (record["ok"], record["error_kind"]) == (False, "read")
    assert (record["status"], record["bytes"]) == (200, 10)
    error = str(record["error"])
    assert "the server reset the stream (HTTP/2 INTERNAL_ERROR)" in error, error
    assert "<" not in error


def test_a_body_ended_short_of_its_length_is_cut(h2_server: int, ca_file: Path) -> None:
    """A head declaring 100 bytes, 10 of them, then a trailer section h2 refuses (a
    pseudo-header in it): httpcore ended the stream quietly and the body was taken as
    whole (``ok``). It is a body cut short, ``read``, with the status and bytes kept."""
    record = fetch(h2_server, "/broken", ca_file)
    assert (record["ok"], record["error_kind"]) == (False, "read")
    assert (record["status"], record["bytes"]) == (200, 10)
    assert "after 10 of 100 body bytes" in str(record["error"])


def test_a_stream_ended_short_of_its_content_length_says_so(h2_server: int, ca_file: Path) -> None:
    """END_STREAM after 10 of 100 bytes (head, data and end in one write): h2 refuses the
    stream; the record says what happened in words, not h2's exception class."""
    record = fetch(h2_server, "/short", ca_file)
    assert record["ok"] is False
    error = str(record["error"])
    assert "the response ended after 10 of 100 body bytes" in error, error
    assert "InvalidBodyLengthError" not in error
