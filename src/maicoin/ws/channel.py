"""Channels, and how the seed guide's private channels map onto auth filters."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._model import WireEnum
from .filter import Filter

__all__ = ["PRIVATE_CHANNEL_FILTERS", "Channel", "auth_filter_for"]


class Channel(WireEnum):
    """A subscription channel; ``USER`` carries every private event on the wire."""

    BOOK = "book"
    TRADE = "trade"
    TICKER = "ticker"
    USER = "user"
    KLINE = "kline"
    MARKET_STATUS = "market_status"
    POOL_QUOTA = "pool_quota"
    # MAX has no per-channel private subscription; these are chosen through auth filters.
    ORDER = "order"
    TRADE_UPDATE = "trade_update"
    BALANCE_UPDATE = "balance_update"


PRIVATE_CHANNEL_FILTERS: Mapping[Channel, Filter] = MappingProxyType(
    {
        Channel.ORDER: Filter.ORDER,
        Channel.TRADE_UPDATE: Filter.TRADE_UPDATE,
        Channel.BALANCE_UPDATE: Filter.ACCOUNT,
    }
)


def auth_filter_for(channel: Channel | str) -> Filter | None:
    """The auth filter that stands for a private channel, or None for a public one."""
    for private, auth_filter in PRIVATE_CHANNEL_FILTERS.items():
        if channel == private:
            return auth_filter
    return None
