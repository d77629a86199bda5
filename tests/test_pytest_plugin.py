"""The pytest plugin: ``max_simulator`` and friends, here and in a project of their own.

The first tests run in this suite (pytest-asyncio in auto mode, each test on asyncio's loop
and on uvloop's). The last ones run pytest in a fresh directory holding only a test file:
no conftest, no ini, no async configuration, with pytest-asyncio disabled, installed but
unconfigured, and in auto mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from streamkit import eventually

from maicoin.ws import Channel, ReconnectPolicy, Stream, Subscription
from maicoin.ws.testing import Faults, MaxSimulator
from maicoin.ws.testing.pytest_plugin import (
    API_SECRET,
    DEFAULT_MARKETS,
    SimulatorCredentials,
    SimulatorFactory,
)

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)


def loop_recording_clock(loops: set[asyncio.AbstractEventLoop]) -> Callable[[], float]:
    """A simulator clock that notes every event loop the simulator reads it on."""

    def clock() -> float:
        with contextlib.suppress(RuntimeError):  # read outside a loop: nothing to note
            loops.add(asyncio.get_running_loop())
        return time.time()

    return clock


async def first_ticker(stream: Stream) -> None:
    async with asyncio.timeout(20):
        async for response in stream:
            if response.channel == "ticker":
                return


async def test_the_simulator_serves_on_the_loop_that_runs_the_test(
    max_simulator_factory: SimulatorFactory,
) -> None:
    loops: set[asyncio.AbstractEventLoop] = set()
    sim = await max_simulator_factory(clock=loop_recording_clock(loops))
    stream = Stream(uri=sim.uri)
    stream.subscribe([TICKER])
    async with stream:
        await first_ticker(stream)
    assert loops == {asyncio.get_running_loop()}


@pytest.mark.asyncio(loop_scope="module")
async def test_a_module_scoped_test_gets_its_simulator_on_the_module_loop(
    max_simulator_factory: SimulatorFactory,
) -> None:
    loops: set[asyncio.AbstractEventLoop] = set()
    sim = await max_simulator_factory(clock=loop_recording_clock(loops))
    sim.step(3)
    assert loops == {asyncio.get_running_loop()}


async def test_max_simulator_accepts_max_credentials_and_takes_direct_calls(
    max_simulator: MaxSimulator, max_credentials: SimulatorCredentials
) -> None:
    assert sorted(max_simulator.markets) == sorted(DEFAULT_MARKETS)
    stream = Stream(*max_credentials, uri=max_simulator.uri)
    stream.subscribe(
        [Subscription(channel=Channel.ORDER), Subscription(channel=Channel.BOOK, market="btcusdt")]
    )
    events: set[str] = set()
    async with stream:
        async with asyncio.timeout(20):
            async for response in stream:
                events.add(str(response.event))
                if {"authenticated", "order_snapshot"} <= events and stream.books["btcusdt"].synced:
                    break
        max_simulator.inject_gap("btcusdt")
        await eventually(lambda: stream.stats.resyncs == 1, within=20, what="a resync")


async def test_the_factory_takes_markets_keys_and_faults(
    max_simulator_factory: SimulatorFactory,
) -> None:
    sim = await max_simulator_factory(
        markets=["ethusdt"], api_keys={"bot": "s3cret"}, faults=Faults(close_after_frames=4)
    )
    assert list(sim.markets) == ["ethusdt"] and sim.api_keys == {"bot": "s3cret"}
    stream = Stream("bot", "s3cret", uri=sim.uri, reconnect_policy=FAST)
    stream.subscribe([Subscription(channel=Channel.TICKER, market="ethusdt")])
    async with stream:
        await sim.wait_until(lambda: stream.stats.connections >= 2, within=20)
    assert len(sim.all_connections) >= 2
    assert max_simulator_factory.simulators == [sim]


@pytest.fixture
async def ticker_stream(max_simulator: MaxSimulator) -> AsyncIterator[Stream]:
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([TICKER])
    async with stream:
        yield stream


async def test_an_async_fixture_can_build_on_max_simulator(ticker_stream: Stream) -> None:
    await first_ticker(ticker_stream)


def test_a_synchronous_test_gets_a_simulator_on_a_background_loop(
    max_simulator: MaxSimulator, max_simulator_factory: object
) -> None:
    from maicoin.ws.testing.pytest_plugin import ThreadedSimulatorFactory

    assert isinstance(max_simulator_factory, ThreadedSimulatorFactory)
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([TICKER])
    stream.add_handler(lambda response: stream.stop() if response.channel == "ticker" else None)
    stream.run()
    assert max_simulator_factory.call(lambda: len(max_simulator.all_connections)) == 1
    max_simulator_factory.call(max_simulator.wait_until, lambda: not max_simulator.connections)
    other = max_simulator_factory(markets=["ethusdt"])
    assert max_simulator_factory.simulators == [max_simulator, other]


def test_the_credentials_repr_hides_the_secret(max_credentials: SimulatorCredentials) -> None:
    assert API_SECRET not in repr(max_credentials)
    assert tuple(max_credentials) == (max_credentials.api_key, API_SECRET)


def test_the_plugin_is_registered_through_its_entry_point(pytestconfig: pytest.Config) -> None:
    entries = importlib.metadata.entry_points(group="pytest11")
    (entry,) = [e for e in entries if e.name == "maicoin_ws"]
    assert entry.value == "maicoin.ws.testing.pytest_plugin"
    assert pytestconfig.pluginmanager.hasplugin("maicoin_ws")


# -- a project with no configuration ----------------------------------------------------------

PROJECT_TEST = """
import asyncio
import socket
from urllib.parse import urlsplit

import pytest

from maicoin.ws import Channel, ReconnectPolicy, Stream, Subscription
from maicoin.ws.testing import Faults
from maicoin.ws.testing.pytest_plugin import DEFAULT_MARKETS

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
SEEN = {}


async def test_a_stream_gets_public_and_private_data(max_simulator, max_credentials):
    SEEN["uri"] = max_simulator.uri
    stream = Stream(*max_credentials, uri=max_simulator.uri)
    stream.subscribe([TICKER, Subscription(channel=Channel.ORDER)])
    events = set()
    async with asyncio.timeout(20):
        async with stream:
            async for response in stream:
                events.add(str(response.event))
                if {"authenticated", "order_snapshot", "snapshot"} <= events:
                    break
        # Awaiting the simulator works only on the loop it serves on.
        await max_simulator.wait_until(lambda: not max_simulator.connections, within=20)
    assert sorted(max_simulator.markets) == sorted(DEFAULT_MARKETS)


def test_the_simulator_of_the_previous_test_was_stopped():
    address = urlsplit(SEEN["uri"])
    with pytest.raises(OSError):
        socket.create_connection((address.hostname, address.port), timeout=5).close()


async def test_the_factory_makes_custom_simulators(max_simulator_factory):
    sim = await max_simulator_factory(
        markets=["ethusdt"], api_keys={"bot": "s3cret"}, faults=Faults(close_after_frames=4)
    )
    policy = ReconnectPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)
    stream = Stream("bot", "s3cret", uri=sim.uri, reconnect_policy=policy)
    stream.subscribe([Subscription(channel=Channel.TICKER, market="ethusdt")])
    async with stream:
        await sim.wait_until(lambda: len(sim.all_connections) >= 2, within=20)
    assert list(sim.markets) == ["ethusdt"]


def test_a_synchronous_test_gets_one_too(max_simulator, max_simulator_factory):
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([TICKER])
    stream.add_handler(lambda response: stream.stop() if response.channel == "ticker" else None)
    stream.run()
    assert max_simulator_factory.call(lambda: len(max_simulator.all_connections)) == 1


async def test_a_plain_coroutine_still_runs_on_the_test_loop(max_simulator):
    await asyncio.sleep(0)
    max_simulator.step(2)


async def test_a_failing_assertion_fails(max_simulator):
    assert max_simulator.uri == "somewhere else"
"""

PYTEST_ASYNCIO_MODES = {
    "without-pytest-asyncio": ["-p", "no:asyncio"],
    "pytest-asyncio-unconfigured": [],
    "pytest-asyncio-auto-mode": ["-o", "asyncio_mode=auto"],
}


@pytest.mark.parametrize("mode", PYTEST_ASYNCIO_MODES)
def test_a_project_without_any_configuration_runs_async_tests(tmp_path: Path, mode: str) -> None:
    (tmp_path / "test_bot.py").write_text(textwrap.dedent(PROJECT_TEST))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rf", "test_bot.py"]
        + PYTEST_ASYNCIO_MODES[mode],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout + result.stderr
    assert "configfile" not in out  # nothing configured pytest
    assert "not natively supported" not in out
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"=+ 1 failed, 5 passed in [\d.]+s( \([\d:]+\))? =+", summary), out
    assert "FAILED test_bot.py::test_a_failing_assertion_fails" in out
    assert result.returncode == 1
