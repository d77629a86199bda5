"""The per-frame path, pure-Python twin of ``_frame_path_c``: count, decode, lag, book, dispatch.

``FramePath.feed(frame)`` is the whole path of one frame; it returns an awaitable when the
dispatcher needs one awaited before the next frame (an async inline handler, a full bounded
queue), else None. It knows no transport: the I/O layer (``maicoin.ws._io.receive``) reads
the frames and feeds them in.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, final

from ..channel import Channel
from ..feed_lag import BUCKETS, WIRE_TIME, FeedLag, lag_bucket
from ..response import Event, Response
from .rules import LAG_EXCLUDED_EVENTS, undecodable_frame

__all__ = ["FramePath"]

_BOOK: Final = Channel.BOOK
_USER: Final = Channel.USER
_ERROR: Final = Event.ERROR
_PONG: Final = Event.PONG
_wire_time = WIRE_TIME.__get__


@final
class FramePath:
    """Count, decode, keep the book and dispatch one frame.

    ``decode`` raises for a frame that does not decode (``ValidationError``, or msgspec's own
    errors from ``make_decoder(raw=True)``); that frame, or one on which ``decode`` raises
    anything else, is counted in ``stats.decode_errors``, logged and skipped
    (``rules.undecodable_frame``, which names each failure alike), and the connection goes on.
    ``apply_book(response)`` gets every ``book`` frame and may return a resync request for
    ``request_resync``. ``apply_book_frame(frame)`` (when given) is offered each frame
    first: a ``Response`` back means it was a book update it applied itself (the compiled
    book's one-pass read), None that the frame takes the full way.
    ``apply_private(response)`` (when given) gets every ``user`` frame before its handlers,
    so they see the account caches with it applied. ``on_control`` sees every ``error`` and
    ``pong`` frame after its handlers and may raise to end the connection. With a
    ``feed_lag``, the lag of every ``Response`` with a channel, but snapshots
    (``rules.LAG_EXCLUDED_EVENTS``), and an integer ``T`` is counted in it
    (``maicoin.ws.feed_lag`` says how).
    """

    __slots__ = (
        "_apply_book",
        "_apply_book_frame",
        "_apply_private",
        "_decode",
        "_dispatch",
        "_feed_lag",
        "_lag_counts",
        "_lag_slots",
        "_on_control",
        "_request_resync",
        "_stats",
    )

    def __init__(
        self,
        *,
        decode: Callable[[bytes | str], Response],
        stats: Any,
        apply_book: Callable[[Response], Any],
        dispatch: Callable[[Response], Awaitable[Any] | None],
        request_resync: Callable[[Any], None],
        on_control: Callable[[Response], None],
        apply_private: Callable[[Response], None] | None = None,
        feed_lag: FeedLag | None = None,
        apply_book_frame: Callable[[bytes | str], Response | None] | None = None,
    ) -> None:
        self._feed_lag = feed_lag
        if feed_lag is not None:
            self._lag_counts = feed_lag.counts
            self._lag_slots = feed_lag.slots
        self._decode = decode
        self._stats = stats
        self._apply_book = apply_book
        self._dispatch = dispatch
        self._request_resync = request_resync
        self._on_control = on_control
        self._apply_private = apply_private
        self._apply_book_frame = apply_book_frame

    @property
    def stats(self) -> Any:
        """The counters this path keeps (a ``StreamStats``): the transport counts a message it
        refused for its size here, as a frame that does not decode."""
        return self._stats

    def feed(self, frame: bytes | str) -> Awaitable[Any] | None:
        """Handle one frame; return an awaitable to await before the next frame, or None."""
        stats = self._stats
        stats.messages += 1
        stats.bytes += len(frame)
        now = stats.last_receive_time = time.time()
        applied = None if self._apply_book_frame is None else self._apply_book_frame(frame)
        if applied is not None:
            response = applied
        else:
            try:
                response = self._decode(frame)
            except Exception as exc:  # whatever decoding raises, the frame alone is lost
                undecodable_frame(stats, frame, exc)
                return None
        # msgspec hands back the enum member itself for every known channel and event.
        channel = response.channel
        event = response.event
        if self._feed_lag is not None and channel is not None:
            self._measure_lag(response, channel, event, now)
        if channel is _BOOK:
            if applied is not None:
                pass  # its book has it already
            elif (resync := self._apply_book(response)) is not None:
                self._request_resync(resync)
        elif channel is _USER and self._apply_private is not None:
            self._apply_private(response)
        pending = self._dispatch(response)
        if event is _ERROR or event is _PONG:
            if pending is not None:
                return self._control_after(pending, response)
            self._on_control(response)
        return pending

    def _measure_lag(self, response: Response, channel: Any, event: Any, now: float) -> None:
        if type(response) is not Response or event in LAG_EXCLUDED_EVENTS:
            return
        stamped = _wire_time(response, Response)
        if type(stamped) is not int:
            return
        slot = self._lag_slots.get(channel)
        if slot is None:
            assert self._feed_lag is not None
            slot = self._feed_lag.slot_for(channel)
        if slot >= 0:
            self._lag_counts[slot * BUCKETS + lag_bucket(int(now * 1000.0) - stamped)] += 1

    async def _control_after(self, pending: Awaitable[Any], response: Response) -> None:
        await pending
        self._on_control(response)
