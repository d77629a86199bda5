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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple, TypeVar

import pytest

from .._loop_thread import LoopThread
from .faults import Faults
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

T = TypeVar("T")

DEFAULT_MARKETS: Final = ("btcusdt", "ethusdt")
"""Markets of ``max_simulator`` and of the factory's simulators unless told otherwise."""
API_KEY: Final = "test-key"
"""The API key ``max_simulator`` (and the factory, without ``api_keys=``) accepts."""
API_SECRET: Final = "test-secret"
"""The secret of ``API_KEY``."""
CALL_TIMEOUT: Final = 30.0
"""Seconds a synchronous test waits for the simulator's loop thread before failing."""

_RUNNER = pytest.StashKey[asyncio.Runner]()
"""The plugin's own loop for a coroutine test that no other plugin runs."""


class SimulatorCredentials(NamedTuple):
    """An API key and secret the simulator accepts; ``Stream(*credentials, uri=...)``."""

    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return f"SimulatorCredentials(api_key={self.api_key!r}, api_secret='…')"


class SimulatorFactory:
    """``await factory(**options)`` starts a ``MaxSimulator`` on the running loop; every
    simulator it started is stopped after the test."""

    def __init__(self) -> None:
        self.simulators: list[MaxSimulator] = []
        """Every simulator started for this test, oldest first."""

    async def __call__(
        self,
        *,
        markets: Iterable[str] = DEFAULT_MARKETS,
        api_keys: Mapping[str, str] | None = None,
        faults: Faults | None = None,
        **options: Any,
    ) -> MaxSimulator:
        """Start a simulator: ``markets``, accepted ``api_keys`` (default ``{API_KEY:
        API_SECRET}``), ``faults`` for every connection, and any other ``MaxSimulator``
        keyword (``seed``, ``update_interval``, ``clock``, ...)."""
        simulator = MaxSimulator(
            markets=markets,
            api_keys={API_KEY: API_SECRET} if api_keys is None else api_keys,
            faults=faults,
            **options,
        )
        await simulator.start()
        self.simulators.append(simulator)
        return simulator

    async def aclose(self) -> None:
        """Stop every simulator started, newest first."""
        while self.simulators:
            await self.simulators.pop().stop()


class ThreadedSimulatorFactory:
    """The factory of a synchronous test: simulators on a loop in a background thread.

    ``factory(**options)`` (no ``await``) starts one; ``factory.call(function, *args)`` runs
    ``function(*args)`` on that loop, awaiting it when it returns an awaitable.
    """

    def __init__(self, loop_thread: LoopThread) -> None:
        self._loop_thread = loop_thread
        self._factory = SimulatorFactory()

    @property
    def simulators(self) -> list[MaxSimulator]:
        """Every simulator started for this test, oldest first."""
        return self._factory.simulators

    def __call__(
        self,
        *,
        markets: Iterable[str] = DEFAULT_MARKETS,
        api_keys: Mapping[str, str] | None = None,
        faults: Faults | None = None,
        **options: Any,
    ) -> MaxSimulator:
        """Start a simulator (the same keywords as ``SimulatorFactory``)."""
        return self._loop_thread.run(
            self._factory(markets=markets, api_keys=api_keys, faults=faults, **options),
            timeout=CALL_TIMEOUT,
        )

    def call(self, function: Callable[..., T | Awaitable[T]], *args: Any) -> T:
        """``function(*args)`` on the simulators' loop (awaited when awaitable); its result."""

        async def on_loop() -> T:
            result = function(*args)
            if inspect.isawaitable(result):
                return await result
            return result

        return self._loop_thread.run(on_loop(), timeout=CALL_TIMEOUT)

    def close(self) -> None:
        """Stop every simulator, then the loop thread."""
        try:
            self._loop_thread.run(self._factory.aclose(), timeout=CALL_TIMEOUT)
        finally:
            self._loop_thread.stop(CALL_TIMEOUT)


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
