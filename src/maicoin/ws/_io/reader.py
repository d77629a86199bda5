"""The frames of one connection, read and sent down a frame path until the connection ends.

A connection that can push frames from a synchronous callback (picows, websockets' own
connection: they have ``run_frame_path``) gets the path handed over and runs it without an
``await`` per frame; any other connection is read with ``recv()`` in a loop. Nothing here
knows the Stream: the caller builds the ``FramePath``.
"""

from __future__ import annotations

from typing import Any

from websockets.exceptions import ConnectionClosedError

from .._frames.frame_path import FramePath
from .connect import frame_reader
from .receive import pull_frames
from .rules import count_message_too_big, refused_as_too_big

__all__ = ["receive_loop"]


async def receive_loop(path: FramePath, connection: Any) -> None:
    """Feed every frame of ``connection`` to ``path``; return on a clean close.

    A message longer than the connection's ``max_size`` ends it on every transport (closed
    with 1009); it is counted in ``path.stats.decode_errors`` and logged here, once for all.
    """
    run_frame_path = getattr(connection, "run_frame_path", None)
    try:
        if run_frame_path is not None:
            await run_frame_path(path)
        else:
            await pull_frames(path, frame_reader(connection))
    except ConnectionClosedError as exc:
        reason = refused_as_too_big(exc)
        if reason is not None:
            count_message_too_big(path.stats, reason)
        raise
