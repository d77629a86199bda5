"""The ``pool_quota`` channel payload: what the M-Wallet borrow pool can still lend."""

from __future__ import annotations

import msgspec

from ._model import Timestamp, WireModel

__all__ = ["PoolQuota"]


class PoolQuota(WireModel, kw_only=True):
    """How much of ``currency`` the M-Wallet pool can still lend."""

    currency: str = msgspec.field(name="cu")
    available: str = msgspec.field(name="av")
    updated_at: Timestamp = msgspec.field(name="TU")
