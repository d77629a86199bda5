"""M-Wallet (margin) payloads: the account's AD ratio, its borrowings and the pool quota.

``PoolQuota`` lives in :mod:`maicoin.ws.pool_quota`; the original exports it from here.
"""

from __future__ import annotations

import msgspec

from ._model import Timestamp, WireModel
from .pool_quota import PoolQuota

__all__ = ["MWalletADRatio", "MWalletBorrowing", "MWalletIndexPrice", "PoolQuota"]


class MWalletIndexPrice(WireModel, kw_only=True):
    """The index price of one market used for the AD ratio."""

    market: str = msgspec.field(name="M")
    price: str = msgspec.field(name="p")


class MWalletADRatio(WireModel, kw_only=True):
    """Asset-to-debt ratio of the M-Wallet, with the index prices it was computed from."""

    ad_ratio: str = msgspec.field(name="ad")
    asset_in_usdt: str = msgspec.field(name="as")
    debt_in_usdt: str = msgspec.field(name="db")
    index_prices: list[MWalletIndexPrice] = msgspec.field(name="idxp")
    updated_at: Timestamp = msgspec.field(name="TU")


class MWalletBorrowing(WireModel, kw_only=True):
    """What the M-Wallet owes in one currency: principal and accrued interest."""

    currency: str = msgspec.field(name="cu")
    debt_principal: str = msgspec.field(name="dbp")
    debt_interest: str = msgspec.field(name="dbi")
    updated_at: Timestamp = msgspec.field(name="TU")
