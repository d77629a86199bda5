"""The plugin's fixtures for tests that pytest-asyncio runs: one pair per loop scope.

Registered by ``pytest_plugin.pytest_configure`` only when pytest-asyncio is active. The
public fixtures pick the pair of the test's loop scope, so the simulator serves on the very
loop that runs the test, whatever ``loop_scope`` the test asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Final, Literal

import pytest_asyncio

from .factory import SimulatorFactory
from .server import MaxSimulator

LoopScope = Literal["function", "class", "module", "package", "session"]
LOOP_SCOPES: Final[tuple[LoopScope, ...]] = ("function", "class", "module", "package", "session")


def _factory_fixture(scope: LoopScope) -> Callable[..., Any]:
    @pytest_asyncio.fixture(loop_scope=scope, name=f"_max_simulator_factory_on_{scope}_loop")
    async def factory() -> AsyncIterator[SimulatorFactory]:
        simulators = SimulatorFactory()
        try:
            yield simulators
        finally:
            await simulators.aclose()

    return factory


def _simulator_fixture(scope: LoopScope) -> Callable[..., Any]:
    @pytest_asyncio.fixture(loop_scope=scope, name=f"_max_simulator_on_{scope}_loop")
    async def simulator(max_simulator_factory: SimulatorFactory) -> MaxSimulator:
        return await max_simulator_factory()

    return simulator


for _scope in LOOP_SCOPES:
    globals()[f"_max_simulator_factory_on_{_scope}_loop"] = _factory_fixture(_scope)
    globals()[f"_max_simulator_on_{_scope}_loop"] = _simulator_fixture(_scope)
