"""Checking ``auth`` requests exactly as MAX does (the rules live in ``maicoin.ws._auth_check``,
shared with the relay), and building them for tests that talk to the simulator directly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._auth_check import NONCE_WINDOW_MS, AuthRefused, NonceLedger, sign
from .._auth_check import check_auth as _check_auth
from .frames import RequestError

__all__ = ["NONCE_WINDOW_MS", "NonceLedger", "auth_request", "check_auth", "sign"]


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


def check_auth(
    request: Mapping[str, Any],
    api_keys: Mapping[str, str],
    ledger: NonceLedger,
    now_ms: int,
) -> tuple[str, frozenset[str]]:
    """``maicoin.ws._auth_check.check_auth``, a refusal raised as the simulator's
    ``RequestError`` (same code and wording)."""
    try:
        return _check_auth(request, api_keys, ledger, now_ms)
    except AuthRefused as exc:
        raise RequestError(exc.code, exc.detail) from None
