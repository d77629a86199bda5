"""Checking ``auth`` requests exactly as MAX does: HMAC signature, nonce window, nonce reuse,
filter families; shared by the simulator and the relay (``Relay(private=True)``).

Refusals carry the exchange's codes: E-1007 authentication failed (key or signature),
E-1006 nonce outside the 30 s window, E-1012 nonce already used, and E-1101 invalid filter
(the simulator's code for an unknown family, which the documentation leaves unspecified).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "AUTHENTICATION_FAILED",
    "AUTH_ERROR_MESSAGES",
    "DEFAULT_FILTERS",
    "EVENT_FILTERS",
    "FILTERS",
    "INVALID_FILTER",
    "INVALID_NONCE",
    "NONCE_USED",
    "NONCE_WINDOW_MS",
    "AuthRefused",
    "NonceLedger",
    "check_auth",
    "sign",
]

INVALID_NONCE: Final = 1006
AUTHENTICATION_FAILED: Final = 1007
NONCE_USED: Final = 1012
INVALID_FILTER: Final = 1101

AUTH_ERROR_MESSAGES: Final[Mapping[int, str]] = {
    INVALID_NONCE: "invalid nonce (difference of 30 seconds or more)",
    AUTHENTICATION_FAILED: "authentication failed",
    NONCE_USED: "nonce has already been used",
    INVALID_FILTER: "invalid filter",
}

NONCE_WINDOW_MS: Final = 30_000
"""A nonce more than this far from server time (either way) is refused with E-1006."""

FILTERS: Final = frozenset(
    {
        "order",
        "trade",
        "account",
        "trade_update",
        "fast_trade_update",
        "mwallet_order",
        "mwallet_trade",
        "mwallet_fast_trade_update",
        "mwallet_account",
        "ad_ratio",
        "borrowing",
    }
)
"""The auth filter families MAX knows."""
DEFAULT_FILTERS: Final = frozenset({"order", "trade", "account"})
"""The families of an auth request without filters (or with an empty list)."""

EVENT_FILTERS: Final[Mapping[str, frozenset[str]]] = {
    "order_snapshot": frozenset({"order"}),
    "order_update": frozenset({"order"}),
    "trade_snapshot": frozenset({"trade"}),
    "trade_update": frozenset({"trade", "trade_update"}),
    "fast_trade_update": frozenset({"fast_trade_update"}),
    "account_snapshot": frozenset({"account"}),
    "account_update": frozenset({"account"}),
    "mwallet_order_snapshot": frozenset({"mwallet_order"}),
    "mwallet_order_update": frozenset({"mwallet_order"}),
    "mwallet_trade_snapshot": frozenset({"mwallet_trade"}),
    "mwallet_trade_update": frozenset({"mwallet_trade"}),
    "mwallet_fast_trade_update": frozenset({"mwallet_fast_trade_update"}),
    "mwallet_account_snapshot": frozenset({"mwallet_account"}),
    "mwallet_account_update": frozenset({"mwallet_account"}),
    "ad_ratio_snapshot": frozenset({"ad_ratio"}),
    "ad_ratio_update": frozenset({"ad_ratio"}),
    "borrowing_snapshot": frozenset({"borrowing"}),
    "borrowing_update": frozenset({"borrowing"}),
}
"""Which auth filters receive each private event."""

_PRUNE_AT = 1024


class AuthRefused(Exception):
    """An ``auth`` request refused: ``str()`` is the exchange's wording (``E-1007: ...``)."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        message = f"E-{code}: {AUTH_ERROR_MESSAGES[code]}"
        super().__init__(message if detail is None else f"{message}: {detail}")
        self.code = code
        self.detail = detail


def sign(secret: str, nonce: int) -> str:
    """The auth signature: hex HMAC-SHA256 of ``str(nonce)`` keyed by the API secret."""
    return hmac.new(secret.encode(), str(nonce).encode(), hashlib.sha256).hexdigest()


class NonceLedger:
    """Nonces already accepted, per API key and across connections."""

    def __init__(self) -> None:
        self._used: dict[str, set[int]] = {}

    def seen(self, api_key: str, nonce: int) -> bool:
        return nonce in self._used.get(api_key, ())

    def record(self, api_key: str, nonce: int, now_ms: int) -> None:
        used = self._used.setdefault(api_key, set())
        used.add(nonce)
        if len(used) > _PRUNE_AT:
            # Nonces that left the window can never pass the window check again.
            horizon = now_ms - 2 * NONCE_WINDOW_MS
            used.difference_update([n for n in used if n < horizon])


def check_auth(
    request: Mapping[str, Any],
    api_keys: Mapping[str, str],
    ledger: NonceLedger,
    now_ms: int,
) -> tuple[str, frozenset[str]]:
    """Validate an ``auth`` request; return (api key, filters) or raise ``AuthRefused``.

    Checks in order: key and signature (E-1007), nonce window (E-1006), reuse (E-1012),
    filters (E-1101). Only an accepted nonce is recorded as used.
    """
    api_key, signature, nonce = (request.get(k) for k in ("apiKey", "signature", "nonce"))
    if type(nonce) is not int:
        raise AuthRefused(INVALID_NONCE, "nonce must be an integer of Unix milliseconds")
    if not isinstance(api_key, str) or api_key not in api_keys or not isinstance(signature, str):
        raise AuthRefused(AUTHENTICATION_FAILED)
    if not hmac.compare_digest(sign(api_keys[api_key], nonce).encode(), signature.encode()):
        raise AuthRefused(AUTHENTICATION_FAILED)
    if abs(nonce - now_ms) > NONCE_WINDOW_MS:
        raise AuthRefused(INVALID_NONCE)
    if ledger.seen(api_key, nonce):
        raise AuthRefused(NONCE_USED)
    filters = _parse_filters(request.get("filters"))
    ledger.record(api_key, nonce, now_ms)
    return api_key, filters


def _parse_filters(value: Any) -> frozenset[str]:
    if value is None or value == []:
        return DEFAULT_FILTERS
    if not isinstance(value, list):
        raise AuthRefused(INVALID_FILTER, "filters must be a list of strings")
    unknown = [f for f in value if not isinstance(f, str) or f not in FILTERS]
    if unknown:
        raise AuthRefused(INVALID_FILTER, f"unknown filters {unknown!r}")
    return frozenset(value)
