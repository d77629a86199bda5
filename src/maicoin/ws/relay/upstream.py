"""The relay's one upstream ``Stream`` and the topics it carries for its listeners.

Every frame the upstream sends is read raw (a tapped connection) and decoded once by the
stream, whose order books are kept as for any stream. Frames go out to listeners as they
came, bytes unchanged, with one exception, the book: a consumer must see a book stream
its own ``Stream`` can follow without a gap, so book frames go out only while the relay's
own book is synced, and every snapshot a listener gets is built from that synced book
(which includes any updates held before the exchange's snapshot). A resync or a reconnect
upstream therefore reaches listeners as one fresh snapshot; the gap never does.

Upstream subscriptions follow demand: a topic is subscribed when its first listener
joins and unsubscribed when its last one leaves (unless pinned), reconciled once per
event-loop turn so that a burst of consumers costs one request, all within the stream's
request rate limiter.

Private (``user``) frames go to the relay's ``PrivateFeed`` when it has one (``--private``),
never to the topics or the sinks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from .._client.registry import validate_subscription
from .._frames.rules import SNAPSHOT_EVENTS
from .._io.tap import tapped_connect
from ..channel import Channel
from ..errors import SubscriptionError
from ..response import Response
from ..stream import Stream
from ..subscription import Subscription
from . import frames
from .private import PrivateFeed
from .stats import RelayStats
from .topics import STATE_CHANNELS, Listener, Topic, TopicKey, topic_key, variant_refusal

__all__ = ["FrameSink", "Upstream"]

log = logging.getLogger("maicoin.ws.relay")


class FrameSink(Protocol):
    """Takes every frame the relay fans out, e.g. to publish it elsewhere (Redis)."""

    def start(self, upstream: Upstream) -> None:
        """Begin taking frames (in the relay's event loop); ``upstream`` builds snapshots."""
        ...

    def publish(self, key: TopicKey, frame: bytes, *, snapshot: bool) -> None:
        """One frame of topic ``key``; ``snapshot``: a frame a reader may start from."""
        ...

    async def aclose(self) -> None:
        """Write what is still queued, then stop."""
        ...


class Upstream:
    """Holds the upstream subscriptions listeners need and fans frames out to them."""

    def __init__(
        self,
        stream: Stream,
        stats: RelayStats,
        *,
        pinned: Iterable[Subscription] = (),
        sinks: Sequence[FrameSink] = (),
        private: PrivateFeed | None = None,
    ) -> None:
        self.stream = stream
        self.private = private
        """Serves the account to authenticated consumers (None: private frames are not
        relayed; the stream does not authenticate then)."""
        self._stats = stats
        self.sinks: list[FrameSink] = list(sinks)
        self.topics: dict[TopicKey, Topic] = {}
        self._held: dict[TopicKey, Subscription] = {}
        self._reconcile_scheduled = False
        self._raw: bytes = b""
        stream.connect_factory = tapped_connect(stream.connect_factory, self._on_raw_frame)
        stream.on_subscription_error = self._refused
        stream.add_handler(self._on_response)
        for sub in pinned:
            validate_subscription(sub)
            self.topics[topic_key(sub)] = Topic(sub, pinned=True)
        self._reconcile()

    # -- listeners --------------------------------------------------------------------------

    def join(self, listener: Listener, sub: Subscription) -> tuple[str | None, bytes | None]:
        """Add ``listener`` to the topic of ``sub``: (why it is refused, or None; the frame
        it starts from, or None while the topic has none yet)."""
        key = topic_key(sub)
        topic = self.topics.get(key)
        if topic is None:
            topic = self.topics[key] = Topic(sub)
            self._schedule_reconcile()
        else:
            refusal = variant_refusal(topic.subscription, sub)
            if refusal is not None:
                return refusal, None
        topic.listeners.add(listener)
        return None, self.start_frame(key)

    def leave(self, listener: Listener, key: TopicKey) -> None:
        """Remove ``listener`` from a topic; a topic nobody wants is dropped upstream."""
        topic = self.topics.get(key)
        if topic is None:
            return
        topic.listeners.discard(listener)
        if not topic.wanted:
            del self.topics[key]
            self._schedule_reconcile()

    def start_frame(self, key: TopicKey) -> bytes | None:
        """The snapshot a new listener of ``key`` starts from, if the relay has one."""
        topic = self.topics.get(key)
        if topic is None:
            return None
        sub = topic.subscription
        if sub.channel == Channel.BOOK:
            book = self.stream.books.get(sub.market or "")
            if book is None or not book.synced:
                return None
            self._stats.snapshots_built += 1
            return frames.book_snapshot(book)
        latest = topic.latest
        if latest is None or topic.latest_is_snapshot:
            return latest
        return frames.relabelled_snapshot(latest)

    # -- upstream subscriptions -------------------------------------------------------------

    def _schedule_reconcile(self) -> None:
        if not self._reconcile_scheduled:
            self._reconcile_scheduled = True
            asyncio.get_running_loop().call_soon(self._reconcile)

    def _reconcile(self) -> None:
        """Subscribe what topics need and the stream does not hold; drop what nobody needs."""
        self._reconcile_scheduled = False
        topics, held = self.topics, self._held
        dropped = [sub for key, sub in held.items() if topics.get(key) is None]
        dropped += [
            sub for key, sub in held.items() if key in topics and topics[key].subscription != sub
        ]
        for sub in dropped:
            del held[topic_key(sub)]
        added = [topic.subscription for key, topic in topics.items() if key not in held]
        if dropped:
            self.stream.unsubscribe(dropped)
        if added:
            self.stream.subscribe(added)
            for sub in added:
                held[topic_key(sub)] = sub

    def _refused(self, error: SubscriptionError) -> None:
        """The exchange refused subscriptions: their listeners hear why, the topics go."""
        log.warning("%s", error)
        for sub in error.subscriptions:
            key = topic_key(sub)
            self._held.pop(key, None)
            topic = self.topics.pop(key, None)
            if topic is None:
                continue
            for listener in topic.listeners:
                listener.refused(key, error.reason)

    # -- frames -----------------------------------------------------------------------------

    def _on_raw_frame(self, frame: str | bytes) -> None:
        # Called right before the stream decodes and dispatches this very frame.
        self._raw = frame if isinstance(frame, bytes) else frame.encode()

    def _on_response(self, response: Response) -> None:
        channel = response.channel
        if channel is None:
            return  # replies and errors to the relay's own requests
        if channel is Channel.USER:
            if self.private is not None:
                self.private.on_response(response, self._raw)
            return
        if channel is Channel.POOL_QUOTA:
            quota = response.pool_quota
            key: TopicKey = (str(channel), None, quota.currency if quota else response.currency)
        else:
            key = (str(channel), response.market, None)
        topic = self.topics.get(key)
        if topic is None:
            self._stats.frames_unrouted += 1
            log.debug("no topic for a %s frame of %s; dropped", channel, key)
            return
        snapshot = response.event in SNAPSHOT_EVENTS
        if channel is Channel.BOOK:
            book = self.stream.books.get(response.market or "")
            if book is None or not book.synced:
                if not snapshot:
                    return  # held or out of sequence: the snapshot that follows covers it
                frame = self._raw  # an empty snapshot: listeners clear their books too
            elif snapshot:
                self._stats.snapshots_built += 1
                frame = frames.book_snapshot(book)
            else:
                frame = self._raw
        else:
            frame = self._raw
            if snapshot or channel in STATE_CHANNELS:
                topic.latest, topic.latest_is_snapshot = frame, snapshot
        self._stats.frames_relayed += 1
        for listener in topic.listeners:
            listener.deliver(frame)
        for sink in self.sinks:
            sink.publish(key, frame, snapshot=snapshot)
