"""Fixtures for the simulator's tests: a manually stepped simulator and bare clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from sim_client import SimClient
from websockets.asyncio.client import connect

from maicoin.ws.testing import ManualClock, MaxSimulator

ClientFactory = Callable[[], AbstractAsyncContextManager[SimClient]]


def manual_simulator(clock: ManualClock, **options: Any) -> MaxSimulator:
    """A simulator that only moves when the test calls ``step()``, on a manual clock."""
    return MaxSimulator(
        update_interval=None,
        clock=clock,
        private_every=None,
        pool_quota_every=None,
        **options,
    )


def client_factory(sim: MaxSimulator, **connect_options: Any) -> ClientFactory:
    """``async with factory() as c:`` opens a bare WebSocket client on ``sim``."""

    @asynccontextmanager
    async def open_client() -> AsyncIterator[SimClient]:
        # Unbounded receive queue: a client leaving frames unread would otherwise stop
        # reading the socket and miss the server's close frame until close_timeout.
        async with connect(sim.uri, max_queue=None, **connect_options) as websocket:
            yield SimClient(websocket)

    return open_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[MaxSimulator]:
    """A simulator that only moves when the test calls ``step()``, on a manual clock."""
    async with manual_simulator(clock) as simulator:
        yield simulator


@pytest.fixture
def client(sim: MaxSimulator) -> ClientFactory:
    """``async with client() as c:`` opens a bare WebSocket client on ``sim``."""
    return client_factory(sim)
