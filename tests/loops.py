"""Running a test module's async tests on both event loops fetchall may run on."""

from __future__ import annotations

import pytest


@pytest.fixture(
    name="anyio_backend",
    params=[
        pytest.param(("asyncio", {"use_uvloop": False}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ],
)
def both_loops(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """anyio's backend for a module that imports this: each test runs on asyncio's loop
    and on uvloop's (the command's)."""
    return request.param  # type: ignore[no-any-return]
