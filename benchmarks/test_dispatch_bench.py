"""Dispatcher cost per frame: compiled class vs its pure-Python twin, per mode and event loop.

Each round drives ``DISPATCHES`` frames through one dispatcher inside a running loop, exactly
as the stream does (``pending = dispatch(r); if pending is not None: await pending``), so the
cost of entering the loop is spread over many frames. Divide a round's time by
``DISPATCHES`` for the cost of one dispatch (handler included). Task mode also counts running
the tasks and their done callbacks; queue mode starts each round with a fresh queue.
``direct-call`` is the floor: the same loop calling the one sync handler itself.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest benchmarks/test_dispatch_bench.py``
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from maicoin.ws._frames import _dispatch_c, _dispatch_py
from maicoin.ws._frames._dispatch_py import Dispatcher, Handler
from maicoin.ws.errors import HandlerError

DISPATCHES = 10_000
ROUNDS = 15

IMPLEMENTATIONS = {"c": _dispatch_c, "py": _dispatch_py}
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
try:
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - platforms without uvloop
    pass


def record(response: Any) -> None:
    """The cheapest useful sync handler."""


async def record_async(response: Any) -> None:
    """The cheapest async handler."""


SCENARIOS: dict[str, tuple[str, list[Handler]]] = {
    "inline-sync": ("inline", [record]),
    "inline-async": ("inline", [record_async]),
    "task": ("task", [record_async]),
    "queue": ("queue", []),
}


def refuse(error: HandlerError) -> None:
    raise AssertionError("benchmark handlers never fail") from error


@pytest.fixture(params=list(LOOPS))
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = LOOPS[request.param]()
    yield event_loop
    event_loop.close()


def measure(
    benchmark: BenchmarkFixture,
    target: Callable[..., None],
    setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None,
) -> None:
    pedantic: Callable[..., None] = benchmark.pedantic  # untyped upstream
    pedantic(target, setup=setup, rounds=ROUNDS, warmup_rounds=1)


async def drive(dispatcher: Dispatcher) -> None:
    dispatch = dispatcher.dispatch
    for frame in range(DISPATCHES):
        pending = dispatch(frame)
        if pending is not None:
            await pending
    # Task mode: one loop pass runs the tasks, the next their done callbacks.
    for _ in range(2):
        await asyncio.sleep(0)
    assert dispatcher.pending_tasks == 0


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_dispatch(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    scenario: str,
    implementation: str,
) -> None:
    mode, handlers = SCENARIOS[scenario]
    module: ModuleType = IMPLEMENTATIONS[implementation]
    benchmark.group = f"dispatch {scenario} ({type(loop).__module__.split('.')[0]})"
    benchmark.extra_info["dispatches_per_round"] = DISPATCHES

    def fresh() -> tuple[tuple[Dispatcher], dict[str, Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        return (module.Dispatcher(mode, handlers, queue, None, refuse),), {}

    def run(dispatcher: Dispatcher) -> None:
        loop.run_until_complete(drive(dispatcher))

    measure(benchmark, run, setup=fresh)


def test_direct_call(benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop) -> None:
    benchmark.group = f"dispatch direct-call ({type(loop).__module__.split('.')[0]})"
    benchmark.extra_info["dispatches_per_round"] = DISPATCHES

    async def call_directly() -> None:
        handler = record
        for frame in range(DISPATCHES):
            pending = handler(frame)
            if pending is not None:
                await pending

    measure(benchmark, lambda: loop.run_until_complete(call_directly()))
