"""The account as the stream keeps it: open orders, balances and own trades of one wallet.

``stream.orders``, ``stream.balances`` and ``stream.trades`` hold the spot wallet;
``stream.mwallet_orders``, ``stream.mwallet_balances`` and ``stream.mwallet_trades`` the
M-Wallet (the ``mwallet_*`` events). Each is kept from its wallet's private events, exactly
as decoded (decimal strings untouched), and each has a ``synced`` flag: True from its
snapshot until the next reconnect. While unsynced it keeps the last state it knew.

Updates may arrive out of order. An order or balance update older than the one held (by
``updated_at``, a balance's ``balance_updated_time``) never replaces it; for two versions of
an order with the same ``updated_at``, the one with more trades, then a closed one, is the
newer. An order leaves the open orders when it is done, cancelled or failed, or when a
snapshot no longer lists it, and its id is remembered (the last
:data:`CLOSED_ORDERS_REMEMBERED`) so that a late update of it cannot bring it back.
"""

from __future__ import annotations

import heapq
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from ._model import unix_ms_reader
from .balance import Balance
from .order import Order, OrderState
from .trade import Trade

__all__ = [
    "CLOSED_ORDERS_REMEMBERED",
    "CLOSED_STATES",
    "DEFAULT_TRADES_KEPT",
    "Balances",
    "OpenOrders",
    "OwnTrades",
    "order_version",
]

CLOSED_STATES: Final = frozenset({OrderState.DONE, OrderState.CANCEL, OrderState.FAILED})
"""Order states after which an order is no longer open."""
CLOSED_ORDERS_REMEMBERED: Final = 10_000
"""How many closed order ids each ``OpenOrders`` remembers against late updates."""
DEFAULT_TRADES_KEPT: Final = 1_000
"""How many own trades each ``OwnTrades`` keeps (the newest, by time then id)."""

OrderVersion = tuple[int, int, bool]

# Timestamps compared as the Unix ms received: reading them as datetimes would cost more
# than the rest of an update.
_order_updated_ms = unix_ms_reader(Order, "updated_at")
_order_created_ms = unix_ms_reader(Order, "created_at")
_balance_updated_ms = unix_ms_reader(Balance, "balance_updated_time")
_trade_created_ms = unix_ms_reader(Trade, "created_at")


def order_version(order: Order) -> OrderVersion:
    """How new this version of an order is: ``updated_at`` (else ``created_at``) in Unix ms,
    then its trade count, then whether it is closed (the last thing that happens to it)."""
    changed = _order_updated_ms(order)
    if changed is None:
        changed = _order_created_ms(order) or 0
    return (changed, order.trade_count, order.state in CLOSED_STATES)


class OpenOrders(Mapping[int, Order]):
    """The open orders of one wallet, by order id (a read-only mapping of ``Order``)."""

    __slots__ = ("_closed", "_open", "_versions", "stale_updates", "synced", "wallet")

    def __init__(self, wallet: str) -> None:
        self.wallet = wallet
        """``"spot"`` or ``"m_wallet"``."""
        self.synced = False
        """True from the wallet's order snapshot until the next reconnect."""
        self.stale_updates = 0
        """Updates ignored because the order held (or its close) was newer."""
        self._open: dict[int, Order] = {}
        self._versions: dict[int, OrderVersion] = {}
        self._closed: OrderedDict[int, OrderVersion] = OrderedDict()

    def __getitem__(self, order_id: int) -> Order:
        return self._open[order_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._open)

    def __len__(self) -> int:
        return len(self._open)

    def __repr__(self) -> str:
        return f"OpenOrders(wallet={self.wallet!r}, synced={self.synced}, open={len(self)})"

    def copy(self) -> dict[int, Order]:
        """The open orders as a new plain dict: safe to keep, and to take from another
        thread while the stream runs (iterating the live mapping there is not)."""
        return self._open.copy()

    def in_market(self, market: str) -> list[Order]:
        """The open orders of one market, oldest first."""
        orders = [order for order in self._open.values() if order.market == market]
        orders.sort(key=operator.attrgetter("created_at", "order_id"))
        return orders

    def apply_update(self, orders: Iterable[Order]) -> None:
        """Take each order unless the version held is newer; a closed one leaves."""
        for order in orders:
            self._take(order)

    def apply_snapshot(self, orders: Iterable[Order]) -> None:
        """The wallet's open orders as the exchange has them now: those held but absent are
        gone; the others are taken by the update rule. Marks the orders synced."""
        orders = list(orders)
        listed = {order.order_id for order in orders}
        for order_id in [order_id for order_id in self._open if order_id not in listed]:
            # Closed while the stream was away: remembered as closed at the version held,
            # so a late update of it cannot bring it back.
            del self._open[order_id]
            self._remember_closed(order_id, self._versions.pop(order_id))
        for order in orders:
            self._take(order)
        self.synced = True

    def invalidate(self) -> None:
        """Mark unsynced (a reconnect) until the next snapshot; the orders are kept."""
        self.synced = False

    def _take(self, order: Order) -> None:
        order_id = order.order_id
        version = order_version(order)
        held = self._versions.get(order_id)
        if held is None:
            held = self._closed.get(order_id)
        if held is not None and version < held:
            self.stale_updates += 1
            return
        if version[2]:
            self._open.pop(order_id, None)
            self._versions.pop(order_id, None)
            self._remember_closed(order_id, version)
        else:
            self._closed.pop(order_id, None)
            self._open[order_id] = order
            self._versions[order_id] = version

    def _remember_closed(self, order_id: int, version: OrderVersion) -> None:
        closed = self._closed
        closed[order_id] = version
        closed.move_to_end(order_id)
        if len(closed) > CLOSED_ORDERS_REMEMBERED:
            closed.popitem(last=False)


class Balances(Mapping[str, Balance]):
    """The balances of one wallet, by currency (a read-only mapping of ``Balance``)."""

    __slots__ = ("_balances", "stale_updates", "synced", "wallet")

    def __init__(self, wallet: str) -> None:
        self.wallet = wallet
        """``"spot"`` or ``"m_wallet"``."""
        self.synced = False
        """True from the wallet's account snapshot until the next reconnect."""
        self.stale_updates = 0
        """Updates ignored because the balance held was newer."""
        self._balances: dict[str, Balance] = {}

    def __getitem__(self, currency: str) -> Balance:
        return self._balances[currency]

    def __iter__(self) -> Iterator[str]:
        return iter(self._balances)

    def __len__(self) -> int:
        return len(self._balances)

    def __repr__(self) -> str:
        return f"Balances(wallet={self.wallet!r}, synced={self.synced}, currencies={len(self)})"

    def copy(self) -> dict[str, Balance]:
        """The balances as a new plain dict: safe to keep, and to take from another thread
        while the stream runs (iterating the live mapping there is not)."""
        return self._balances.copy()

    def apply_update(self, balances: Iterable[Balance]) -> None:
        """Take each balance unless the one held was updated later."""
        for balance in balances:
            self._take(balance)

    def apply_snapshot(self, balances: Iterable[Balance]) -> None:
        """Every balance of the wallet: currencies absent are gone, the others are taken by
        the update rule. Marks the balances synced."""
        balances = list(balances)
        listed = {balance.currency for balance in balances}
        for currency in [currency for currency in self._balances if currency not in listed]:
            del self._balances[currency]
        for balance in balances:
            self._take(balance)
        self.synced = True

    def invalidate(self) -> None:
        """Mark unsynced (a reconnect) until the next snapshot; the balances are kept."""
        self.synced = False

    def _take(self, balance: Balance) -> None:
        held = self._balances.get(balance.currency)
        if held is not None:
            held_time, time = _balance_updated_ms(held), _balance_updated_ms(balance)
            if held_time is not None and time is not None and time < held_time:
                self.stale_updates += 1
                return
        self._balances[balance.currency] = balance


class OwnTrades:
    """The newest own trades of one wallet, one per trade id.

    ``trades(market=None, limit=None)`` lists them newest first. ``trade_snapshot``,
    ``trade_update`` and ``fast_trade_update`` repeat trades: each id is kept once, and a
    version with fee fields replaces one without (a ``fast_trade_update`` has none), never
    the other way round. At most ``maxlen`` trades are kept: the newest by time, then id.
    """

    __slots__ = ("_order", "_trades", "maxlen", "synced", "wallet")

    def __init__(self, wallet: str, maxlen: int = DEFAULT_TRADES_KEPT) -> None:
        if type(maxlen) is not int or maxlen < 1:
            raise ValueError(f"maxlen must be a positive integer, got {maxlen!r}")
        self.wallet = wallet
        """``"spot"`` or ``"m_wallet"``."""
        self.maxlen = maxlen
        self.synced = False
        """True from the wallet's trade snapshot until the next reconnect (the auth filters
        ``trade_update``/``fast_trade_update`` alone bring no snapshot: it stays False)."""
        self._trades: dict[int, Trade] = {}
        # (created_at, id) of every trade held, smallest first: the next one to drop.
        self._order: list[tuple[int, int]] = []

    def __call__(self, market: str | None = None, limit: int | None = None) -> list[Trade]:
        """The trades held (of ``market`` only, when given), newest first, at most ``limit``."""
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
        newest_first = sorted(self._order, reverse=True)
        trades = (self._trades[trade_id] for _, trade_id in newest_first)
        if market is not None:
            trades = (trade for trade in trades if trade.market == market)
        if limit is None:
            return list(trades)
        return [trade for trade, _ in zip(trades, range(limit), strict=False)]

    def __contains__(self, trade_id: object) -> bool:
        return trade_id in self._trades

    def __len__(self) -> int:
        return len(self._trades)

    def __repr__(self) -> str:
        return f"OwnTrades(wallet={self.wallet!r}, synced={self.synced}, trades={len(self)})"

    def get(self, trade_id: int) -> Trade | None:
        """The trade with this id, or None when it is not held."""
        return self._trades.get(trade_id)

    def apply_update(self, trades: Iterable[Trade]) -> int:
        """Take each trade by the rule above; return how many had no id (and were skipped)."""
        missing_id = 0
        for trade in trades:
            trade_id = trade.id
            if trade_id is None:
                missing_id += 1
                continue
            held = self._trades.get(trade_id)
            if held is None:
                self._trades[trade_id] = trade
                heapq.heappush(self._order, (_trade_created_ms(trade) or 0, trade_id))
                if len(self._order) > self.maxlen:
                    del self._trades[heapq.heappop(self._order)[1]]
            elif held.fee is None and trade.fee is not None:
                self._trades[trade_id] = trade
        return missing_id

    def apply_snapshot(self, trades: Iterable[Trade]) -> int:
        """The wallet's recent trades: merged by the same rule; marks the trades synced."""
        missing_id = self.apply_update(trades)
        self.synced = True
        return missing_id

    def invalidate(self) -> None:
        """Mark unsynced (a reconnect) until the next snapshot; the trades are kept."""
        self.synced = False
