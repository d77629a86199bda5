"""Replaying a recording (see ``recording.py``): through a Stream, or to clients over WebSocket.

``replay_recording`` feeds the recorded frames to a real ``Stream`` through a connection
that reads the file, so they take the live path: decode, order book (with its sequence
checks and resyncs) and dispatch. A recorded ``E-1012`` error makes the stream reconnect,
as it would live, and the replay goes on on the "new connection" with the next frame.

``serve_recording`` is a WebSocket server that sends the recording to every client that
connects, with its original timing (or faster), so a user's own bot can meet a bad day
again offline. Client requests are read and ignored: the recording already holds the
replies and data the recorder's subscriptions brought. It announces every client that
connects, reaches the end of the recording or leaves, and keeps a ``ServedClient`` per
connected client up to date for a live view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.frames import Close

from ..channel import Channel
from ..errors import AuthenticationError
from ..ratelimit import RequestRateLimiter
from ..reconnect import ReconnectPolicy
from ..response import Response
from ..stats import StreamStats
from ..stream import Stream
from ..subscription import Subscription
from .liveview import price_decimals
from .progress import format_duration
from .recording import RecordedFrame, RecordingReader

__all__ = [
    "ReplaySummary",
    "ServedClient",
    "book_markets",
    "replay_recording",
    "serve_recording",
]

log = logging.getLogger("maicoin.ws")

# Hand the event loop back now and then: reading a file never suspends by itself, and
# Ctrl-C is only noticed by a loop that runs.
_YIELD_EVERY = 1000
# A recording replays as fast as it can: resync requests go nowhere, so no rate limit.
_UNLIMITED = ((1_000_000_000, 1.0),)


class _Peek(msgspec.Struct):
    c: str | None = None
    M: str | None = None


_peek = msgspec.json.Decoder(_Peek).decode


def book_markets(frames: Iterator[RecordedFrame]) -> list[str]:
    """Markets that have ``book`` frames in the recording, in order of appearance."""
    markets: dict[str, None] = {}
    for recorded in frames:
        try:
            peek = _peek(recorded.frame)
        except msgspec.DecodeError:
            continue
        if peek.c == Channel.BOOK and peek.M:
            markets[peek.M] = None
    return list(markets)


@dataclass
class ReplaySummary:
    """What a replay saw."""

    frames: int = 0
    bad_lines: int = 0
    responses: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Responses by (event, channel); channel ``-`` for frames without one."""
    stats: StreamStats = field(default_factory=StreamStats)
    books: dict[str, Any] = field(default_factory=dict)
    """The final local order book of every market with book frames."""
    stopped_early: str | None = None
    """Why the stream ended before the recording did (refused authentication), or None."""

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        stats = self.stats
        lines = [
            f"frames          {self.frames}"
            + (f" ({self.bad_lines} unreadable lines skipped)" if self.bad_lines else ""),
            f"decode errors   {stats.decode_errors}",
            f"resyncs         {stats.resyncs}",
            f"connections     {stats.connections}",
            "responses",
        ]
        for (event, channel), count in sorted(self.responses.items()):
            lines.append(f"  {event:<24} {channel:<16} {count}")
        if self.books:
            lines.append("books")
        for market, book in self.books.items():
            lines.append(f"  {market}  {_book_state(book)}")
        if self.stopped_early:
            lines.append(f"stopped early: {self.stopped_early}")
        return lines


def _book_state(book: Any) -> str:
    if not book.synced:
        return f"not synced (li {book.last_update_id})"
    bid, ask = book.best_bid, book.best_ask
    top = " ".join(
        f"{side} {level.price_text} x {level.volume_text}"
        for side, level in (("bid", bid), ("ask", ask))
        if level is not None
    )
    spread = book.spread
    shown = "-" if spread is None else f"{spread:.{price_decimals(bid)}f}"
    return f"synced li {book.last_update_id} v {book.version}  {top}  spread {shown}"


async def replay_recording(
    path: str | Path,
    *,
    on_response: Callable[[Response], Any] | None = None,
    stop: Callable[[Callable[[], object]], None] | None = None,
) -> ReplaySummary:
    """Replay ``path`` through a Stream with a local book for every recorded book market.

    ``on_response`` is added as a handler; ``stop(callback)`` registers the callback that
    ends the replay early (for Ctrl-C). Raises ``RecordingError`` for a file that is not a
    recording.
    """
    reader = RecordingReader(path)
    markets = book_markets(iter(reader))
    summary = ReplaySummary()
    frames = iter(reader)
    stream: Stream | None = None

    @contextlib.asynccontextmanager
    async def connect(uri: str, **options: Any) -> AsyncIterator[_RecordingConnection]:
        assert stream is not None
        yield _RecordingConnection(frames, summary, stream)

    stream = Stream(
        uri=f"replay:{path}",
        reconnect_policy=ReconnectPolicy(base_delay=0.0, max_delay=0.0, jitter=0.0),
        rate_limiter=RequestRateLimiter(_UNLIMITED),
        connect_factory=connect,
    )
    stream.subscribe([Subscription(channel=Channel.BOOK, market=market) for market in markets])

    def count(response: Response) -> None:
        summary.responses[(str(response.event), str(response.channel or "-"))] += 1

    stream.add_handler(count)
    if on_response is not None:
        stream.add_handler(on_response)
    if stop is not None:
        stop(stream.stop)
    try:
        await stream.arun()
    except AuthenticationError as exc:
        summary.stopped_early = f"at frame {summary.frames}: {exc}"
    summary.bad_lines = reader.bad_lines
    summary.stats = stream.stats
    summary.books = dict(stream.books)
    return summary


class _RecordingConnection:
    """A connection whose received frames come from a recording."""

    def __init__(
        self, frames: Iterator[RecordedFrame], summary: ReplaySummary, stream: Stream
    ) -> None:
        self._frames = frames
        self._summary = summary
        self._stream = stream
        self._closed = False

    async def send(self, message: str) -> None:
        """Requests (subscriptions, resyncs) go nowhere."""

    async def recv(self) -> str:
        summary = self._summary
        if summary.frames % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        recorded = None if self._closed else next(self._frames, None)
        if recorded is None:
            self._stream.stop()
            raise ConnectionClosedOK(Close(1000, "end of recording"), None)
        summary.frames += 1
        return recorded.frame

    async def close(self) -> None:
        self._closed = True


@dataclass
class ServedClient:
    """A client of ``serve_recording``, updated as its frames go out."""

    number: int
    """1 for the first client to connect, then 2, ..."""
    peer: str
    """The client's ``host:port``."""
    total: int
    """Frames in the recording."""
    connected_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when it connected."""
    sent: int = 0
    """Frames sent so far."""


async def serve_recording(
    path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    speed: float = 1.0,
    stop: Callable[[Callable[[], object]], None],
    announce: Callable[[str], None] = print,
    clients: MutableMapping[int, ServedClient] | None = None,
) -> None:
    """Serve the recording at ``ws://host:port/`` until ``stop``'s callback is called.

    Every client gets every frame from the first, ``speed`` times as fast as recorded
    (0: as fast as the socket takes them), then the connection stays open, idle.
    ``announce`` gets a line when the server is up and when a client connects, reaches the
    end of the recording and leaves (with the frames it was sent); ``clients`` holds the
    connected clients by number.
    """
    reader = RecordingReader(path)
    total = sum(1 for _ in reader)
    connected: MutableMapping[int, ServedClient] = {} if clients is None else clients
    count = 0

    async def play(websocket: ServerConnection) -> None:
        nonlocal count
        count += 1
        client = ServedClient(count, _peer(websocket), total)
        connected[client.number] = client
        announce(f"client {client.number} connected from {client.peer}")
        # The reader ends when the client leaves, even while the sender waits for the
        # recorded time of a far-off frame.
        drain = asyncio.create_task(_discard_requests(websocket))
        sender = asyncio.create_task(_send_frames(websocket, iter(reader), speed, client))
        try:
            await asyncio.wait({sender, drain}, return_when=asyncio.FIRST_COMPLETED)
            if sender.done():
                error = sender.exception()
                if error is not None and not isinstance(error, ConnectionClosed):
                    raise error
                if error is None:
                    announce(
                        f"client {client.number}: sent all {client.sent} frames "
                        "(end of recording), connection kept open"
                    )
                    await drain
        finally:
            for task in (sender, drain):
                task.cancel()
            await asyncio.gather(sender, drain, return_exceptions=True)
            del connected[client.number]
            announce(
                f"client {client.number} left after "
                f"{format_duration(time.monotonic() - client.connected_at)}: "
                f"sent {client.sent} of {total} frames"
            )

    stopped = asyncio.Event()
    stop(stopped.set)
    async with serve(play, host, port, ping_interval=None, compression=None) as server:
        bound = server.sockets[0].getsockname()[1]
        announce(f"replaying {path} ({total} frames) on ws://{host}:{bound}/ws")
        await stopped.wait()
        server.close()


def _peer(websocket: ServerConnection) -> str:
    address = websocket.remote_address
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


async def _send_frames(
    websocket: ServerConnection,
    frames: Iterator[RecordedFrame],
    speed: float,
    client: ServedClient,
) -> None:
    started = time.monotonic()
    first: float | None = None
    for recorded in frames:
        if first is None:
            first = recorded.t
        if speed > 0:
            delay = started + (recorded.t - first) / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        elif client.sent % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        await websocket.send(recorded.frame)
        client.sent += 1


async def _discard_requests(websocket: ServerConnection) -> None:
    # Reading keeps pings answered and the receive buffer from filling up.
    with contextlib.suppress(ConnectionClosed):
        async for message in websocket:
            log.debug("replay server ignored a request: %.200r", message)
