"""Subscription objects of ``sub``/``unsub`` requests, validated into topics the server serves."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from .catalog import BOOK_DEPTHS, DEFAULT_BOOK_DEPTH, DEFAULT_KLINE_RESOLUTION, KLINE_RESOLUTIONS
from .frames import INVALID_SUBSCRIPTION, RequestError

MARKET_CHANNELS = frozenset({"book", "trade", "ticker", "kline"})
CHANNELS = MARKET_CHANNELS | {"market_status", "pool_quota"}

_SHOWN = 60
"""Characters of a refused value a reason quotes at most."""


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


@dataclass(frozen=True, slots=True)
class Refusal:
    """One subscription object the server will not serve."""

    reason: str
    """Plain text, worded as the live exchange words it: ``market nopeusdt does not exist``."""
    detail: str
    """Where and what, for the ``E-1100: invalid subscription: <detail>`` wording."""

    def error(self) -> RequestError:
        """The coded error of this refusal (E-1100) carrying its plain reason."""
        return RequestError(INVALID_SUBSCRIPTION, self.detail, reason=self.reason)


def parse_topics(
    value: Any, *, key: str, markets: Collection[str], currencies: Collection[str]
) -> tuple[list[Topic], list[Refusal]]:
    """Validate the list under ``key`` of a request: the topics served and the refused objects.

    A missing, empty or non-list ``key`` refuses the whole request: ``RequestError`` (E-1100).
    """
    if not isinstance(value, list) or not value:
        raise RequestError(
            INVALID_SUBSCRIPTION,
            f"{key!r} must be a non-empty list",
            reason=f"{key} must be a non-empty list",
        )
    topics: list[Topic] = []
    refusals: list[Refusal] = []
    for n, item in enumerate(value):
        parsed = _parse_one(item, f"{key}[{n}]", markets, currencies)
        if isinstance(parsed, Topic):
            topics.append(parsed)
        else:
            refusals.append(parsed)
    return topics, refusals


def show(value: Any, *, bare: bool = True) -> str:
    """A refused value as a reason quotes it: strings bare (unless not ``bare``), anything
    else as JSON, shortened."""
    if bare and isinstance(value, str):
        text = value
    else:
        try:
            text = msgspec.json.encode(value).decode()
        except (TypeError, ValueError, RecursionError):
            text = type(value).__name__
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _shown_repr(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = type(value).__name__
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _parse_one(
    item: Any, where: str, markets: Collection[str], currencies: Collection[str]
) -> Topic | Refusal:
    # Every membership test is guarded by a type check: a list or object where a string
    # belongs is unhashable and must be refused, never raised.
    if not isinstance(item, dict):
        return Refusal(f"subscription {show(item)} is not an object", f"{where} must be an object")
    channel = item.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        return Refusal(
            f"channel {show(channel)} does not exist",
            f"{where}: unknown channel {_shown_repr(channel)}",
        )
    echo: list[tuple[str, Any]] = [("channel", channel)]
    if channel == "market_status":
        return Topic(channel, echo=tuple(echo))
    if channel == "pool_quota":
        currency = item.get("currency")
        if not isinstance(currency, str) or currency not in currencies:
            return Refusal(
                f"currency {show(currency)} does not exist",
                f"{where}: unknown currency {_shown_repr(currency)}",
            )
        echo.append(("currency", currency))
        return Topic(channel, currency=currency, echo=tuple(echo))
    market = item.get("market")
    if not isinstance(market, str) or market not in markets:
        return Refusal(
            f"market {show(market)} does not exist",
            f"{where}: unknown market {_shown_repr(market)}",
        )
    echo.append(("market", market))
    depth, resolution = DEFAULT_BOOK_DEPTH, DEFAULT_KLINE_RESOLUTION
    if channel == "book" and "depth" in item:
        depth = item["depth"]
        if type(depth) is not int or depth not in BOOK_DEPTHS:
            return Refusal(
                f"depth {show(depth, bare=False)} is not supported",
                f"{where}: depth must be one of {BOOK_DEPTHS}, got {_shown_repr(depth)}",
            )
        echo.append(("depth", depth))
    if channel == "kline" and "resolution" in item:
        resolution = item["resolution"]
        if not isinstance(resolution, str) or resolution not in KLINE_RESOLUTIONS:
            return Refusal(
                f"resolution {show(resolution)} is not supported",
                f"{where}: resolution must be one of {list(KLINE_RESOLUTIONS)}, "
                f"got {_shown_repr(resolution)}",
            )
        echo.append(("resolution", resolution))
    return Topic(channel, market, depth=depth, resolution=resolution, echo=tuple(echo))
