"""The ``market_status`` channel payload: trading rules and state of each market."""

from __future__ import annotations

import msgspec

from ._model import Int64, Lenient, WireEnum, WireModel

__all__ = ["MarketStatus", "Status"]


class Status(WireEnum):
    """Whether a market trades: ``active``, ``suspended`` or ``cancel-only``."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCEL_ONLY = "cancel-only"


class MarketStatus(WireModel, kw_only=True):
    """One market's state and trading rules: units, precisions and minimal amounts."""

    market: str = msgspec.field(name="M")
    status: Lenient[Status] = msgspec.field(name="st")
    base_unit: str = msgspec.field(name="bu")
    base_unit_precision: Int64 = msgspec.field(name="bup")
    minimal_base_amount: float = msgspec.field(name="mba")
    quote_unit: str = msgspec.field(name="qu")
    quote_unit_precision: Int64 = msgspec.field(name="qup")
    minimal_quote_amount: float = msgspec.field(name="mqa")
    mwallet_supported: bool = msgspec.field(name="mws")
