"""The per-frame path of a connection: read, decode, keep the book, dispatch."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosedOK

from .errors import ValidationError
from .transport import frame_reader

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .stream import Stream

log = logging.getLogger("maicoin.ws")


async def receive_loop(stream: Stream, connection: Any, dispatcher: Dispatcher) -> None:
    """Handle frames until the connection closes; returns on a clean close.

    A frame that does not decode is counted, logged and skipped: the connection stays up.
    """
    read = frame_reader(connection)
    decode = stream.decoder
    dispatch = dispatcher.dispatch
    stats = stream.stats
    apply_book = stream.book_keeper.apply
    wall_clock = time.time
    while True:
        try:
            frame = await read()
        except ConnectionClosedOK:
            return
        stats.messages += 1
        stats.bytes += len(frame)
        stats.last_receive_time = wall_clock()
        try:
            response = decode(frame)
        except ValidationError as exc:
            stats.decode_errors += 1
            log.warning("dropped a frame that does not decode (%s): %.200r", exc, frame)
            continue
        if response.channel == "book":
            resync = apply_book(response)
            if resync is not None:
                stream.request_resync(resync)
        pending = dispatch(response)
        if pending is not None:
            await pending
        if response.event == "error":
            stream.handle_error_response(response)
