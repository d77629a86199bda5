"""The account caches of a consumer checked against the simulator's truth."""

from __future__ import annotations

from typing import Any

import msgspec

from maicoin.ws import Stream
from maicoin.ws.testing import MaxSimulator

KEY, SECRET = "trader", "trader-secret-never-logged"
EVERY_WALLET_FILTER = [
    "order",
    "trade",
    "account",
    "fast_trade_update",
    "mwallet_order",
    "mwallet_trade",
    "mwallet_fast_trade_update",
    "mwallet_account",
]
SNAPSHOT_TRADES = 20  # what a trade snapshot carries: the newest the stream can always have


def wire(model: msgspec.Struct) -> dict[str, Any]:
    """A decoded model as the wire object it came from (unset keys left out)."""
    return {k: v for k, v in msgspec.to_builtins(model).items() if v is not None}


def without_none(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v is not None}


def assert_equals_truth(
    stream: Stream, sim: MaxSimulator, key: str = KEY, *, m_wallet_too: bool = True
) -> None:
    """The orders, balances and trades of ``stream`` (spot, and M-Wallet unless not
    ``m_wallet_too``) are the simulator's truth."""
    wallets = [
        (False, stream.orders, stream.balances, stream.trades),
        (True, stream.mwallet_orders, stream.mwallet_balances, stream.mwallet_trades),
    ]
    for m_wallet, orders, balances, trades in wallets[: 2 if m_wallet_too else 1]:
        assert orders.synced and balances.synced and trades.synced
        truth_orders = {o["i"]: without_none(o) for o in sim.open_orders(key, m_wallet=m_wallet)}
        assert {i: wire(o) for i, o in orders.items()} == truth_orders
        truth_balances = sim.balances(key, m_wallet=m_wallet)
        assert {c: wire(b) for c, b in balances.items()} == {
            c: without_none(b) for c, b in truth_balances.items()
        }
        truth_trades = sim.trades(key, m_wallet=m_wallet)
        newest = [without_none(t) for t in truth_trades[:SNAPSHOT_TRADES]]
        assert [wire(t) for t in trades(limit=SNAPSHOT_TRADES)] == newest
        # Older trades may be missing (lost with a connection, beyond the snapshot); those
        # held are the truth, or its fast form when the full one was lost.
        by_id = {t["i"]: without_none(t) for t in truth_trades}
        for held in trades():
            expected = by_id[held.id]
            if held.fee is None:
                expected = {k: v for k, v in expected.items() if k not in ("f", "fc", "fd")}
            assert wire(held) == expected
