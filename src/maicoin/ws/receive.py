"""The frames of one connection: read them and send each down the per-frame path.

The path itself (count, decode, book, dispatch) is ``frame_path.FramePath``, compiled. A
connection that can push frames from a synchronous callback (the picows transport: it has
``run_frame_path``) gets the path handed over and runs it without an ``await`` per frame;
any other connection is read with ``recv()`` in a loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .frame_path import FramePath, pull_frames
from .transport import frame_reader

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .stream import Stream


def frame_path_of(stream: Stream, dispatcher: Dispatcher) -> FramePath:
    """The per-frame path of ``stream``: its decoder, stats, books and dispatcher."""
    return FramePath(
        decode=stream.decoder,
        stats=stream.stats,
        apply_book=stream.book_keeper.apply,
        dispatch=dispatcher.dispatch,
        request_resync=stream.request_resync,
        on_error_response=stream.handle_error_response,
    )


async def receive_loop(stream: Stream, connection: Any, dispatcher: Dispatcher) -> None:
    """Handle frames until the connection closes; returns on a clean close.

    A frame that does not decode is counted, logged and skipped: the connection stays up.
    """
    path = frame_path_of(stream, dispatcher)
    run_frame_path = getattr(connection, "run_frame_path", None)
    if run_frame_path is not None:
        await run_frame_path(path)
    else:
        await pull_frames(path, frame_reader(connection))
