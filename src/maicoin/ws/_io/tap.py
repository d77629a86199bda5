"""A ``connect_factory`` wrapper that shows every received frame, raw, before it is decoded.

The tapped connection is read with ``recv()`` (the frame path's pull loop), so the tap is
called with each frame right before the stream decodes and dispatches that same frame:
``record``, ``stream --raw`` and the relay's upstream read raw frames through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from .connect import ConnectFactory, frame_reader

__all__ = ["tapped_connect"]


class _TappedConnection:
    """A connection that shows every received frame to ``on_frame`` before returning it."""

    def __init__(self, inner: Any, on_frame: Callable[[str | bytes], None]) -> None:
        self._inner = inner
        self._read = frame_reader(inner)
        self._on_frame = on_frame

    async def send(self, message: str) -> Any:
        return await self._inner.send(message)

    async def recv(self) -> str | bytes:
        frame = await self._read()
        self._on_frame(frame)
        return frame

    async def close(self) -> Any:
        return await self._inner.close()


def tapped_connect(
    connect: ConnectFactory, on_frame: Callable[[str | bytes], None]
) -> ConnectFactory:
    """A ``connect_factory`` that calls ``on_frame(frame)`` for every frame, before decoding."""

    @contextlib.asynccontextmanager
    async def connect_tapped(uri: str, **options: Any) -> AsyncIterator[_TappedConnection]:
        async with connect(uri, **options) as connection:
            yield _TappedConnection(connection, on_frame)

    return connect_tapped
