"""The account caches of a real Stream against the simulator over loopback: after thousands
of random private events, some delivered stale, with connections dropped in between, they
equal the simulator's truth (run on both twins: normally and with MAICOIN_WS_NO_EXTENSIONS=1)."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from accountkit import EVERY_WALLET_FILTER, KEY, SECRET, assert_equals_truth
from streamkit import FAST_RECONNECT, TRANSPORTS, eventually, running, use_transport

from maicoin.ws import Response, Stream
from maicoin.ws._frames import frame_path
from maicoin.ws.stream import StreamState
from maicoin.ws.testing import MaxSimulator, SimConnection

README = Path(__file__).resolve().parents[1] / "README.md"


def simulator(**options: Any) -> MaxSimulator:
    return MaxSimulator(
        api_keys={KEY: SECRET},
        update_interval=None,
        private_every=None,
        pool_quota_every=None,
        **options,
    )


def account_stream(sim: MaxSimulator, **options: Any) -> Stream:
    return Stream(
        KEY,
        SECRET,
        uri=sim.uri,
        auth_filters=EVERY_WALLET_FILTER,
        reconnect_policy=FAST_RECONNECT,
        **options,
    )


def live_connection(sim: MaxSimulator) -> SimConnection | None:
    found = [c for c in sim.connections if c.authenticated and c.open and not c.aborted]
    return found[-1] if found else None


async def settled(stream: Stream, sim: MaxSimulator) -> SimConnection:
    """Wait until the stream is connected and has applied every frame sent to it so far
    (the application ping's pong comes after them on the connection)."""
    for _ in range(20):
        await eventually(
            lambda: stream.state is StreamState.CONNECTED and live_connection(sim) is not None,
            within=10,
            what="a connected stream",
        )
        try:
            await stream.ping(timeout=5)
        except (ConnectionError, TimeoutError):
            continue  # dropped while asking: wait for the next connection
        connection = live_connection(sim)
        if connection is not None and stream.connected:
            return connection
    raise AssertionError("the stream never stayed connected long enough to answer a ping")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_account_equals_the_truth_after_random_trading_and_drops(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_transport(transport, monkeypatch)
    seed = 3
    rng = random.Random(seed)
    private: list[Response] = []
    async with simulator(seed=seed, reorder_private=0.2) as sim:
        stream = account_stream(sim)
        stream.add_handler(lambda r: private.append(r) if r.channel == "user" else None)
        drops = 0
        async with running(stream):
            for _ in range(40):
                connection = await settled(stream, sim)
                assert_equals_truth(stream, sim)
                drop = rng.choice(("none", "abort", "abort_mid_batch", "close"))
                if drop == "abort_mid_batch":
                    connection.faults.abort_after_frames = connection.frames_sent + rng.randint(
                        1, 60
                    )
                sim.simulate_trading(KEY, rng.randint(20, 60))
                if drop == "abort":
                    connection.abort()
                elif drop == "close":
                    await connection.close(1001, "going away")
                if drop != "none":
                    drops += 1
                    # Trading goes on while the stream is away: its snapshots must tell.
                    sim.simulate_trading(KEY, rng.randint(0, 15))
                connection.faults.abort_after_frames = None
            await settled(stream, sim)
            assert_equals_truth(stream, sim)
        stale = sum(
            c.stale_updates
            for c in (
                stream.orders,
                stream.mwallet_orders,
                stream.balances,
                stream.mwallet_balances,
            )
        )
    assert len(private) > 2000
    assert drops > 10 and stream.stats.connections > 10
    assert stale > 20  # reordered updates were there, and were ignored
    assert {"fast_trade_update", "mwallet_fast_trade_update"} <= {str(r.event) for r in private}
    assert frame_path.IMPLEMENTATION in ("c", "py")


async def test_a_handler_sees_the_account_with_its_own_frame_applied() -> None:
    seen: list[tuple[str, int, bool, str | None]] = []
    async with simulator(seed=1) as sim:
        stream = account_stream(sim)

        def on_response(response: Response) -> None:
            if response.channel != "user" or not response.orders:
                return
            order = response.orders[0]
            held = stream.orders.get(order.order_id) or stream.mwallet_orders.get(order.order_id)
            seen.append(
                (str(response.event), order.order_id, held is not None, held and held.state)
            )

        stream.add_handler(on_response)
        async with running(stream):
            await settled(stream, sim)
            order_id = sim.place_order(KEY, "btcusdt", "bid", "20000.00", "0.002000", fill=False)
            sim.fill_order(KEY, order_id, "0.001000")
            sim.cancel_order(KEY, order_id)
            await settled(stream, sim)
    mine = [entry for entry in seen if entry[1] == order_id]
    assert mine == [
        ("order_update", order_id, True, "wait"),
        ("order_update", order_id, True, "wait"),
        ("order_update", order_id, False, None),  # cancelled: gone when the handler runs
    ]


async def test_the_caches_are_unsynced_from_a_drop_until_their_snapshots() -> None:
    seen: list[tuple[str, bool, bool]] = []
    at_disconnect: list[bool] = []
    async with simulator(seed=2) as sim:
        stream = account_stream(
            sim, on_disconnected=lambda error: at_disconnect.append(stream.orders.synced)
        )
        stream.add_handler(
            lambda r: seen.append((str(r.event), stream.orders.synced, stream.balances.synced))
        )
        async with running(stream):
            first = await settled(stream, sim)
            assert stream.orders.synced and stream.balances.synced
            seen.clear()
            first.abort()
            await eventually(lambda: len(sim.all_connections) == 2, what="a reconnect")
            await settled(stream, sim)
    assert at_disconnect[:1] == [False]
    events = [event for event, _, _ in seen]
    orders_at = events.index("order_snapshot")
    balances_at = events.index("account_snapshot")
    assert events[0] == "authenticated" and seen[0][1:] == (False, False)
    assert all(not synced for _, synced, _ in seen[:orders_at])
    assert all(synced for _, synced, _ in seen[orders_at:])
    assert all(not synced for _, _, synced in seen[:balances_at])
    assert all(synced for _, _, synced in seen[balances_at:])


def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("\n## Trading state\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section.split("\n## ", 1)[0], flags=re.S)
    assert code is not None
    script = tmp_path / "trading_state.py"
    script.write_text(code[1], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "synced True True True",
        "order wait 0: open",
        "order wait 0.001000: open",
        "order cancel 0.001000: gone",
        "usdt available 999944.11100000 locked 5.88000000",
        "trade bid 0.001000 @ 50000.00 fee 0.00000150",
        "trade bid 0.000100 @ 60000.00 fee 0.00000015",
        "1 open spot orders, 0 M-Wallet",
    ]
