"""Keepalive and liveness on both transports, against the simulator over loopback.

The live exchange drops a connection on which no frame went either way for 60 s and never
pings itself; the simulator does the same with a shorter ``idle_timeout``. The client's
protocol pings keep a quiet subscription alive, and a connection whose pongs stop is
replaced within ``ping_interval + ping_timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from streamkit import FAST_RECONNECT, TRANSPORTS, eventually, use_transport

from maicoin.ws import Channel, Stream, Subscription
from maicoin.ws.testing import Faults, MaxSimulator

BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
IDLE_TIMEOUT = 2.0
# A ping every 0.4 s on both transports, well inside the idle timeout on a loaded machine.
KEEPALIVE = {"ping_interval": 0.4, "ping_timeout": 0.4}
QUIET_FOR = 3 * IDLE_TIMEOUT


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name = str(request.param)
    use_transport(name, monkeypatch)
    return name


@pytest.fixture
async def quiet_sim() -> AsyncIterator[MaxSimulator]:
    """A market that never moves: after the snapshot, only pings and pongs cross the wire."""
    async with MaxSimulator(update_interval=None, idle_timeout=IDLE_TIMEOUT, seed=3) as sim:
        yield sim


async def test_a_quiet_subscription_survives_the_idle_close(
    quiet_sim: MaxSimulator, transport: str
) -> None:
    disconnected: list[BaseException | None] = []
    stream = Stream(
        uri=quiet_sim.uri,
        reconnect_policy=FAST_RECONNECT,
        on_disconnected=disconnected.append,
        **KEEPALIVE,
    )
    stream.subscribe([BOOK])
    async with stream:
        await eventually(lambda: stream.books["btcusdt"].synced, what="book synced")
        await asyncio.sleep(QUIET_FOR)  # the silence under test: three idle timeouts long
        connection = quiet_sim.all_connections[0]
        assert connection.open and not connection.idle_closed
        assert connection.pings_received >= 2  # kept alive by pings, not by market frames
        assert disconnected == [] and stream.stats.connections == 1


async def test_without_pings_the_idle_close_drops_the_connection(
    quiet_sim: MaxSimulator, transport: str
) -> None:
    """The control: the same quiet stream without pings is dropped, and reconnects."""
    stream = Stream(uri=quiet_sim.uri, reconnect_policy=FAST_RECONNECT, ping_interval=None)
    stream.subscribe([BOOK])
    async with stream:
        await eventually(lambda: stream.books["btcusdt"].synced, what="book synced")
        await eventually(
            lambda: stream.stats.connections >= 2, within=QUIET_FOR, what="reconnect after idle"
        )
        assert quiet_sim.all_connections[0].idle_closed
        await eventually(lambda: stream.books["btcusdt"].synced, what="book synced again")


@pytest.mark.parametrize(("ping_interval", "ping_timeout"), [(1.0, 0.5), (0.6, 0.6)])
async def test_stopped_pongs_are_detected_within_interval_plus_timeout(
    transport: str, ping_interval: float, ping_timeout: float
) -> None:
    loop = asyncio.get_running_loop()
    lost_at: list[float] = []
    async with MaxSimulator(update_interval=None, idle_timeout=None, seed=5) as sim:
        stream = Stream(
            uri=sim.uri,
            reconnect_policy=FAST_RECONNECT,
            on_disconnected=lambda error: lost_at.append(loop.time()),
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        stream.subscribe([BOOK])
        async with stream:
            await eventually(lambda: stream.books["btcusdt"].synced, what="book synced")
            first = sim.all_connections[0]
            await eventually(lambda: first.pings_received >= 1, within=5, what="a first ping")
            first.faults = Faults(mute_pings=True)  # from here on its pings go unanswered
            muted_at = loop.time()
            await eventually(lambda: lost_at, within=5, what="the dead connection detected")
            # The next ping leaves within ping_interval and is given ping_timeout; a quarter
            # second covers the loop's own scheduling on a busy machine.
            assert lost_at[0] - muted_at <= ping_interval + ping_timeout + 0.25
            await eventually(lambda: stream.stats.connections == 2, what="the reconnect")
            await eventually(lambda: stream.books["btcusdt"].synced, what="book synced again")
            assert not first.open and sim.all_connections[1].open
