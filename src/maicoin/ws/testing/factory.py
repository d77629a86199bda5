"""Simulators started for one test and stopped after it: what the pytest fixtures hand out.

``SimulatorFactory`` starts simulators on the running event loop (``await factory(...)``);
``ThreadedSimulatorFactory`` does it for synchronous code, on a loop in a background thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple, TypeVar

from .._loop_thread import LoopThread
from .faults import Faults
from .server import MaxSimulator

__all__ = [
    "API_KEY",
    "API_SECRET",
    "CALL_TIMEOUT",
    "DEFAULT_MARKETS",
    "SimulatorCredentials",
    "SimulatorFactory",
    "ThreadedSimulatorFactory",
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
