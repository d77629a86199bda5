"""One client connection of the simulator: its state, its send queue, and its fault switches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from . import frames
from .bookview import BookView
from .faults import Faults
from .topics import Topic

logger = logging.getLogger("maicoin.ws.testing")

MAX_PENDING_FRAMES = 100_000
"""A client this many frames behind is dropped (close code 1008), as a real server would."""

MALFORMED_FRAME = '{"e":"update","c":"book","M":'
"""The default non-JSON frame: a truncated object."""


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One message a client sent, kept for assertions."""

    connection_id: int
    received_at: float
    """Server clock time (Unix seconds) when it arrived."""
    text: str
    message: dict[str, Any] | None
    """The decoded JSON object, or None when the text was not a JSON object."""

    @property
    def action(self) -> Any:
        return None if self.message is None else self.message.get("action")


class SimConnection:
    """A client connection as the simulator sees it: the handle tests use to inspect and break it.

    Frames are queued and written by one task per connection, so ``faults.delay`` and the
    frame-count faults apply in order. With ``idle_timeout`` (seconds, None: never), a
    connection on which no frame went either way for that long is dropped without a close
    frame (the client sees 1006), as the live exchange does: every frame counts, pings and
    pongs included.
    """

    def __init__(
        self,
        websocket: ServerConnection,
        connection_id: int,
        faults: Faults,
        *,
        clock_ms: Callable[[], int],
        on_change: Callable[[], None],
        idle_timeout: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.id = connection_id
        self.rng = random.Random(connection_id) if rng is None else rng
        """Drives this connection's shuffled and respelt book levels."""
        self.faults = faults
        self.requests: list[ReceivedRequest] = []
        self.frames_sent = 0
        self.pings_received = 0
        self.api_key: str | None = None
        self.filters: frozenset[str] = frozenset()
        self.topics: dict[tuple[str, str | None], Topic] = {}
        self.book_views: dict[str, BookView] = {}
        self.raced: list[str] = []
        """Markets whose book got an update before its snapshot (a subscribe race), in order."""
        self.close_code: int | None = None
        """The close code the client saw from us, or None while open or after an abort."""
        self.aborted = False
        self.idle_closed = False
        """True once the connection was dropped for ``idle_timeout`` seconds of silence."""
        self.idle_timeout = idle_timeout
        self._websocket = websocket
        self._clock_ms = clock_ms
        self._on_change = on_change
        self._queue: asyncio.Queue[tuple[float, bytes | str]] = asyncio.Queue()
        self._ordinary_frames = 0
        self._pending = 0
        self._overflowed = False
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: list[asyncio.TimerHandle] = []
        self._idle_timer: asyncio.TimerHandle | None = None
        self._last_traffic = 0.0
        self._install_frame_hooks()

    # -- state ------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return not self._closed.is_set()

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def pending_frames(self) -> int:
        """Frames queued but not yet written (held back by ``faults.delay`` or a slow client)."""
        return self._pending

    @property
    def last_traffic(self) -> float:
        """Event loop time (``loop.time()``) of the last frame either way, pings included."""
        return self._last_traffic

    @property
    def remote_address(self) -> Any:
        return self._websocket.remote_address

    @property
    def authenticated(self) -> bool:
        return self.api_key is not None

    def subscriptions(self) -> list[dict[str, Any]]:
        """The live subscriptions as wire subscription objects."""
        return [topic.echo_object() for topic in self.topics.values()]

    def requests_with(self, action: str) -> list[ReceivedRequest]:
        """The requests whose ``action`` is ``action`` (``"sub"``, ``"unsub"``, ``"auth"``)."""
        return [request for request in self.requests if request.action == action]

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def __repr__(self) -> str:
        state = "open" if self.open else "closed"
        return f"<SimConnection #{self.id} {state} requests={len(self.requests)}>"

    # -- sending ----------------------------------------------------------------------------

    def send_frame(self, frame: dict[str, Any]) -> None:
        """Queue one ordinary frame; the extra-keys, unknown and malformed faults apply here."""
        faults = self.faults
        self._enqueue(frames.encode(frames.with_extra_keys(frame) if faults.extra_keys else frame))
        self._ordinary_frames += 1
        count = self._ordinary_frames
        if faults.unknown_every is not None and count % faults.unknown_every == 0:
            self.send_unknown_event()
            self.send_unknown_channel()
        if faults.malformed_every is not None and count % faults.malformed_every == 0:
            self.send_malformed()

    def send_raw(self, data: str | bytes) -> None:
        """Queue a text frame exactly as given (no fault processing)."""
        self._enqueue(data)

    def send_malformed(self, text: str = MALFORMED_FRAME) -> None:
        """Queue a text frame that is not valid JSON."""
        self._enqueue(text)

    def send_unknown_event(self, event: str = "surprise", market: str = "btcusdt") -> None:
        """Queue a frame of a known channel with an event no client knows."""
        now = self._clock_ms()
        self._enqueue(frames.encode(frames.market_data("ticker", event, market, {"zz": {}}, now)))

    def send_unknown_channel(self, channel: str = "futures") -> None:
        """Queue a frame of a channel no client knows."""
        now = self._clock_ms()
        frame = frames.market_data(channel, "update", "btcusdt", {"fx": {"p": "1.0"}}, now)
        self._enqueue(frames.encode(frame))

    def inject_gap(self, market: str) -> None:
        """Withhold this connection's next book update of ``market``: a sequence gap."""
        self._view(market).skip = True

    def send_empty_snapshot(self, market: str) -> None:
        """Send an empty book snapshot now; a full snapshot follows at the next step."""
        self.send_frame(self._view(market).snapshot(self._clock_ms(), empty=True))

    def _view(self, market: str) -> BookView:
        view = self.book_views.get(market)
        if view is None:
            raise ValueError(f"connection #{self.id} has no book subscription for {market!r}")
        return view

    def _enqueue(self, data: bytes | str) -> None:
        if not self.open or self._overflowed:
            return
        loop = asyncio.get_running_loop()
        if self._pending >= MAX_PENDING_FRAMES:
            logger.warning("connection #%d fell %d frames behind", self.id, MAX_PENDING_FRAMES)
            self._overflowed = True
            self._tasks.append(loop.create_task(self.close(1008, "slow consumer")))
            return
        self._queue.put_nowait((loop.time() + self.faults.delay, data))
        self._pending += 1

    async def _write(self) -> None:
        websocket, loop = self._websocket, asyncio.get_running_loop()
        while True:
            due, data = await self._queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await websocket.send(data, text=True)
            except ConnectionClosed:
                return
            self._pending -= 1
            self.frames_sent += 1
            self._on_change()
            faults = self.faults
            if (
                faults.abort_after_frames is not None
                and self.frames_sent >= faults.abort_after_frames
            ):
                self.abort()
                return
            if (
                faults.close_after_frames is not None
                and self.frames_sent >= faults.close_after_frames
            ):
                await self.close(faults.close_code, faults.close_reason)
                return

    # -- closing ----------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close cleanly: a close frame with ``code``, then the closing handshake."""
        self.close_code = code
        await self._websocket.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection at once: no close frame, as if the network died."""
        self.aborted = True
        self._websocket.transport.abort()

    def start(self) -> None:
        """Start the writer, the idle watch and the timed faults (once the handshake is done)."""
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._write()))
        self._last_traffic = loop.time()
        if self.idle_timeout is not None:
            self._idle_timer = loop.call_later(self.idle_timeout, self._watch_idle)
        faults = self.faults
        if faults.abort_after_seconds is not None:
            self._timers.append(loop.call_later(faults.abort_after_seconds, self.abort))
        if faults.close_after_seconds is not None:
            self._timers.append(
                loop.call_later(
                    faults.close_after_seconds,
                    lambda: self._tasks.append(
                        loop.create_task(self.close(faults.close_code, faults.close_reason))
                    ),
                )
            )

    async def finish(self) -> None:
        """Stop the writer and timers once the connection is gone."""
        self._closed.set()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for timer in self._timers:
            timer.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._on_change()

    def _watch_idle(self) -> None:
        assert self.idle_timeout is not None
        if not self.open:
            return
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self._last_traffic
        if quiet >= self.idle_timeout:
            logger.info("connection #%d idle for %.1f s: dropped", self.id, quiet)
            self.idle_closed = True
            self.abort()
            return
        self._idle_timer = loop.call_later(self.idle_timeout - quiet, self._watch_idle)

    def _install_frame_hooks(self) -> None:
        # websockets answers pings inside its protocol object; intercepting its outgoing
        # pong frames is the only way to count pings and to stop answering them. The same
        # two hooks see every byte in and every frame out, for the idle watch.
        protocol = self._websocket.protocol
        send_frame, receive_data = protocol.send_frame, protocol.receive_data
        loop = asyncio.get_running_loop()

        def send_frame_unless_muted(frame: Frame) -> None:
            if frame.opcode is Opcode.PONG:
                self.pings_received += 1
                if self.faults.mute_pings:
                    return
            self._last_traffic = loop.time()
            send_frame(frame)

        def receive_and_note(data: bytes) -> None:
            self._last_traffic = loop.time()
            receive_data(data)

        setattr(protocol, "send_frame", send_frame_unless_muted)  # noqa: B010
        setattr(protocol, "receive_data", receive_and_note)  # noqa: B010
