"""One of the user's orders (``user`` channel, ``order_*`` events)."""

from __future__ import annotations

import msgspec

from ._model import Int64, Lenient, Timestamp, WireEnum, WireModel
from .side import Side

__all__ = ["Order", "OrderState", "OrderType"]


class OrderType(WireEnum):
    """The ``ot`` of an order."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    POST_ONLY = "post_only"
    IOC_LIMIT = "ioc_limit"


class OrderState(WireEnum):
    """The ``S`` of an order: ``wait`` while open, then ``done``, ``cancel``, ..."""

    CANCEL = "cancel"
    WAIT = "wait"
    DONE = "done"
    CONVERT = "convert"
    FINALIZING = "finalizing"
    FAILED = "failed"


class Order(WireModel, kw_only=True):
    """An order as MAX reports it; ``client_order_id`` is None when the frame leaves ``ci`` out."""

    order_id: Int64 = msgspec.field(name="i")
    side: Lenient[Side] = msgspec.field(name="sd")
    order_type: Lenient[OrderType] = msgspec.field(name="ot")
    price: str = msgspec.field(name="p")
    stop_price: str | None = msgspec.field(default=None, name="sp")
    average_price: str = msgspec.field(name="ap")
    state: Lenient[OrderState] = msgspec.field(name="S")
    market: str = msgspec.field(name="M")
    created_at: Timestamp = msgspec.field(name="T")
    updated_at: Timestamp | None = msgspec.field(default=None, name="TU")
    volume: str = msgspec.field(name="v")
    remaining_volume: str = msgspec.field(name="rv")
    executed_volume: str = msgspec.field(name="ev")
    trade_count: Int64 = msgspec.field(name="tc")
    client_order_id: str | None = msgspec.field(default=None, name="ci")
    group_id: Int64 | None = msgspec.field(default=None, name="gi")
