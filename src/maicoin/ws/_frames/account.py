"""Which private (``user`` channel) frame feeds which account cache, and how.

The frame path hands every ``user`` frame to :meth:`AccountKeeper.apply` before dispatching
it, as it does book frames to the book keeper, so an inline handler sees the account with
its own frame applied. Private frames are rare next to market data, so this stays Python in
both twins of the frame path; public frames never reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..account import DEFAULT_TRADES_KEPT, Balances, OpenOrders, OwnTrades
from ..response import Event
from .rules import frame_excerpt

if TYPE_CHECKING:
    from ..response import Response
    from ..stats import StreamStats

__all__ = ["AccountKeeper"]

log = logging.getLogger("maicoin.ws")

_Apply = Callable[[Iterable[Any]], "int | None"]


class AccountKeeper:
    """The stream's account caches, spot and M-Wallet, kept from its ``user`` frames."""

    __slots__ = (
        "_routes",
        "_stats",
        "balances",
        "mwallet_balances",
        "mwallet_orders",
        "mwallet_trades",
        "orders",
        "trades",
    )

    def __init__(self, stats: StreamStats, *, trades_kept: int = DEFAULT_TRADES_KEPT) -> None:
        self._stats = stats
        self.orders = OpenOrders("spot")
        self.mwallet_orders = OpenOrders("m_wallet")
        self.balances = Balances("spot")
        self.mwallet_balances = Balances("m_wallet")
        self.trades = OwnTrades("spot", trades_kept)
        self.mwallet_trades = OwnTrades("m_wallet", trades_kept)
        # event -> (what applies it, the Response field it reads); ad_ratio and borrowing
        # events keep no cache.
        self._routes: dict[str, tuple[_Apply, str]] = {
            Event.ORDER_SNAPSHOT: (self.orders.apply_snapshot, "orders"),
            Event.ORDER_UPDATE: (self.orders.apply_update, "orders"),
            Event.ACCOUNT_SNAPSHOT: (self.balances.apply_snapshot, "balances"),
            Event.ACCOUNT_UPDATE: (self.balances.apply_update, "balances"),
            Event.TRADE_SNAPSHOT: (self.trades.apply_snapshot, "trades"),
            Event.TRADE_UPDATE: (self.trades.apply_update, "trades"),
            Event.FAST_TRADE_UPDATE: (self.trades.apply_update, "trades"),
            Event.MWALLET_ORDER_SNAPSHOT: (self.mwallet_orders.apply_snapshot, "orders"),
            Event.MWALLET_ORDER_UPDATE: (self.mwallet_orders.apply_update, "orders"),
            Event.MWALLET_ACCOUNT_SNAPSHOT: (self.mwallet_balances.apply_snapshot, "balances"),
            Event.MWALLET_ACCOUNT_UPDATE: (self.mwallet_balances.apply_update, "balances"),
            Event.MWALLET_TRADE_SNAPSHOT: (self.mwallet_trades.apply_snapshot, "trades"),
            Event.MWALLET_TRADE_UPDATE: (self.mwallet_trades.apply_update, "trades"),
            Event.MWALLET_FAST_TRADE_UPDATE: (self.mwallet_trades.apply_update, "trades"),
        }

    def apply(self, response: Response) -> None:
        """Apply one ``user`` frame to the cache its event names (others are left alone).

        A snapshot without its list is an empty one; an own trade without an id is counted
        in ``stats.decode_errors``, logged and skipped.
        """
        route = self._routes.get(response.event)
        if route is None:
            return
        apply, payload = route
        missing = apply(getattr(response, payload) or ())
        if missing:
            self._stats.decode_errors += missing
            log.warning(
                "dropped %d own trade(s) without an id (%s): %s",
                missing,
                response.event,
                frame_excerpt(response),
            )

    def invalidate_all(self) -> None:
        """A new connection: every cache is unsynced until its snapshot comes again."""
        for cache in (
            self.orders,
            self.mwallet_orders,
            self.balances,
            self.mwallet_balances,
            self.trades,
            self.mwallet_trades,
        ):
            cache.invalidate()
