"""The ``ticker`` channel payload."""

from __future__ import annotations

import msgspec

from ._model import WireModel

__all__ = ["Ticker"]


class Ticker(WireModel, kw_only=True):
    """24-hour statistics of one market; numbers are exact decimal strings."""

    market: str = msgspec.field(name="M")
    open: str = msgspec.field(name="O")
    high: str = msgspec.field(name="H")
    low: str = msgspec.field(name="L")
    close: str = msgspec.field(name="C")
    volume: str = msgspec.field(name="v")
    volume_in_btc: str = msgspec.field(name="V")
