"""Checking ``auth`` requests exactly as MAX does: HMAC signature, nonce window, nonce reuse."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from .frames import (
    AUTHENTICATION_FAILED,
    INVALID_FILTER,
    INVALID_NONCE,
    NONCE_USED,
    RequestError,
)
from .private import DEFAULT_FILTERS, FILTERS

NONCE_WINDOW_MS = 30_000
"""A nonce more than this far from server time (either way) is refused with E-1006."""

_PRUNE_AT = 1024


def sign(secret: str, nonce: int) -> str:
    """The auth signature: hex HMAC-SHA256 of ``str(nonce)`` keyed by the API secret."""
    return hmac.new(secret.encode(), str(nonce).encode(), hashlib.sha256).hexdigest()


def auth_request(
    api_key: str,
    secret: str,
    nonce: int,
    *,
    request_id: str = "auth",
    filters: list[str] | None = None,
) -> dict[str, Any]:
    """A ready-to-send ``auth`` request dict, for tests that talk to the simulator directly."""
    request: dict[str, Any] = {
        "action": "auth",
        "apiKey": api_key,
        "nonce": nonce,
        "signature": sign(secret, nonce),
        "id": request_id,
    }
    if filters is not None:
        request["filters"] = filters
    return request


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
    """Validate an ``auth`` request; return (api key, filters) or raise ``RequestError``.

    Checks in order: key and signature (E-1007), nonce window (E-1006), reuse (E-1012),
    filters (E-1101). Only an accepted nonce is recorded as used.
    """
    api_key, signature, nonce = (request.get(k) for k in ("apiKey", "signature", "nonce"))
    if type(nonce) is not int:
        raise RequestError(INVALID_NONCE, "nonce must be an integer of Unix milliseconds")
    if not isinstance(api_key, str) or api_key not in api_keys or not isinstance(signature, str):
        raise RequestError(AUTHENTICATION_FAILED)
    if not hmac.compare_digest(sign(api_keys[api_key], nonce).encode(), signature.encode()):
        raise RequestError(AUTHENTICATION_FAILED)
    if abs(nonce - now_ms) > NONCE_WINDOW_MS:
        raise RequestError(INVALID_NONCE)
    if ledger.seen(api_key, nonce):
        raise RequestError(NONCE_USED)
    filters = _parse_filters(request.get("filters"))
    ledger.record(api_key, nonce, now_ms)
    return api_key, filters


def _parse_filters(value: Any) -> frozenset[str]:
    if value is None or value == []:
        return DEFAULT_FILTERS
    if not isinstance(value, list):
        raise RequestError(INVALID_FILTER, "filters must be a list of strings")
    unknown = [f for f in value if not isinstance(f, str) or f not in FILTERS]
    if unknown:
        raise RequestError(INVALID_FILTER, f"unknown filters {unknown!r}")
    return frozenset(value)
