"""What the relay carries: one topic per channel and market (or currency), and who wants it.

A topic is held upstream in one variant only (one book depth, one kline resolution): book
frames carry no depth, so one socket cannot carry two depths of a market, and the stream
keeps one kline resolution per market. A consumer asking for another variant is refused
with the exchange's wording, so its ``Stream`` forgets that subscription as it would for
MAX's own refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

from .._client.registry import SubscriptionKey, subscription_key
from ..channel import Channel
from ..subscription import Subscription

__all__ = [
    "STATE_CHANNELS",
    "Listener",
    "Topic",
    "TopicKey",
    "topic_key",
    "variant_refusal",
]

TopicKey = SubscriptionKey
"""``(channel, market, currency)``: the identity of a subscription on the wire."""

topic_key = subscription_key

DEFAULT_DEPTH: Final = 50
DEFAULT_RESOLUTION: Final = "1m"

STATE_CHANNELS: Final = frozenset({Channel.TICKER, Channel.KLINE, Channel.POOL_QUOTA})
"""Channels whose every update carries the whole state: the latest one, relabelled, is
the snapshot a new subscriber gets."""


class Listener(Protocol):
    """Someone the relay delivers a topic's frames to: a consumer connection."""

    def deliver(self, frame: bytes) -> None:
        """Queue one encoded frame; never blocks."""
        ...

    def refused(self, key: TopicKey, reason: str) -> None:
        """The exchange refused the topic this listener asked for."""
        ...


@dataclass(eq=False)
class Topic:
    """One upstream subscription, its listeners and the frame a new listener starts from."""

    subscription: Subscription
    pinned: bool = False
    """Held whether or not anyone listens (named on the command line)."""
    listeners: set[Listener] = field(default_factory=set)
    latest: bytes | None = None
    """Non-book topics: the last snapshot, or for ``STATE_CHANNELS`` the last frame."""
    latest_is_snapshot: bool = False

    @property
    def wanted(self) -> bool:
        return self.pinned or bool(self.listeners)


def variant_refusal(held: Subscription, asked: Subscription) -> str | None:
    """Why ``asked`` cannot be served from the topic held as ``held`` (None: it can)."""
    if held.channel == Channel.BOOK:
        held_depth = held.depth or DEFAULT_DEPTH
        asked_depth = asked.depth or DEFAULT_DEPTH
        if held_depth != asked_depth:
            return (
                f"depth {asked_depth} is not supported: this relay carries the {held.market} "
                f"book at depth {held_depth}"
            )
    if held.channel == Channel.KLINE:
        held_resolution = held.resolution or DEFAULT_RESOLUTION
        asked_resolution = asked.resolution or DEFAULT_RESOLUTION
        if held_resolution != asked_resolution:
            return (
                f"resolution {asked_resolution} is not supported: this relay carries the "
                f"{held.market} kline at resolution {held_resolution}"
            )
    return None
