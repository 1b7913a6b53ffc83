"""The command runs on uvloop's event loop where uvloop is installed, asyncio's otherwise."""

from __future__ import annotations

import asyncio
import sys

import pytest

from fetchall.cli.event_loop import loop_factory
from tests.conftest import invoke
from tests.server import TestServer

uvloop = pytest.importorskip("uvloop")


def test_a_run_uses_uvloop(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of the command makes its loop with uvloop, and fetches on it."""
    made: list[asyncio.AbstractEventLoop] = []
    make = uvloop.new_event_loop

    def new_event_loop() -> asyncio.AbstractEventLoop:
        made.append(make())
        return made[-1]

    monkeypatch.setattr(uvloop, "new_event_loop", new_event_loop)
    result = invoke("--json", "-", stdin=server.url("/bytes/10") + "\n")
    assert result.exit_code == 0
    assert '"ok":true' in result.stdout
    assert [type(loop) for loop in made] == [uvloop.Loop]


def test_without_uvloop_asyncio_makes_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where uvloop is missing (Windows, PyPy), asyncio's own loop is used."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert loop_factory() is asyncio.new_event_loop
