"""``RedisPublisher``: the relay's frames, every one, written to Redis Streams.

One stream per topic, trimmed to about ``maxlen`` entries (``MAXLEN ~``), and the topic's
latest snapshot in a hash written atomically with the stream entry that carries it (one
Lua script, whose keys share a hash tag, so it also runs on Redis Cluster); for ticker,
kline and pool quota every update renews it, relabelled a snapshot; see
``maicoin.ws._redis.keys``. Every ``refresh_every`` frames of a book the relay writes a
refresh snapshot of its synced book, so that a reader starting from the hash never has
more than that many entries to catch up on, well within what trimming keeps.

``publish`` only queues: a writer task sends the queue in pipelined batches. A queue
longer than ``max_pending`` frames (Redis away or too slow) is dropped, counted and
logged, and replaced by a fresh snapshot of every topic, so readers rebuild their books
instead of finding a gap. Requires the ``redis`` extra.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .._redis.keys import (
    DEFAULT_MAXLEN,
    DEFAULT_PREFIX,
    FRAME_FIELD,
    REFRESH,
    SNAPSHOT,
    STATE,
    snapshot_key,
    stream_key,
)
from ..channel import Channel
from .frames import relabelled_snapshot
from .topics import STATE_CHANNELS, TopicKey
from .upstream import Upstream

__all__ = ["RedisPublisher"]

log = logging.getLogger("maicoin.ws.relay")

# KEYS: the stream, the snapshot hash. ARGV: maxlen, frame, kind, the hash's frame.
_ADD_SNAPSHOT: Final = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'f', ARGV[2], 'k', ARGV[3])
redis.call('HSET', KEYS[2], 'id', id, 'f', ARGV[4])
return id
"""
BATCH: Final = 1_000
"""Entries per pipelined round trip at most."""
RETRY_DELAY: Final = 1.0

_BOOK: Final = str(Channel.BOOK)
_STATE_CHANNELS: Final = frozenset(str(channel) for channel in STATE_CHANNELS)


class RedisPublisher:
    """A relay sink writing every frame to Redis Streams at ``url`` (``redis://``,
    ``rediss://`` for TLS; a password goes in the URL: ``redis://:PASSWORD@host:6379/0``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int = DEFAULT_MAXLEN,
        refresh_every: int = 1_000,
        max_pending: int = 100_000,
        client: aioredis.Redis | None = None,
    ) -> None:
        for name, value in (
            ("maxlen", maxlen),
            ("refresh_every", refresh_every),
            ("max_pending", max_pending),
        ):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.prefix = prefix
        self.maxlen = maxlen
        self.refresh_every = refresh_every
        self.max_pending = max_pending
        self._client = client if client is not None else aioredis.from_url(url)
        self._script = self._client.register_script(_ADD_SNAPSHOT)
        self._pending: collections.deque[tuple[TopicKey, bytes, bytes | None]] = collections.deque()
        self._since_refresh: dict[TopicKey, int] = {}
        self._ready = asyncio.Event()
        self._upstream: Upstream | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self.entries_written = 0
        self.frames_dropped = 0
        """Frames dropped because the queue passed ``max_pending``."""
        self.write_errors = 0

    def start(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._writer = asyncio.get_running_loop().create_task(
            self._write(), name="maicoin.ws relay redis"
        )

    def publish(self, key: TopicKey, frame: bytes, *, snapshot: bool) -> None:
        pending = self._pending
        if snapshot:
            kind: bytes | None = SNAPSHOT
        else:
            kind = STATE if key[0] in _STATE_CHANNELS else None
        pending.append((key, frame, kind))
        if key[0] == _BOOK:
            count = 0 if snapshot else self._since_refresh.get(key, 0) + 1
            if count >= self.refresh_every and self._upstream is not None:
                refresh = self._upstream.start_frame(key)
                if refresh is not None:
                    pending.append((key, refresh, REFRESH))
                    count = 0
            self._since_refresh[key] = count
        if len(pending) > self.max_pending:
            self._overflow()
        self._ready.set()

    async def aclose(self) -> None:
        """Write what is queued (while Redis answers), then close the client."""
        self._closing = True
        self._ready.set()
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self._client.aclose()

    def _overflow(self) -> None:
        dropped = len(self._pending)
        self._pending.clear()
        self.frames_dropped += dropped
        log.error(
            "redis publisher: %d frames queued (more than %d): dropped; a snapshot of every "
            "topic follows",
            dropped,
            self.max_pending,
        )
        upstream = self._upstream
        if upstream is None:
            return
        for key in upstream.topics:
            start = upstream.start_frame(key)
            if start is not None:
                self._pending.append((key, start, SNAPSHOT))

    async def _write(self) -> None:
        pending, ready = self._pending, self._ready
        while True:
            if not pending:
                if self._closing:
                    return
                ready.clear()
                await ready.wait()
                continue
            batch = [pending.popleft() for _ in range(min(BATCH, len(pending)))]
            while True:
                try:
                    await self._send(batch)
                    break
                except (RedisError, OSError) as exc:
                    self.write_errors += 1
                    if self._closing:
                        log.error("redis publisher: %d frames not written: %s", len(batch), exc)
                        return
                    log.warning("redis publisher: write failed (%s); retrying", exc)
                    await asyncio.sleep(RETRY_DELAY)
            self.entries_written += len(batch)

    async def _send(self, batch: list[tuple[TopicKey, bytes, bytes | None]]) -> None:
        prefix, maxlen = self.prefix, self.maxlen
        pipe: Any = self._client.pipeline(transaction=False)
        for key, frame, kind in batch:
            if kind is None:
                pipe.xadd(stream_key(prefix, key), {FRAME_FIELD: frame}, maxlen=maxlen)
            else:
                # A state update is what a new reader starts from, relabelled a snapshot.
                latest = relabelled_snapshot(frame) if kind == STATE else frame
                keys = [stream_key(prefix, key), snapshot_key(prefix, key)]
                await self._script(keys=keys, args=[maxlen, frame, kind, latest], client=pipe)
        await pipe.execute()
