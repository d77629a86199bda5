"""Dispatcher cost per frame: compiled class vs its pure-Python twin, per mode and event loop.

Each round drives ``DISPATCHES`` frames through one dispatcher inside a running loop, exactly
as the stream does (``pending = dispatch(r); if pending is not None: await pending``), so the
cost of entering the loop is spread over many frames. Divide a round's time by
``DISPATCHES`` for the cost of one dispatch (handler included). Task mode also counts running
the tasks and their done callbacks; queue mode starts each round with a fresh queue.
``direct-call`` is the floor: the same loop calling the one sync handler itself.

The ``routed-*`` scenarios dispatch decoded ``book`` updates cycling over ten markets to
filtered handlers (``Route``): ``routed-1`` has one route for one market (called on a tenth
of the frames), ``routed-10`` one route per market (exactly one called per frame).
``self-filtered-10`` is what a user does without routes: ten plain handlers, each testing the
frame's market itself (ten Python calls per frame).

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
from maicoin.ws._frames.decode import decode_response
from maicoin.ws._frames.routing import Route
from maicoin.ws.errors import HandlerError
from maicoin.ws.response import Response

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


MARKETS = [f"market{n}" for n in range(10)]
BOOK_UPDATES: list[Response] = [
    decode_response(
        f'{{"c":"book","M":"{MARKETS[n % 10]}","e":"update","a":[],"b":[],"T":1}}'.encode()
    )
    for n in range(DISPATCHES)
]


def self_filtered(market: str) -> Handler:
    """A plain handler that looks at every frame and keeps its market's."""

    def handler(response: Response) -> None:
        if response.market == market:
            record(response)

    return handler


SCENARIOS: dict[str, tuple[str, list[Handler]]] = {
    "inline-sync": ("inline", [record]),
    "inline-async": ("inline", [record_async]),
    "task": ("task", [record_async]),
    "queue": ("queue", []),
    "routed-1": ("inline", [Route(record, channel="book", market=MARKETS[0])]),
    "routed-10": ("inline", [Route(record, channel="book", market=m) for m in MARKETS]),
    "self-filtered-10": ("inline", [self_filtered(m) for m in MARKETS]),
}
# Frames of each scenario: plain ints where the handlers never look at them.
FRAMES: dict[str, list[Any]] = {
    name: BOOK_UPDATES if name.startswith(("routed", "self-filtered")) else list(range(DISPATCHES))
    for name in SCENARIOS
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


async def drive(dispatcher: Dispatcher, frames: list[Any]) -> None:
    dispatch = dispatcher.dispatch
    for frame in frames:
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

    frames = FRAMES[scenario]

    def run(dispatcher: Dispatcher) -> None:
        loop.run_until_complete(drive(dispatcher, frames))

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
