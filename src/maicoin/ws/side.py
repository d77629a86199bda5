"""Order and trade sides."""

from __future__ import annotations

from ._model import WireEnum

__all__ = ["Side"]


class Side(WireEnum):
    """Orders say ``bid``/``ask``; some payloads say ``buy``/``sell``."""

    BUY = "buy"
    SELL = "sell"
    BID = "bid"
    ASK = "ask"
