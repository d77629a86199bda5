"""Where the relay's frames live in Redis, and what one stream entry holds.

Every topic (channel and market or currency) has one Redis stream,
``{PREFIX}:CHANNEL:MARKET`` (``{maicoin-ws}:book:btcusdt``, ``{maicoin-ws}:market_status``),
trimmed to about ``maxlen`` entries, and its latest snapshot in a hash,
``{PREFIX}:snapshot:CHANNEL:MARKET``, with the snapshot frame (``f``) and the id of the
stream entry that carried it (``id``). The braces are a Redis Cluster hash tag: every key
of one prefix lives in one slot, so one ``XREAD`` covers all of a reader's topics.

An entry holds the frame's bytes under ``f`` and, when it also renewed the hash, its kind
under ``k``: ``s`` a snapshot every reader applies (a resync, a reconnect, an empty book),
``r`` a refresh written only to move the starting point forward, which a reader already
following the stream skips, and ``u`` an update of a channel whose updates carry the whole
state (ticker, kline, pool quota), read as any update; its hash holds it as a snapshot.
"""

from __future__ import annotations

from typing import Final

from .._client.registry import SubscriptionKey

__all__ = [
    "DEFAULT_MAXLEN",
    "DEFAULT_PREFIX",
    "FRAME_FIELD",
    "KIND_FIELD",
    "REFRESH",
    "SNAPSHOT",
    "STATE",
    "snapshot_key",
    "stream_key",
]

DEFAULT_PREFIX: Final = "maicoin-ws"
DEFAULT_MAXLEN: Final = 10_000
"""Entries kept per stream (approximately: ``MAXLEN ~``)."""

FRAME_FIELD: Final = b"f"
KIND_FIELD: Final = b"k"
SNAPSHOT: Final = b"s"
REFRESH: Final = b"r"
STATE: Final = b"u"


def _topic_path(key: SubscriptionKey) -> str:
    channel, market, currency = key
    name = market or currency
    return channel if name is None else f"{channel}:{name}"


def stream_key(prefix: str, key: SubscriptionKey) -> str:
    """The Redis stream of a topic."""
    return f"{{{prefix}}}:{_topic_path(key)}"


def snapshot_key(prefix: str, key: SubscriptionKey) -> str:
    """The hash holding a topic's latest snapshot and the id of its stream entry."""
    return f"{{{prefix}}}:snapshot:{_topic_path(key)}"
