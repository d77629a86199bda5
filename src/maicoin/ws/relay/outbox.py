"""The outbound side of one consumer connection: a bounded queue of frames and its writer.

Delivering a frame only appends it (the upstream never waits on a consumer); one task per
consumer writes the queue to its socket. A consumer whose queue grows past ``max_buffer``
bytes is too slow for the feed: it is closed with code 1008 and a reason saying so (the
TCP connection is dropped if the closing handshake does not finish within
``close_timeout``), and the others never notice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any, Final

from websockets.exceptions import ConnectionClosed

__all__ = ["DEFAULT_MAX_BUFFER", "SLOW_CONSUMER_CLOSE_CODE", "Outbox"]

log = logging.getLogger("maicoin.ws.relay")

DEFAULT_MAX_BUFFER: Final = 4 * 1024 * 1024
"""Bytes queued for one consumer before it is cut off."""
SLOW_CONSUMER_CLOSE_CODE: Final = 1008


class Outbox:
    """Frames waiting for one consumer's socket, written in order by a task of its own."""

    def __init__(
        self, connection: Any, *, max_buffer: int, close_timeout: float, name: str
    ) -> None:
        self.connection = connection
        """The consumer's WebSocket connection."""
        self._max_buffer = max_buffer
        self._close_timeout = close_timeout
        self._name = name
        self._frames: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.cut_off_reason: str | None = None
        """Why the consumer was cut off, once it was."""
        self.frames_sent = 0

    @property
    def queued_bytes(self) -> int:
        return self._queued

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write(), name=self._name)

    async def aclose(self) -> None:
        """Stop writing (the connection has ended) and wait for a cut-off's close."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._closer is not None:
            await self._closer

    def put(self, frame: bytes) -> None:
        """Queue one frame; a consumer over its bound is cut off instead."""
        if self.cut_off_reason is not None:
            return
        self._frames.append(frame)
        self._queued += len(frame)
        if self._queued > self._max_buffer:
            self._cut_off()
        else:
            self._ready.set()

    async def _write(self) -> None:
        frames, connection, ready = self._frames, self.connection, self._ready
        with contextlib.suppress(ConnectionClosed):
            while True:
                if not frames:
                    ready.clear()
                    await ready.wait()
                    continue
                frame = frames.popleft()
                self._queued -= len(frame)
                await connection.send(frame, text=True)
                self.frames_sent += 1

    def _cut_off(self) -> None:
        self.cut_off_reason = f"consumer too slow: more than {self._max_buffer} bytes to send"
        log.warning("closing consumer %s: %s", self._name, self.cut_off_reason)
        self._frames.clear()
        self._queued = 0
        if self._writer is not None:
            self._writer.cancel()  # it may be waiting on a socket that no longer drains
        self._closer = asyncio.get_running_loop().create_task(self._close(self.cut_off_reason))

    async def _close(self, reason: str) -> None:
        connection = self.connection
        try:
            async with asyncio.timeout(self._close_timeout):
                await connection.close(SLOW_CONSUMER_CLOSE_CODE, reason)
        except TimeoutError:
            connection.transport.abort()
