"""A ``connect_factory`` connection that reads the relay's Redis Streams as if it were MAX.

``Stream(uri="redis://host:6379/0")`` picks it by itself. The stream sends its requests
as to the exchange and reads frames back, so it gets the same ``Response``s and keeps the
same books: a ``sub`` is answered with a ``subscribed`` reply, then for each topic its
latest snapshot from the topic's hash, then the topic's stream entries after that snapshot
(one ``XREAD BLOCK`` over every subscribed topic). A book with no snapshot published yet
waits for the first snapshot entry; refresh snapshots are skipped once a topic is
followed. ``unsub`` stops reading a topic, the application ping gets its ``pong``, and
``auth`` is refused: the relay publishes public channels only. A Redis failure ends the
connection, and the stream reconnects and resubscribes as it would to MAX.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from websockets.exceptions import ConnectionClosedOK

from .. import _replies as replies
from .._client.registry import SubscriptionKey, public_subscriptions, subscription_key
from ..channel import Channel
from ..subscription import Subscription
from .keys import (
    DEFAULT_PREFIX,
    FRAME_FIELD,
    KIND_FIELD,
    REFRESH,
    STATE,
    snapshot_key,
    stream_key,
)

__all__ = ["DEFAULT_BLOCK_MS", "RedisConnection", "redis_connect"]

DEFAULT_BLOCK_MS: Final = 1_000
"""How long one ``XREAD`` waits for entries; topics subscribed meanwhile join the next."""
READ_COUNT: Final = 1_000
"""Entries per stream per ``XREAD`` at most."""
_PRIVATE_CHANNEL: Final = "Redis carries public ones only"
PRIVATE_REFUSAL: Final = (
    "E-1007: authentication failed: the relay publishes public channels only to Redis"
)
_ID_FIELD: Final = b"id"

_decode = msgspec.json.Decoder().decode


def _entry_id(value: bytes) -> tuple[int, int]:
    milliseconds, _, sequence = value.partition(b"-")
    return int(milliseconds), int(sequence or 0)


@dataclass(eq=False)
class _Follow:
    """One subscribed topic: its stream and how far it has been read."""

    stream: str
    position: bytes
    started: bool
    """A snapshot was handed over: entries are delivered from now on."""


class RedisConnection:
    """Requests in, frames out, as on a WebSocket to MAX; frames come from Redis Streams."""

    def __init__(self, client: aioredis.Redis, *, prefix: str, block_ms: int) -> None:
        # Typed loosely: redis-py's annotations cover both its sync and async clients.
        self._client: Any = client
        self._prefix = prefix
        self._block_ms = block_ms
        self._frames: collections.deque[bytes] = collections.deque()
        self._follows: dict[SubscriptionKey, _Follow] = {}
        self._wake = asyncio.Event()
        self._read: asyncio.Task[Any] | None = None
        self._closed = False

    async def send(self, message: str) -> None:
        """Answer one request as the exchange would."""
        try:
            request = _decode(message)
        except msgspec.DecodeError:
            request = None
        if not isinstance(request, dict):
            self._frames.append(replies.error([replies.INVALID_JSON], None))
        else:
            request_id = request.get("id")
            request_id = request_id if isinstance(request_id, str) else None
            action = request.get("action")
            if action == "sub":
                await self._subscribe(request.get("subscriptions"), request_id)
            elif action == "unsub":
                self._unsubscribe(request.get("subscription"), request_id)
            elif action == "ping":
                self._frames.append(replies.pong(request_id))
            elif action == "auth":
                self._frames.append(replies.error([PRIVATE_REFUSAL], request_id))
            else:
                self._frames.append(replies.error([replies.INVALID_ACTION], request_id))
        self._wake.set()

    async def recv(self) -> bytes:
        """The next frame: a reply or snapshot waiting, else the next stream entry."""
        frames = self._frames
        while not frames:
            if self._closed:
                raise ConnectionClosedOK(None, None)
            if not self._follows:
                self._wake.clear()
                await self._wake.wait()
                continue
            read = self._read
            if read is None:
                read = self._read = asyncio.get_running_loop().create_task(self._xread())
            self._wake.clear()
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({read, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
            if self._closed:
                # The frame path ends on the transports' clean close (websockets' own).
                raise ConnectionClosedOK(None, None)
            if read.done():
                self._read = None
                try:
                    by_stream, result = read.result()
                except (RedisError, OSError) as exc:
                    raise ConnectionError(f"reading Redis failed: {exc}") from exc
                self._take(by_stream, result)
        return frames.popleft()

    async def close(self) -> None:
        """Stop reading: a ``recv()`` waiting returns as on a clean close."""
        self._closed = True
        self._wake.set()
        read, self._read = self._read, None
        if read is not None:
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await read

    async def _subscribe(self, objects: object, request_id: str | None) -> None:
        subs, reasons = public_subscriptions(
            objects, "subscriptions", private_reason=_PRIVATE_CHANNEL
        )
        if subs:
            self._frames.append(replies.reply("subscribed", request_id, subs))
        if reasons:
            self._frames.append(replies.error(reasons, request_id))
        for sub in subs:
            await self._follow(sub)

    async def _follow(self, sub: Subscription) -> None:
        """Start a topic from its latest snapshot (a book without one waits for one)."""
        key = subscription_key(sub)
        stream = stream_key(self._prefix, key)
        # One transaction (both keys share a hash tag): the snapshot and the newest entry
        # as of one moment, so no snapshot entry can fall between the two reads.
        pipe = self._client.pipeline(transaction=True)
        pipe.hgetall(snapshot_key(self._prefix, key))
        pipe.xrevrange(stream, count=1)
        snapshot, newest = await pipe.execute()
        frame = snapshot.get(FRAME_FIELD)
        if frame is not None:
            self._frames.append(frame)
        if sub.channel == Channel.BOOK:
            # The entries after the snapshot's own are exactly the updates that follow it.
            position = snapshot.get(_ID_FIELD, b"0-0")
            started = frame is not None
        else:
            # Channels without a sequence go on from the newest entry.
            position = newest[0][0] if newest else b"0-0"
            started = True
        self._follows[key] = _Follow(stream, position, started)

    def _unsubscribe(self, objects: object, request_id: str | None) -> None:
        subs, reasons = public_subscriptions(
            objects, "subscription", private_reason=_PRIVATE_CHANNEL
        )
        for sub in subs:
            self._follows.pop(subscription_key(sub), None)
        if subs:
            self._frames.append(replies.reply("unsubscribed", request_id, subs))
        if reasons:
            self._frames.append(replies.error(reasons, request_id))

    async def _xread(self) -> tuple[dict[bytes, _Follow], Any]:
        follows = {follow.stream.encode(): follow for follow in self._follows.values()}
        streams = {name: follow.position for name, follow in follows.items()}
        result = await self._client.xread(streams, count=READ_COUNT, block=self._block_ms)
        return follows, result

    def _take(self, by_stream: dict[bytes, _Follow], result: Any) -> None:
        """Queue the frames of an ``XREAD`` answer for the topics still followed."""
        current = set(map(id, self._follows.values()))
        frames = self._frames
        for name, entries in _stream_entries(result):
            follow = by_stream.get(name)
            if follow is None or id(follow) not in current:
                continue  # unsubscribed (or subscribed afresh) while the read was out
            floor = _entry_id(follow.position)
            for entry_id, fields in entries:
                if _entry_id(entry_id) <= floor:
                    continue
                follow.position = entry_id
                kind = fields.get(KIND_FIELD)
                if kind is None or kind == STATE:
                    if follow.started:
                        frames.append(fields[FRAME_FIELD])
                elif kind != REFRESH or not follow.started:
                    frames.append(fields[FRAME_FIELD])
                    follow.started = True


def _stream_entries(result: Any) -> list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]:
    """``XREAD``'s answer as (stream, entries) pairs, in either protocol's shape."""
    if not result:
        return []
    if isinstance(result, dict):  # RESP3
        return [
            (name, entries[0] if entries and isinstance(entries[0], list) else entries)
            for name, entries in result.items()
        ]
    return [(name, entries) for name, entries in result]


@contextlib.asynccontextmanager
async def redis_connect(
    uri: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    block_ms: int = DEFAULT_BLOCK_MS,
    **options: Any,
) -> AsyncIterator[RedisConnection]:
    """Connect to the Redis at ``uri`` (``redis://``, ``rediss://``; a password in the URL);
    ``prefix`` names the relay's keys; other keywords go to ``redis.asyncio.from_url``."""
    client = aioredis.from_url(uri, **options)
    try:
        await client.ping()
        connection = RedisConnection(client, prefix=prefix, block_ms=block_ms)
        try:
            yield connection
        finally:
            await connection.close()
    finally:
        await client.aclose()
