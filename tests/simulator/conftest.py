"""Fixtures for the simulator's tests: a manually stepped simulator and bare clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sim_client import SimClient
from websockets.asyncio.client import connect

from maicoin.ws.testing import ManualClock, MaxSimulator

ClientFactory = Callable[[], AbstractAsyncContextManager[SimClient]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[MaxSimulator]:
    """A simulator that only moves when the test calls ``step()``, on a manual clock."""
    async with MaxSimulator(
        update_interval=None, clock=clock, private_every=None, pool_quota_every=None
    ) as simulator:
        yield simulator


@pytest.fixture
def client(sim: MaxSimulator) -> ClientFactory:
    """``async with client() as c:`` opens a bare WebSocket client on ``sim``."""

    @asynccontextmanager
    async def open_client() -> AsyncIterator[SimClient]:
        # Unbounded receive queue: a client leaving frames unread would otherwise stop
        # reading the socket and miss the server's close frame until close_timeout.
        async with connect(sim.uri, max_queue=None) as websocket:
            yield SimClient(websocket)

    return open_client
