"""Auth filters: which private event families an authenticated connection receives."""

from __future__ import annotations

from ._model import WireEnum

__all__ = ["Filter"]


class Filter(WireEnum):
    """A value of the auth request's ``filters`` list (no filters means order, trade, account)."""

    ORDER = "order"
    TRADE = "trade"
    ACCOUNT = "account"
    TRADE_UPDATE = "trade_update"
    FAST_TRADE_UPDATE = "fast_trade_update"
    MWALLET_ORDER = "mwallet_order"
    MWALLET_TRADE = "mwallet_trade"
    MWALLET_FAST_TRADE_UPDATE = "mwallet_fast_trade_update"
    MWALLET_ACCOUNT = "mwallet_account"
    AD_RATIO = "ad_ratio"
    BORROWING = "borrowing"
