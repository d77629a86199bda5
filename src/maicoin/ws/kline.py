"""The ``kline`` channel payload: one candlestick."""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

from ._model import Int64, Lenient, Timestamp, WireModel

__all__ = ["RESOLUTION", "RESOLUTIONS", "KLine"]

RESOLUTION = Literal["1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]
"""The candle resolutions MAX serves, as the original's ``Literal``; ``1m`` is the default."""

RESOLUTIONS: tuple[str, ...] = get_args(RESOLUTION)
"""The same resolutions as a tuple, for membership tests and help texts."""


class KLine(WireModel, kw_only=True):
    """A candle of ``resolution`` from ``start_time`` to ``end_time``; ``closed`` once final.

    A resolution outside :data:`RESOLUTION` is refused when built by keywords and kept when
    decoded.
    """

    start_time: Timestamp = msgspec.field(name="ST")
    end_time: Timestamp = msgspec.field(name="ET")
    market: str = msgspec.field(name="M")
    resolution: Lenient[RESOLUTION] = msgspec.field(name="R")
    open: str = msgspec.field(name="O")
    high: str = msgspec.field(name="H")
    low: str = msgspec.field(name="L")
    close: str = msgspec.field(name="C")
    volume: str = msgspec.field(name="v")
    last_trade_id: Int64 = msgspec.field(name="ti")
    closed: bool = msgspec.field(name="x")
