"""Fast drop-in client for the MAX (MaiCoin) WebSocket API."""

from __future__ import annotations

from .account import Balances, OpenOrders, OwnTrades
from .balance import Balance
from .book import BookResync
from .channel import Channel
from .errors import (
    AuthenticationError,
    HandlerError,
    HandshakeError,
    MaxWSError,
    SubscriptionError,
    ValidationError,
)
from .filter import Filter
from .kline import KLine
from .m_wallet import MWalletADRatio, MWalletBorrowing, MWalletIndexPrice
from .market_status import MarketStatus
from .order import Order, OrderState, OrderType
from .pool_quota import PoolQuota
from .reconnect import ReconnectPolicy
from .request import Action, Request
from .response import Event, Response
from .side import Side
from .stats import StreamStats
from .stream import Stream
from .subscription import Subscription
from .ticker import Ticker
from .trade import Trade

__all__ = [
    "Action",
    "AuthenticationError",
    "Balance",
    "Balances",
    "BookResync",
    "Channel",
    "Event",
    "Filter",
    "HandlerError",
    "HandshakeError",
    "KLine",
    "MWalletADRatio",
    "MWalletBorrowing",
    "MWalletIndexPrice",
    "MarketStatus",
    "MaxWSError",
    "OpenOrders",
    "Order",
    "OrderState",
    "OrderType",
    "OwnTrades",
    "PoolQuota",
    "ReconnectPolicy",
    "Request",
    "Response",
    "Side",
    "Stream",
    "StreamStats",
    "Subscription",
    "SubscriptionError",
    "Ticker",
    "Trade",
    "ValidationError",
]
