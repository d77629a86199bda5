"""One currency of the user's account (``user`` channel, ``account_*`` events)."""

from __future__ import annotations

import msgspec

from ._model import Timestamp, WireModel

__all__ = ["Balance"]


class Balance(WireModel, kw_only=True):
    """Available and locked amounts of one currency (exact decimal strings)."""

    currency: str = msgspec.field(name="cu")
    available: str = msgspec.field(name="av")
    locked: str = msgspec.field(name="l")
    staked: str | None = msgspec.field(default=None, name="stk")
    balance_updated_time: Timestamp | None = msgspec.field(default=None, name="TU")
