"""Task mode against the simulator: slow async handlers hold the stream at the task limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, eventually, running, use_transport
from twins import compiled, twin_params

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws import stream as stream_module
from maicoin.ws._frames import _dispatch_py
from maicoin.ws.testing import MaxSimulator

LIMIT = 5
# Frames the path may count beyond the limit: the one whose dispatch hit it, plus any that
# are not handed to handlers.
SLACK = 3


@pytest.fixture(params=twin_params(compiled("_frames._dispatch_c"), _dispatch_py))
def dispatcher_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module: ModuleType = request.param
    monkeypatch.setattr(stream_module, "Dispatcher", module.Dispatcher)
    return module


@pytest.fixture(params=["websockets", "picows"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    use_transport(name, monkeypatch)
    return name


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.005, private_every=None, seed=11) as simulator:
        yield simulator


async def test_slow_async_handlers_stop_the_stream_at_the_limit(
    sim: MaxSimulator, dispatcher_impl: ModuleType, transport: str
) -> None:
    release = asyncio.Event()
    handler_tasks: list[asyncio.Task[Any]] = []

    async def slow(response: Response) -> None:
        task = asyncio.current_task()
        assert task is not None
        handler_tasks.append(task)
        await release.wait()

    stream = Stream(
        uri=sim.uri, dispatch="task", max_pending_tasks=LIMIT, reconnect_policy=FAST_RECONNECT
    )
    stream.add_handler(slow)
    stream.subscribe(
        [
            Subscription(channel=Channel.TRADE, market="btcusdt"),
            Subscription(channel=Channel.TICKER, market="btcusdt"),
        ]
    )
    async with running(stream):
        await eventually(lambda: len(handler_tasks) >= LIMIT, what="the task limit")
        await asyncio.sleep(0.1)  # the simulator keeps sending meanwhile
        held = stream.stats.messages
        assert LIMIT <= held <= LIMIT + SLACK
        assert len(handler_tasks) == LIMIT
        await asyncio.sleep(0.1)
        assert stream.stats.messages == held

        release.set()
        await eventually(lambda: stream.stats.messages > held + 20, what="the stream resuming")
    assert all(task.done() for task in handler_tasks)
    assert len(handler_tasks) > LIMIT
