"""The snapshots the relay builds for consumers, each encoded once to the bytes sent.

A book snapshot lists asks best first and bids worst first, as MAX sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from .._frames.book import OrderBook
from .._replies import encode, now_ms

__all__ = ["book_snapshot", "relabelled_snapshot", "user_snapshot"]

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


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


def user_snapshot(event: str, key: str, items: Iterable[msgspec.Struct]) -> bytes:
    """A private snapshot (``order_snapshot``, ``mwallet_account_snapshot``, ...) of the
    orders, trades or balances held: each as the wire object it was decoded from."""
    listed = [
        {name: value for name, value in msgspec.to_builtins(item).items() if value is not None}
        for item in items
    ]
    return encode({"c": "user", "e": event, key: listed, "T": now_ms()})
