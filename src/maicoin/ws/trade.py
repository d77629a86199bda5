"""A public trade (``trade`` channel) or one of the user's trades (``user`` channel)."""

from __future__ import annotations

import msgspec

from ._model import Int64, Lenient, Timestamp, WireModel
from .side import Side

__all__ = ["Trade"]


class Trade(WireModel, kw_only=True):
    """Public trades carry price, volume, time and trend; private ones add ids, side and fees."""

    id: Int64 | None = msgspec.field(default=None, name="i")
    market: str | None = msgspec.field(default=None, name="M")
    side: Lenient[Side] | None = msgspec.field(default=None, name="sd")
    price: str = msgspec.field(name="p")
    volume: str = msgspec.field(name="v")
    fee: str | None = msgspec.field(default=None, name="f")
    fee_currency: str | None = msgspec.field(default=None, name="fc")
    fee_discounted: bool | None = msgspec.field(default=None, name="fd")
    funds: str | None = msgspec.field(default=None, name="fn")
    created_at: Timestamp = msgspec.field(name="T")
    updated_at: Timestamp | None = msgspec.field(default=None, name="TU")
    maker: bool | None = msgspec.field(default=None, name="m")
    order_id: Int64 | None = msgspec.field(default=None, name="oi")
    trend: str | None = msgspec.field(default=None, name="tr")
