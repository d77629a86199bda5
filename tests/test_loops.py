"""The suite really runs each async test on both event loops."""

from __future__ import annotations

import asyncio

import pytest


async def test_loop_matches_parametrisation(request: pytest.FixtureRequest) -> None:
    loop = asyncio.get_running_loop()
    expected = "uvloop" if "uvloop" in request.node.name else "asyncio"
    assert type(loop).__module__.split(".")[0] == expected
