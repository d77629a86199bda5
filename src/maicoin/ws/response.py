"""Every frame the server sends decodes into one :class:`Response`."""

from __future__ import annotations

import msgspec

from ._model import Int64, Lenient, Timestamp, WireEnum, WireModel
from .balance import Balance
from .channel import Channel
from .kline import KLine
from .m_wallet import MWalletADRatio, MWalletBorrowing
from .market_status import MarketStatus
from .order import Order
from .pool_quota import PoolQuota
from .subscription import Subscription
from .ticker import Ticker
from .trade import Trade

__all__ = ["Event", "Response"]


class Event(WireEnum):
    """The ``e`` of a frame: lifecycle, public channel and private ``user`` events."""

    ERROR = "error"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    AUTHENTICATED = "authenticated"
    SNAPSHOT = "snapshot"
    UPDATE = "update"
    ORDER_SNAPSHOT = "order_snapshot"
    ORDER_UPDATE = "order_update"
    TRADE_SNAPSHOT = "trade_snapshot"
    TRADE_UPDATE = "trade_update"
    ACCOUNT_SNAPSHOT = "account_snapshot"
    ACCOUNT_UPDATE = "account_update"
    FAST_TRADE_UPDATE = "fast_trade_update"
    MWALLET_ORDER_SNAPSHOT = "mwallet_order_snapshot"
    MWALLET_ORDER_UPDATE = "mwallet_order_update"
    MWALLET_TRADE_SNAPSHOT = "mwallet_trade_snapshot"
    MWALLET_TRADE_UPDATE = "mwallet_trade_update"
    MWALLET_FAST_TRADE_UPDATE = "mwallet_fast_trade_update"
    MWALLET_ACCOUNT_SNAPSHOT = "mwallet_account_snapshot"
    MWALLET_ACCOUNT_UPDATE = "mwallet_account_update"
    AD_RATIO_SNAPSHOT = "ad_ratio_snapshot"
    AD_RATIO_UPDATE = "ad_ratio_update"
    BORROWING_SNAPSHOT = "borrowing_snapshot"
    BORROWING_UPDATE = "borrowing_update"
    # The answer to the application ping (``Action.PING``): undocumented, seen on the wire.
    PONG = "pong"


class Response(WireModel, kw_only=True):
    """One server frame; only the keys of its channel and event are set, the rest are None."""

    # Declared in the order MAX sends keys (book frames first): msgspec matches each key
    # against the next expected field before searching, which saves ~50 ns per book update.
    channel: Lenient[Channel] | None = msgspec.field(default=None, name="c")
    market: str | None = msgspec.field(default=None, name="M")
    event: Lenient[Event] = msgspec.field(name="e")
    asks: list[list[str]] | None = msgspec.field(default=None, name="a")
    bids: list[list[str]] | None = msgspec.field(default=None, name="b")
    created_at: Timestamp = msgspec.field(name="T")
    first_update_id: Int64 | None = msgspec.field(default=None, name="fi")
    last_update_id: Int64 | None = msgspec.field(default=None, name="li")
    version: Int64 | None = msgspec.field(default=None, name="v")
    id: str | None = msgspec.field(default=None, name="i")
    errors: list[str] | None = msgspec.field(default=None, name="E")
    subscriptions: list[Subscription] | None = msgspec.field(default=None, name="s")
    balances: list[Balance] | None = msgspec.field(default=None, name="B")
    orders: list[Order] | None = msgspec.field(default=None, name="o")
    ticker: Ticker | None = msgspec.field(default=None, name="tk")
    trades: list[Trade] | None = msgspec.field(default=None, name="t")
    currency: str | None = msgspec.field(default=None, name="cu")
    kline: KLine | None = msgspec.field(default=None, name="k")
    market_status: list[MarketStatus] | None = msgspec.field(default=None, name="ms")
    pool_quota: PoolQuota | None = msgspec.field(default=None, name="qta")
    m_wallet_ad_ratio: MWalletADRatio | None = msgspec.field(default=None, name="ad")
    m_wallet_borrowings: list[MWalletBorrowing] | None = msgspec.field(default=None, name="db")

    _field_order = (
        "event",
        "created_at",
        "id",
        "errors",
        "subscriptions",
        "channel",
        "balances",
        "market",
        "asks",
        "bids",
        "first_update_id",
        "last_update_id",
        "version",
        "orders",
        "ticker",
        "trades",
        "currency",
        "kline",
        "market_status",
        "pool_quota",
        "m_wallet_ad_ratio",
        "m_wallet_borrowings",
    )
