"""The frames this package writes when it plays the exchange's side (the relay, the Redis
transport), each encoded once to the bytes sent: replies echoing the request id and error
frames worded as the live exchange words them (``"co": 0``, a plain reason)."""

from __future__ import annotations

import time
from typing import Any, Final

import msgspec

from .subscription import Subscription

__all__ = [
    "INVALID_ACTION",
    "INVALID_JSON",
    "authenticated",
    "encode",
    "error",
    "now_ms",
    "pong",
    "reply",
]

INVALID_ACTION: Final = "E-1004: invalid action"
INVALID_JSON: Final = "E-1005: invalid json"

encode = msgspec.json.Encoder().encode


def now_ms() -> int:
    """The current Unix time in milliseconds, as ``T`` carries it."""
    return time.time_ns() // 1_000_000


def reply(event: str, request_id: str | None, subscriptions: list[Subscription]) -> bytes:
    """A ``subscribed``/``unsubscribed`` reply echoing the request id and subscriptions."""
    echo = [msgspec.to_builtins(sub) for sub in subscriptions]
    frame: dict[str, Any] = {"e": event, "s": echo}
    if request_id is not None:
        frame["i"] = request_id
    frame["T"] = now_ms()
    return encode(frame)


def authenticated(request_id: str | None) -> bytes:
    """The reply to an accepted ``auth`` request."""
    frame: dict[str, Any] = {"e": "authenticated"}
    if request_id is not None:
        frame["i"] = request_id
    frame["T"] = now_ms()
    return encode(frame)


def pong(request_id: str | None) -> bytes:
    """The answer to the application ping."""
    return encode({"e": "pong", "i": request_id, "T": now_ms()})


def error(reasons: list[str], request_id: str | None) -> bytes:
    """An error frame as the live exchange sends it: ``i`` always (``""`` without one)."""
    return encode({"e": "error", "E": reasons, "i": request_id or "", "T": now_ms(), "co": 0})
