"""pytest plugin: a ``MaxSimulator`` for each test, serving on the test's own event loop.

Installed with maicoin-ws (entry point ``pytest11``), so a project needs no conftest and no
async configuration to write::

    from maicoin.ws import Channel, Stream, Subscription

    async def test_my_bot_sees_a_ticker(max_simulator, max_credentials):
        stream = Stream(*max_credentials, uri=max_simulator.uri)
        stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
        async with stream:
            async for response in stream:
                if response.channel == "ticker":
                    break

Fixtures:

- ``max_simulator``: a started ``MaxSimulator`` with the markets ``DEFAULT_MARKETS`` that
  accepts ``max_credentials``; stopped after the test.
- ``max_simulator_factory``: more simulators with custom settings, stopped after the test:
  ``sim = await max_simulator_factory(markets=["ethusdt"], api_keys={"k": "s"},
  faults=Faults(close_after_frames=10))`` (any ``MaxSimulator`` keyword).
- ``max_credentials``: the ``SimulatorCredentials(api_key, api_secret)`` pair above.

The simulator always runs on the event loop that runs the test, so the test may call its
methods (``step``, ``inject_gap``, ``await wait_until(...)``) directly:

- a coroutine test that pytest-asyncio runs (its auto mode, or ``@pytest.mark.asyncio``)
  gets a simulator on pytest-asyncio's loop, of the test's loop scope;
- any other coroutine test using these fixtures (no pytest-asyncio, ``-p no:asyncio``, or
  strict mode without the mark) is run by this plugin on a fresh event loop of its own;
- a synchronous test (a bot using ``Stream.run()`` or ``ThreadedStream``) gets a simulator
  on a loop in a background thread. The factory is then called without ``await``, and the
  simulator's methods go through ``max_simulator_factory.call(sim.inject_gap, "btcusdt")``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

from .._loop_thread import LoopThread
from .factory import (
    API_KEY,
    API_SECRET,
    DEFAULT_MARKETS,
    SimulatorCredentials,
    SimulatorFactory,
    ThreadedSimulatorFactory,
)
from .server import MaxSimulator

__all__ = [
    "API_KEY",
    "API_SECRET",
    "DEFAULT_MARKETS",
    "SimulatorCredentials",
    "SimulatorFactory",
    "ThreadedSimulatorFactory",
    "max_credentials",
    "max_simulator",
    "max_simulator_factory",
]

_RUNNER = pytest.StashKey[asyncio.Runner]()
"""The plugin's own loop for a coroutine test that no other plugin runs."""


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def max_credentials() -> SimulatorCredentials:
    """The API key and secret ``max_simulator`` accepts."""
    return SimulatorCredentials(API_KEY, API_SECRET)


@pytest.fixture
def max_simulator_factory(
    request: pytest.FixtureRequest,
) -> Iterator[SimulatorFactory | ThreadedSimulatorFactory]:
    """Start simulators with custom settings: ``await max_simulator_factory(markets=...,
    api_keys=..., faults=...)`` (without ``await`` in a synchronous test)."""
    owner = _loop_owner(request)
    if owner == "thread":
        loop_thread = LoopThread(name="maicoin.ws simulator (pytest)")
        loop_thread.start()
        threaded = ThreadedSimulatorFactory(loop_thread)
        try:
            yield threaded
        finally:
            threaded.close()
    elif owner == "plugin":
        runner = asyncio.Runner()
        request.node.stash[_RUNNER] = runner
        factory = SimulatorFactory()
        try:
            yield factory
        finally:
            try:
                runner.run(factory.aclose())
            finally:
                runner.close()
                del request.node.stash[_RUNNER]
    else:  # pytest-asyncio runs the test: its own async fixture, on the test's loop
        yield request.getfixturevalue(f"_max_simulator_factory_on_{owner}_loop")


@pytest.fixture
def max_simulator(
    request: pytest.FixtureRequest,
    max_simulator_factory: SimulatorFactory | ThreadedSimulatorFactory,
) -> MaxSimulator:
    """A started simulator (markets ``DEFAULT_MARKETS``, key ``max_credentials``), stopped
    after the test; on the test's event loop (a background thread's in a synchronous test)."""
    if isinstance(max_simulator_factory, ThreadedSimulatorFactory):
        return max_simulator_factory()
    runner = request.node.stash.get(_RUNNER, None)
    simulator: MaxSimulator
    if runner is not None:
        simulator = runner.run(max_simulator_factory())
    else:
        simulator = request.getfixturevalue(f"_max_simulator_on_{_loop_owner(request)}_loop")
    return simulator


# -- hooks --------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """With pytest-asyncio active, add the fixtures that run on its loops."""
    if config.pluginmanager.hasplugin("asyncio"):
        from . import _pytest_asyncio_fixtures

        config.pluginmanager.register(_pytest_asyncio_fixtures, "maicoin-ws-pytest-asyncio")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a coroutine test that uses the fixtures and that no other plugin runs."""
    runner = pyfuncitem.stash.get(_RUNNER, None)
    if runner is None or not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    runner.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


def _loop_owner(request: pytest.FixtureRequest) -> str:
    """Who runs the test's event loop: ``"thread"`` (a synchronous test), ``"plugin"``, or
    pytest-asyncio's loop scope (``"function"``, ``"module"``, ...)."""
    item = request.node
    if not inspect.iscoroutinefunction(getattr(item, "obj", None)):
        return "thread"
    if not (isinstance(item, pytest.Function) and _run_by_pytest_asyncio(item)):
        return "plugin"
    marker = item.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope") if marker else None
    return str(scope or item.config.getini("asyncio_default_test_loop_scope") or "function")


def _run_by_pytest_asyncio(item: pytest.Function) -> bool:
    if not item.config.pluginmanager.hasplugin("asyncio"):
        return False
    from pytest_asyncio import is_async_test

    return is_async_test(item)
