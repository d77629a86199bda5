"""The simulator's trading truth: resting orders, partial and full fills, cancels, both
wallets, snapshots that agree with the truth, and updates held back behind newer ones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from conftest import ClientFactory, client_factory, manual_simulator

from maicoin.ws.testing import ManualClock, MaxSimulator, auth_request

ALL_WALLETS = ["order", "trade", "account", "mwallet_order", "mwallet_trade", "mwallet_account"]


def now_ms(clock: ManualClock) -> int:
    return int(clock() * 1000)


async def test_a_partial_then_a_full_fill_move_the_order_balances_and_trades(
    sim: MaxSimulator,
) -> None:
    before = sim.balances("key")
    order_id = sim.place_order("key", "btcusdt", "bid", "50000.00", "0.003000", fill=False)
    resting = {o["i"]: o for o in sim.open_orders("key")}[order_id]
    assert (resting["S"], resting["rv"], resting["tc"]) == ("wait", "0.003000", 0)
    assert Decimal(sim.balances("key")["usdt"]["l"]) - Decimal(before["usdt"]["l"]) == 150

    sim.fill_order("key", order_id, "0.001000")
    partial = {o["i"]: o for o in sim.open_orders("key")}[order_id]
    assert (partial["S"], partial["rv"], partial["ev"], partial["tc"]) == (
        "wait",
        "0.002000",
        "0.001000",
        1,
    )
    trade = sim.trades("key")[0]
    assert (trade["oi"], trade["v"], trade["fc"], trade["f"]) == (
        order_id,
        "0.001000",
        "btc",
        "0.00000150",
    )
    assert trade["TU"] > resting["TU"]

    sim.fill_order("key", order_id)
    assert order_id not in {o["i"] for o in sim.open_orders("key")}
    after = sim.balances("key")
    # 0.003 BTC bought at 50000, less 0.15 % of it; 150 USDT paid from the lock.
    assert Decimal(after["btc"]["av"]) - Decimal(before["btc"]["av"]) == Decimal("0.0029955")
    assert Decimal(after["usdt"]["av"]) - Decimal(before["usdt"]["av"]) == -150
    assert after["usdt"]["l"] == before["usdt"]["l"]
    assert [t["v"] for t in sim.trades("key")[:2]] == ["0.002000", "0.001000"]


async def test_fill_and_cancel_arguments_are_checked(sim: MaxSimulator) -> None:
    order_id = sim.place_order("key", "btcusdt", "ask", "90000.00", "0.002000", fill=False)
    with pytest.raises(ValueError, match=r"exceeds the 0\.002000 remaining"):
        sim.fill_order("key", order_id, "0.003000")
    with pytest.raises(ValueError, match="volume must be positive"):
        sim.fill_order("key", order_id, "-1")
    sim.cancel_order("key", order_id)
    with pytest.raises(ValueError, match=f"no open order with id {order_id}"):
        sim.fill_order("key", order_id)


async def test_snapshots_on_auth_are_the_truth(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    sim.simulate_trading("key", 200)
    async with client() as c:
        await c.send(auth_request("key", "secret", now_ms(clock), filters=ALL_WALLETS))
        assert (await c.recv())["e"] == "authenticated"
        snapshots = {frame["e"]: frame for frame in await c.drain()}
    for prefix, m_wallet in (("", False), ("mwallet_", True)):
        orders = snapshots[f"{prefix}order_snapshot"]["o"]
        assert orders == sim.open_orders("key", m_wallet=m_wallet)
        balances = snapshots[f"{prefix}account_snapshot"]["B"]
        assert {b["cu"]: b for b in balances} == sim.balances("key", m_wallet=m_wallet)
        trades = snapshots[f"{prefix}trade_snapshot"]["t"]
        assert trades == sim.trades("key", m_wallet=m_wallet)[:20]
    # 200 changes touch both wallets and leave orders resting in each.
    assert sim.open_orders("key") and sim.open_orders("key", m_wallet=True)
    assert len(sim.trades("key", m_wallet=True)) > 5


async def test_simulated_trading_has_every_flow(sim: MaxSimulator) -> None:
    states: dict[str, int] = {}
    partial = 0
    for _ in range(300):
        for event in sim.account("key").simulate_activity(int(sim.clock() * 1000)):
            if event.event.endswith("order_update"):
                order: dict[str, Any] = event.value[0]
                states[order["S"]] = states.get(order["S"], 0) + 1
                partial += order["S"] == "wait" and order["tc"] > 0
    assert {"wait", "done", "cancel"} <= set(states)
    assert partial > 0


async def _private_frames(clock: ManualClock, seed: int, reorder: float) -> list[dict[str, Any]]:
    async with manual_simulator(clock, seed=seed, reorder_private=reorder) as sim:
        open_client = client_factory(sim)
        async with open_client() as c:
            await c.send(auth_request("key", "secret", now_ms(clock)))
            await c.recv()
            await c.drain()
            sim.simulate_trading("key", 100)
            return await c.drain()


async def test_reordered_updates_arrive_stale_and_are_seeded(clock: ManualClock) -> None:
    frames = await _private_frames(clock, 5, 0.3)
    assert frames == await _private_frames(clock, 5, 0.3)
    in_order = await _private_frames(clock, 5, 0.0)
    assert sorted(map(repr, frames)) == sorted(map(repr, in_order))
    assert frames != in_order

    def stale_arrivals(frames: list[dict[str, Any]]) -> int:
        newest: dict[int, int] = {}
        stale = 0
        for frame in frames:
            for order in frame.get("o", ()):
                stale += order["TU"] < newest.get(order["i"], 0)
                newest[order["i"]] = max(order["TU"], newest.get(order["i"], 0))
        return stale

    assert stale_arrivals(in_order) == 0
    assert stale_arrivals(frames) > 0
