"""The frames the relay itself writes to consumers, each encoded once to the bytes sent.

Shapes are the exchange's: replies echo the request id, error frames are
worded as the live exchange words them (``"co": 0``, a plain reason), and a book snapshot
lists asks best first and bids worst first, as MAX sends them.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from .._frames.book import OrderBook
from ..subscription import Subscription

__all__ = [
    "INVALID_ACTION",
    "INVALID_JSON",
    "book_snapshot",
    "encode",
    "error",
    "now_ms",
    "pong",
    "relabelled_snapshot",
    "reply",
]

INVALID_ACTION = "E-1004: invalid action"
INVALID_JSON = "E-1005: invalid json"

encode = msgspec.json.Encoder().encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


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


def pong(request_id: str | None) -> bytes:
    """The answer to the application ping."""
    return encode({"e": "pong", "i": request_id, "T": now_ms()})


def error(reasons: list[str], request_id: str | None) -> bytes:
    """An error frame as the live exchange sends it: ``i`` always (``""`` without one)."""
    return encode({"e": "error", "E": reasons, "i": request_id or "", "T": now_ms(), "co": 0})


def book_snapshot(book: OrderBook) -> bytes:
    """A snapshot of a synced book: its levels, ``li`` and ``v``."""
    last = book.last_update_id
    return encode(
        {
            "c": "book",
            "e": "snapshot",
            "M": book.market,
            "a": [[level.price_text, level.volume_text] for level in book.asks()],
            "b": [[level.price_text, level.volume_text] for level in reversed(book.bids())],
            "T": now_ms(),
            "fi": last,
            "li": last,
            "v": book.version,
        }
    )


def relabelled_snapshot(frame: bytes) -> bytes:
    """An update of a channel whose updates carry the whole state (ticker, kline, pool
    quota), relabelled as the snapshot a new subscriber gets."""
    document = _decode_object(frame)
    document["e"] = "snapshot"
    return encode(document)
