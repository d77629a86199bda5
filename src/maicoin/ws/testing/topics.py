"""Subscription objects of ``sub``/``unsub`` requests, validated into topics the server serves."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from .catalog import BOOK_DEPTHS, DEFAULT_BOOK_DEPTH, DEFAULT_KLINE_RESOLUTION, KLINE_RESOLUTIONS
from .frames import INVALID_SUBSCRIPTION, RequestError

MARKET_CHANNELS = frozenset({"book", "trade", "ticker", "kline"})
CHANNELS = MARKET_CHANNELS | {"market_status", "pool_quota"}


@dataclass(frozen=True, slots=True)
class Topic:
    """One validated subscription: what to send and to whom it is keyed."""

    channel: str
    market: str | None = None
    currency: str | None = None
    depth: int = DEFAULT_BOOK_DEPTH
    resolution: str = DEFAULT_KLINE_RESOLUTION
    echo: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> tuple[str, str | None]:
        """Topics with the same key replace each other (a new book depth replaces the old)."""
        return (self.channel, self.market if self.market is not None else self.currency)

    def echo_object(self) -> dict[str, Any]:
        """The subscription object as echoed in ``subscribed``/``unsubscribed``."""
        return dict(self.echo)


def parse_topics(
    value: Any, *, key: str, markets: Collection[str], currencies: Collection[str]
) -> list[Topic]:
    """Validate the list under ``key`` of a request; raise ``RequestError`` (E-1100) otherwise."""
    if not isinstance(value, list) or not value:
        raise RequestError(INVALID_SUBSCRIPTION, f"{key!r} must be a non-empty list")
    return [_parse_one(item, f"{key}[{n}]", markets, currencies) for n, item in enumerate(value)]


def _parse_one(
    item: Any, where: str, markets: Collection[str], currencies: Collection[str]
) -> Topic:
    if not isinstance(item, dict):
        raise RequestError(INVALID_SUBSCRIPTION, f"{where} must be an object")
    channel = item.get("channel")
    if channel not in CHANNELS:
        raise RequestError(INVALID_SUBSCRIPTION, f"{where}: unknown channel {channel!r}")
    echo: list[tuple[str, Any]] = [("channel", channel)]
    if channel == "market_status":
        return Topic(channel, echo=tuple(echo))
    if channel == "pool_quota":
        currency = item.get("currency")
        if currency not in currencies:
            raise RequestError(INVALID_SUBSCRIPTION, f"{where}: unknown currency {currency!r}")
        echo.append(("currency", currency))
        return Topic(channel, currency=currency, echo=tuple(echo))
    market = item.get("market")
    if market not in markets:
        raise RequestError(INVALID_SUBSCRIPTION, f"{where}: unknown market {market!r}")
    echo.append(("market", market))
    depth, resolution = DEFAULT_BOOK_DEPTH, DEFAULT_KLINE_RESOLUTION
    if channel == "book" and "depth" in item:
        depth = item["depth"]
        if type(depth) is not int or depth not in BOOK_DEPTHS:
            raise RequestError(
                INVALID_SUBSCRIPTION, f"{where}: depth must be one of {BOOK_DEPTHS}, got {depth!r}"
            )
        echo.append(("depth", depth))
    if channel == "kline" and "resolution" in item:
        resolution = item["resolution"]
        if resolution not in KLINE_RESOLUTIONS:
            raise RequestError(
                INVALID_SUBSCRIPTION,
                f"{where}: resolution must be one of {list(KLINE_RESOLUTIONS)}, got {resolution!r}",
            )
        echo.append(("resolution", resolution))
    return Topic(channel, market, depth=depth, resolution=resolution, echo=tuple(echo))
