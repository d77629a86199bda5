"""The account caches (``maicoin.ws.account``) and the keeper that feeds them ``user``
frames: stale updates, closed orders, de-duplicated trades, both wallets, and the frame
path (both twins) applying a private frame before its handlers see it."""

from __future__ import annotations

import json
import logging
from types import ModuleType
from typing import Any

import pytest
from twins import compiled, twin_fixture

from maicoin.ws import Balances, OpenOrders, Order, OwnTrades, Response
from maicoin.ws._frames import _frame_path_py
from maicoin.ws._frames.account import AccountKeeper
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._model import unix_ms_reader
from maicoin.ws.account import CLOSED_ORDERS_REMEMBERED, order_version
from maicoin.ws.stats import StreamStats

_frame_path_c = compiled("_frames._frame_path_c")
path_impl = twin_fixture(_frame_path_c, _frame_path_py)

decode = make_decoder()
T0 = 1_700_000_000_000


def order(
    order_id: int = 1, state: str = "wait", tu: int = T0, tc: int = 0, **keys: Any
) -> dict[str, Any]:
    return {
        "i": order_id,
        "sd": "bid",
        "ot": "limit",
        "p": "30000.10",
        "ap": "0",
        "v": "0.500000",
        "rv": "0.500000",
        "ev": "0",
        "S": state,
        "M": "btcusdt",
        "tc": tc,
        "T": T0,
        "TU": tu,
        **keys,
    }


def balance(
    currency: str = "usdt", available: str = "100.00000001", tu: int = T0
) -> dict[str, Any]:
    return {"cu": currency, "av": available, "l": "0.5", "TU": tu}


def trade(
    trade_id: int = 7, t: int = T0, fees: bool = True, market: str = "btcusdt"
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "i": trade_id,
        "M": market,
        "sd": "bid",
        "p": "30000.10",
        "v": "0.1",
        "fn": "3000.01",
        "T": t,
        "TU": t,
        "m": True,
        "oi": 1,
    }
    if fees:
        fields.update(f="0.00015", fc="btc", fd=False)
    return fields


def user(event: str, **payload: Any) -> Response:
    """A decoded ``user`` frame, as the frame path hands it to the keeper."""
    return decode(json.dumps({"c": "user", "e": event, "T": T0, **payload}))


def keeper() -> AccountKeeper:
    return AccountKeeper(StreamStats())


# -- open orders --------------------------------------------------------------------------


def test_a_stale_order_update_never_overwrites_a_newer_one() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(tu=T0 + 20, tc=1, ev="0.1", rv="0.4")]))
    k.apply(user("order_update", o=[order(tu=T0 + 10)]))
    held = k.orders[1]
    assert (held.executed_volume, held.remaining_volume, held.trade_count) == ("0.1", "0.4", 1)
    assert k.orders.stale_updates == 1
    k.apply(user("order_update", o=[order(tu=T0 + 30, tc=2, ev="0.2", rv="0.3")]))
    assert k.orders[1].executed_volume == "0.2"


@pytest.mark.parametrize("state", ["done", "cancel", "failed"])
def test_a_closed_order_leaves_and_a_late_update_does_not_bring_it_back(state: str) -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(1), order(2)]))
    k.apply(user("order_update", o=[order(1, state, tu=T0 + 5)]))
    assert list(k.orders) == [2]
    k.apply(user("order_update", o=[order(1, tu=T0 + 1, tc=0)]))  # delivered late
    assert 1 not in k.orders
    assert k.orders.stale_updates == 1


def test_within_one_millisecond_more_trades_then_a_close_is_newer() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(tc=2, ev="0.2")]))
    k.apply(user("order_update", o=[order(tc=1, ev="0.1")]))
    assert k.orders[1].trade_count == 2
    k.apply(user("order_update", o=[order(state="done", tc=2)]))
    k.apply(user("order_update", o=[order(tc=2)]))
    assert 1 not in k.orders


def test_the_order_snapshot_drops_orders_it_does_not_list_and_syncs() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(1), order(2)]))
    assert not k.orders.synced
    k.apply(user("order_snapshot", o=[order(2, tu=T0 + 1), order(3)]))
    assert sorted(k.orders) == [2, 3] and k.orders.synced
    k.invalidate_all()
    assert not k.orders.synced and sorted(k.orders) == [2, 3]  # kept, but unsynced
    k.apply(user("order_snapshot"))  # no "o": an empty snapshot
    assert (len(k.orders), k.orders.synced) == (0, True)


def test_closed_order_ids_are_remembered_up_to_a_bound() -> None:
    orders = OpenOrders("spot")
    decoded = user("order_update", o=[order(1, "done", tu=T0 + 5)]).orders
    assert decoded is not None
    orders.apply_update(decoded)
    for n in range(CLOSED_ORDERS_REMEMBERED):
        closed = user("order_update", o=[order(100 + n, "cancel")]).orders
        assert closed is not None
        orders.apply_update(closed)
    late = user("order_update", o=[order(1, tu=T0)]).orders
    assert late is not None
    orders.apply_update(late)  # id 1 was forgotten: taken as a new order
    assert list(orders) == [1]


def test_orders_keep_the_exact_strings_and_list_by_market() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(2, M="ethusdt"), order(1, p="30000.10000"), order(3)]))
    assert k.orders[1].price == "30000.10000"
    assert [o.order_id for o in k.orders.in_market("btcusdt")] == [1, 3]
    assert repr(k.orders) == "OpenOrders(wallet='spot', synced=False, open=3)"


# -- balances -----------------------------------------------------------------------------


def test_a_stale_balance_never_overwrites_a_newer_one() -> None:
    k = keeper()
    k.apply(user("account_update", B=[balance(available="90.1", tu=T0 + 2)]))
    k.apply(user("account_update", B=[balance(available="80.1", tu=T0 + 1)]))
    assert k.balances["usdt"].available == "90.1"
    assert k.balances.stale_updates == 1
    k.apply(user("account_update", B=[balance(available="70.10", tu=T0 + 2)]))  # same time
    assert k.balances["usdt"].available == "70.10"


def test_the_account_snapshot_replaces_the_currencies_and_syncs() -> None:
    k = keeper()
    k.apply(user("account_update", B=[balance("twd"), balance("usdt")]))
    k.apply(user("account_snapshot", B=[balance("usdt", "5"), balance("btc", "0.00000001")]))
    assert dict(k.balances.items()).keys() == {"usdt", "btc"}
    assert k.balances["btc"].available == "0.00000001" and k.balances.synced


def test_spot_and_mwallet_are_kept_apart() -> None:
    k = keeper()
    k.apply(user("mwallet_account_snapshot", B=[balance("usdt", "1")]))
    k.apply(user("account_snapshot", B=[balance("usdt", "2")]))
    k.apply(user("mwallet_order_snapshot", o=[order(9)]))
    k.apply(user("mwallet_trade_snapshot", t=[trade(5)]))
    assert (k.mwallet_balances["usdt"].available, k.balances["usdt"].available) == ("1", "2")
    assert list(k.mwallet_orders) == [9] and len(k.orders) == 0 and not k.orders.synced
    assert 5 in k.mwallet_trades and 5 not in k.trades
    assert isinstance(k.mwallet_balances, Balances) and k.mwallet_balances.wallet == "m_wallet"


def test_events_without_a_cache_are_left_alone() -> None:
    k = keeper()
    k.apply(user("ad_ratio_update", ad={"ad": "2", "as": "1", "db": "1", "idxp": [], "TU": T0}))
    k.apply(user("surprise"))
    assert not any(len(c) for c in (k.orders, k.balances, k.trades))


# -- trades -------------------------------------------------------------------------------


def test_trades_overlapping_snapshot_and_updates_are_kept_once() -> None:
    k = keeper()
    k.apply(user("trade_update", t=[trade(1, T0 + 1), trade(2, T0 + 2)]))
    k.apply(user("trade_snapshot", t=[trade(2, T0 + 2), trade(1, T0 + 1), trade(0, T0)]))
    k.apply(user("trade_update", t=[trade(2, T0 + 2)]))
    assert [t.id for t in k.trades()] == [2, 1, 0]
    assert k.trades.synced and len(k.trades) == 3


def test_a_full_trade_update_fills_in_the_fees_of_a_fast_one() -> None:
    k = keeper()
    k.apply(user("fast_trade_update", t=[trade(1, fees=False)]))
    fast = k.trades.get(1)
    assert fast is not None and fast.fee is None
    k.apply(user("trade_update", t=[trade(1)]))
    full = k.trades.get(1)
    assert full is not None
    assert (full.fee, full.fee_currency, full.fee_discounted) == ("0.00015", "btc", False)
    k.apply(user("fast_trade_update", t=[trade(1, fees=False)]))  # late: fees stay
    assert k.trades()[0].fee == "0.00015" and len(k.trades) == 1


def test_trades_are_bounded_newest_first_by_market_and_limit() -> None:
    trades = OwnTrades("spot", maxlen=3)
    for n, t in enumerate([T0 + 5, T0 + 1, T0 + 3, T0 + 4, T0 + 2]):
        decoded = user("trade_update", t=[trade(n, t, market="ethusdt" if n == 3 else "btcusdt")])
        assert decoded.trades is not None
        trades.apply_update(decoded.trades)
    assert [t.id for t in trades()] == [0, 3, 2]  # the three newest by time
    assert [t.id for t in trades(market="btcusdt")] == [0, 2]
    assert [t.id for t in trades(limit=1)] == [0] and trades(limit=0) == []
    with pytest.raises(ValueError, match="limit must be a non-negative integer or None, got -1"):
        trades(limit=-1)
    with pytest.raises(ValueError, match="maxlen must be a positive integer, got 0"):
        OwnTrades("spot", maxlen=0)


def test_an_own_trade_without_an_id_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stats = StreamStats()
    k = AccountKeeper(stats)
    nameless = trade(1)
    del nameless["i"]
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        k.apply(user("trade_update", t=[nameless, trade(2)]))
    assert [t.id for t in k.trades()] == [2]
    assert stats.decode_errors == 1
    assert "dropped 1 own trade(s) without an id (trade_update)" in caplog.text


def test_reconnect_unsyncs_every_cache_until_its_snapshot() -> None:
    k = keeper()
    for event, key in (("order", "o"), ("account", "B"), ("trade", "t")):
        for prefix in ("", "mwallet_"):
            k.apply(user(f"{prefix}{event}_snapshot", **{key: []}))
    caches: list[Any] = [k.orders, k.mwallet_orders, k.balances, k.mwallet_balances]
    caches += [k.trades, k.mwallet_trades]
    assert all(c.synced for c in caches)
    k.invalidate_all()
    assert not any(c.synced for c in caches)
    k.apply(user("order_update", o=[order()]))
    assert not k.orders.synced
    k.apply(user("order_snapshot", o=[order()]))
    assert k.orders.synced and not k.balances.synced


# -- the frame path -----------------------------------------------------------------------


def test_the_frame_path_applies_a_private_frame_before_its_handlers(path_impl: ModuleType) -> None:
    stats = StreamStats()
    account = AccountKeeper(stats)
    seen: list[tuple[str, bool, list[int]]] = []

    def handler(response: Response) -> None:
        seen.append((str(response.event), account.orders.synced, sorted(account.orders)))

    def not_called(response: Response) -> None:
        raise AssertionError(f"not a book frame: {response}")

    path = path_impl.FramePath(
        decode=decode,
        stats=stats,
        apply_book=not_called,
        dispatch=handler,
        request_resync=not_called,
        on_control=lambda response: None,
        apply_private=account.apply,
    )
    frame = {"c": "user", "e": "order_snapshot", "o": [order(4)], "T": T0}
    path.feed(json.dumps(frame))
    path.feed(json.dumps({**frame, "e": "order_update", "o": [order(4, "done", tu=T0 + 1)]}))
    path.feed(json.dumps({"c": "ticker", "e": "update", "M": "btcusdt", "T": T0}))
    assert seen == [
        ("order_snapshot", True, [4]),
        ("order_update", True, []),
        ("update", True, []),
    ]


def test_the_frame_path_without_an_account_still_dispatches_private_frames(
    path_impl: ModuleType,
) -> None:
    seen: list[Response] = []
    path = path_impl.FramePath(
        decode=decode,
        stats=StreamStats(),
        apply_book=lambda response: None,
        dispatch=seen.append,
        request_resync=lambda resync: None,
        on_control=lambda response: None,
    )
    path.feed(json.dumps({"c": "user", "e": "order_update", "o": [order()], "T": T0}))
    assert [r.event for r in seen] == ["order_update"]


def test_order_versions_read_every_timestamp_form_as_unix_ms() -> None:
    forms = [T0 + 5, float(T0 + 5), str(T0 + 5)]
    versions = {
        order_version(user("order_update", o=[order(tu=form)]).orders[0])  # type: ignore[index]
        for form in forms
    }
    assert versions == {(T0 + 5, 0, False)}
    no_tu = order()
    del no_tu["TU"]
    decoded = user("order_update", o=[no_tu]).orders
    assert decoded is not None and order_version(decoded[0]) == (T0, 0, False)
    with pytest.raises(TypeError, match=r"Order\.price is not a timestamp field"):
        unix_ms_reader(Order, "price")


def test_an_order_the_snapshot_drops_is_not_brought_back_by_a_late_update() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(1, tu=T0 + 5, tc=1)]))
    k.apply(user("order_snapshot", o=[]))  # it closed while the stream was away
    k.apply(user("order_update", o=[order(1, tu=T0 + 2)]))  # an older update, late
    assert 1 not in k.orders and k.orders.stale_updates == 1


def test_copies_are_plain_dicts_apart_from_the_live_caches() -> None:
    k = keeper()
    k.apply(user("order_update", o=[order(1)]))
    k.apply(user("account_update", B=[balance("usdt")]))
    orders, balances = k.orders.copy(), k.balances.copy()
    k.apply(user("order_update", o=[order(1, "done", tu=T0 + 1)]))
    k.apply(user("account_update", B=[balance("usdt", "1", tu=T0 + 1)]))
    assert type(orders) is dict and list(orders) == [1] and 1 not in k.orders
    assert balances["usdt"].available == "100.00000001"
    assert k.balances["usdt"].available == "1"
