"""One entry of a ``sub``/``unsub`` request or of a ``subscribed`` response."""

from __future__ import annotations

from ._model import Int64, Lenient, WireModel
from .channel import Channel

__all__ = ["Subscription"]


class Subscription(WireModel, omit_defaults=True, kw_only=True):
    """A channel with the options it needs; keys left None are not sent.

    ``Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)``
    """

    channel: Lenient[Channel]
    market: str | None = None
    depth: Int64 | None = None
    resolution: str | None = None
    currency: str | None = None
