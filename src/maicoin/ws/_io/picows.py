"""The fast transport: picows, a Cython WebSocket client (``pip install 'maicoin-ws[fast]'``).

``Stream(connect_factory=picows_connect)`` keeps the whole Stream API; the difference is
where frames go. picows hands every frame to a synchronous callback; the stream's compiled
per-frame path runs right inside it (decode, book, sync handlers), with no ``await`` per
frame. An async inline handler or a full bounded queue pauses reading and the frames after
it wait in order (see ``_io.receive.PushReceiver``).

The connection still offers ``send``/``recv``/``close``, so it works as any
``connect_factory`` connection. What each websockets keyword means here, TLS and closing
are described for users in ``maicoin.ws.transport_picows``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

try:
    from picows import (
        WSCloseCode,
        WSListener,
        WSMsgType,
        WSTransport,
        ws_connect,
    )
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("the picows transport needs picows: pip install 'maicoin-ws[fast]'") from exc

from .._frames.frame_path import FramePath
from .picows_listener import FrameListener
from .push import failure_slot, push_until_closed
from .receive import PushReceiver
from .rules import MESSAGE_TOO_BIG, FragmentJoiner, MessageTooBig

__all__ = ["PicowsConnection", "picows_connect"]

log = logging.getLogger("maicoin.ws")

DEFAULT_PING_INTERVAL: Final = 20.0
DEFAULT_PING_TIMEOUT: Final = 20.0
DEFAULT_CLOSE_TIMEOUT: Final = 10.0
DEFAULT_OPEN_TIMEOUT: Final = 10.0
DEFAULT_MAX_SIZE: Final = 2**20
DEFAULT_MAX_QUEUE: Final = 16
_CLEAN_CODES: Final = frozenset({1000, 1001})
_TEXT: Final = WSMsgType.TEXT
_BINARY: Final = WSMsgType.BINARY
_CONTINUATION: Final = WSMsgType.CONTINUATION
#: ``loop.create_connection`` keywords that choose the address; with one of them picows
#: connects by itself (it ignores them for a socket it is given).
_ADDRESS_KEYWORDS: Final = frozenset(
    {"family", "proto", "flags", "local_addr", "happy_eyeballs_delay", "interleave"}
)


def picows_connect(
    uri: str, **connect_options: Any
) -> AbstractAsyncContextManager[PicowsConnection]:
    """Open a picows connection to ``uri``; the context manager closes it on exit.

    Takes the websockets keywords of the user's guide (``ping_interval``, ``ping_timeout``,
    ``close_timeout``, ``open_timeout``, ``max_size``, ``max_queue``, ``ssl``,
    ``additional_headers``, ``compression=None``), as the ``maicoin.ws.transport_picows``
    module docstring describes; any other keyword goes to ``picows.ws_connect``. A bad value
    raises here, before any connection is attempted.
    """
    settings = _Settings(uri, connect_options)
    return _opened(uri, settings)


class _Settings:
    """websockets-style keywords translated to picows' ``ws_connect`` arguments."""

    def __init__(self, uri: str, options: dict[str, Any]) -> None:
        options = dict(options)
        ping_interval = options.pop("ping_interval", DEFAULT_PING_INTERVAL)
        ping_timeout = options.pop("ping_timeout", DEFAULT_PING_TIMEOUT)
        self.close_timeout: float | None = options.pop("close_timeout", DEFAULT_CLOSE_TIMEOUT)
        self.open_timeout: float | None = options.pop("open_timeout", DEFAULT_OPEN_TIMEOUT)
        max_size = options.pop("max_size", DEFAULT_MAX_SIZE)
        # websockets takes (max_message_size, max_fragment_size) too.
        max_size, max_fragment = max_size if isinstance(max_size, tuple) else (max_size, max_size)
        for bound in (max_size, max_fragment):
            if bound is not None and (type(bound) is not int or bound < 1):
                raise ValueError(f"max_size must be a positive int or None, got {bound!r}")
        self.max_size: int | None = max_size
        """The bound of one message, however many fragments carry it (None: unbounded)."""
        frame_bounds = [bound for bound in (max_size, max_fragment) if bound is not None]
        max_queue = options.pop("max_queue", DEFAULT_MAX_QUEUE)
        if isinstance(max_queue, tuple):
            max_queue = max_queue[0]
        if max_queue is not None and (type(max_queue) is not int or max_queue < 1):
            raise ValueError(f"max_queue must be a positive int or None, got {max_queue!r}")
        self.max_queue: int | None = max_queue
        compression = options.pop("compression", None)
        if compression is not None:
            raise ValueError(
                f"the picows transport does not compress; compression must be None, "
                f"got {compression!r}"
            )
        headers = options.pop("additional_headers", None)
        if headers is not None:
            options["extra_headers"] = headers
        context = options.pop("ssl", None)
        if context is True:
            context = None
        if context is not None and not isinstance(context, ssl.SSLContext):
            raise TypeError(f"ssl must be an ssl.SSLContext, got {type(context).__name__}")
        if context is None and uri.startswith("wss:"):
            context = ssl.create_default_context()
        if context is not None:
            options["ssl_context"] = context
        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(f"ping_interval must be positive or None, got {ping_interval!r}")
        if ping_timeout is not None and not ping_timeout > 0:
            raise ValueError(f"ping_timeout must be positive or None, got {ping_timeout!r}")
        # Our own keepalive (PicowsConnection.keep_alive), not picows' auto-ping: picows
        # sleeps its reply timeout even after the pong came, and wants that timeout no
        # longer than its pause, so no setting of it finds a dead peer within
        # ping_interval + ping_timeout for every pair, as websockets does.
        self.ping_interval: float | None = ping_interval
        self.ping_timeout: float | None = ping_timeout
        # picows bounds each frame (closing with 1009 too); the message bound is ours.
        options["max_frame_size"] = min(frame_bounds, default=2**63 - 1)
        options.setdefault("websocket_handshake_timeout", self.open_timeout)
        options.setdefault("logger_name", "maicoin.ws.picows")
        self.ws_connect_options = options


@contextlib.asynccontextmanager
async def _opened(uri: str, settings: _Settings) -> AsyncIterator[PicowsConnection]:
    connection = await PicowsConnection.open(uri, settings)
    try:
        yield connection
    finally:
        await connection.close()


class _Listener(WSListener):
    """What picows' callbacks do for one connection; messages are buffered for ``recv()``
    until the stream's ``PushReceiver`` takes frames over. picows calls them through the
    connection's ``FrameListener``, which forwards the three overridden here."""

    def __init__(
        self, max_queue: int | None, max_size: int | None = None, close_timeout: float | None = None
    ) -> None:
        super().__init__()
        self.frames: collections.deque[bytes] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.disconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None
        self.read_paused = False
        self.refused: MessageTooBig | None = None
        self._abort_timer: asyncio.TimerHandle | None = None
        self._max_queue = max_queue
        self._close_timeout = close_timeout
        self._max_size = max_size
        self._joiner = FragmentJoiner(max_size)

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        kind = frame.msg_type
        if (kind is _TEXT or kind is _BINARY) and frame.fin:
            payload = frame.get_payload_as_bytes()
            # picows refuses a frame over max_frame_size with 1009 but still hands it over
            # once it has been read: drop it.
            if self._max_size is not None and len(payload) > self._max_size:
                self.refuse(MessageTooBig(len(payload), self._max_size))
                return
            self._message(payload)
        else:
            self.on_control(transport, frame)

    def on_control(self, transport: WSTransport, frame: Any) -> None:
        """Close, ping, pong and (before the stream attaches) fragmented frames."""
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif kind is WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif kind is _TEXT or kind is _BINARY or kind is _CONTINUATION:
            self._fragment(frame)

    def _fragment(self, frame: Any) -> None:
        if self.refused is not None:
            return
        first = frame.msg_type is not _CONTINUATION
        try:
            message = self._joiner.add(first, bool(frame.fin), frame.get_payload_as_bytes())
        except MessageTooBig as exc:
            self.refuse(exc)
            return
        if message is not None:
            self._message(message)

    def refuse(self, exc: MessageTooBig) -> None:
        """Close with 1009 for a message longer than ``max_size``, as websockets does; the
        connection is dropped if the peer does not answer within ``close_timeout``."""
        if self.refused is not None or self.transport is None:
            return
        self.refused = exc
        self._joiner.reset()
        transport = self.transport
        if not transport.is_close_frame_sent:
            transport.send_close(WSCloseCode(MESSAGE_TOO_BIG), str(exc).encode()[:123])
        self.resume_reading()  # the peer's close frame must be read
        if self._close_timeout is not None:
            self._abort_timer = asyncio.get_running_loop().call_later(
                self._close_timeout, transport.disconnect, False
            )

    def _message(self, payload: bytes) -> None:
        if self.refused is not None:
            return  # the connection is closing: nothing after the refused message counts
        self.frames.append(payload)
        if self._max_queue is not None and len(self.frames) >= self._max_queue:
            self.pause_reading()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        if not self.disconnected.done():
            self.disconnected.set_result(None)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_reading(self) -> None:
        if not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.underlying_transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and self.transport is not None:
            self.read_paused = False
            underlying = self.transport.underlying_transport
            if not underlying.is_closing():
                underlying.resume_reading()


class _SocketKeeper:
    """picows' ``socket_factory`` that keeps the sockets it hands over, so an abandoned
    handshake can be hung up.

    picows shields its wait for the handshake's answer: cancelling ``ws_connect`` (a
    ``stop()``, the open timeout) leaves the connection open until picows' own handshake
    timeout. Shutting the socket down makes its transport see the end and close.
    """

    def __init__(self, factory: Any = None) -> None:
        self._factory = factory
        self.sockets: list[socket.socket] = []

    async def __call__(self, url: Any) -> socket.socket | None:
        if self._factory is None:
            sock: socket.socket | None = await _connected_socket(url.host, url.port)
        else:
            made = self._factory(url)
            sock = await made if inspect.isawaitable(made) else made
        if sock is not None:  # None: picows connects by itself, out of our reach
            self.sockets.append(sock)
        return sock

    def hang_up(self) -> None:
        for sock in self.sockets:
            # fileno() is -1 once the transport has closed the socket (asyncio and uvloop).
            if sock.fileno() != -1:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


async def _connected_socket(host: str, port: int) -> socket.socket:
    """A TCP socket connected to the first of ``host``'s addresses that answers."""
    loop = asyncio.get_running_loop()
    errors: list[OSError] = []
    for family, kind, proto, _, address in await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    if len(errors) == 1:
        raise errors[0]
    reasons = "; ".join(str(error) for error in errors) or "no address"
    raise OSError(f"could not connect to {host}:{port}: {reasons}")


class PicowsConnection:
    """One picows WebSocket connection: ``send``/``recv``/``close`` plus the push path."""

    def __init__(
        self,
        transport: WSTransport,
        listener: _Listener,
        callbacks: FrameListener,
        settings: _Settings,
    ) -> None:
        self.transport = transport
        self._listener = listener
        self._callbacks = callbacks
        self._close_timeout = settings.close_timeout
        self._max_queue = settings.max_queue
        self._max_size = settings.max_size
        self._closing = False
        self._keepalive: asyncio.Task[None] | None = None
        if settings.ping_interval is not None:
            self._keepalive = asyncio.get_running_loop().create_task(
                self.keep_alive(settings.ping_interval, settings.ping_timeout)
            )
            listener.disconnected.add_done_callback(lambda _: self._stop_keepalive())

    @classmethod
    async def open(cls, uri: str, settings: _Settings) -> PicowsConnection:
        """Connect and complete the WebSocket handshake."""
        listener = _Listener(settings.max_queue, settings.max_size, settings.close_timeout)
        callbacks = FrameListener(listener)
        options = settings.ws_connect_options
        sockets = _SocketKeeper(options.get("socket_factory"))
        if _ADDRESS_KEYWORDS.isdisjoint(options):
            options = {**options, "socket_factory": sockets}
        try:
            async with asyncio.timeout(settings.open_timeout):
                transport, _ = await ws_connect(lambda request, response: callbacks, uri, **options)
        except (asyncio.CancelledError, TimeoutError):
            sockets.hang_up()
            raise
        return cls(transport, listener, callbacks, settings)

    @property
    def closed(self) -> bool:
        return self.transport.is_disconnected

    async def keep_alive(self, interval: float, pong_within: float | None) -> None:
        """Ping every ``interval`` s (less the last round trip), as websockets does; a pong
        more than ``pong_within`` s late (None: never) fails the connection with 1011."""
        transport = self.transport
        latency = 0.0
        while True:
            await asyncio.sleep(max(interval - latency, 0.0))
            try:
                async with asyncio.timeout(pong_within):
                    (latency,) = await transport.measure_roundtrip_time(1)
            except TimeoutError:
                log.debug("no pong within %s s: closing the connection", pong_within)
                if not transport.is_close_frame_sent:
                    transport.send_close(WSCloseCode.INTERNAL_ERROR, b"keepalive ping timeout")
                # A peer that sends no pong may not answer a close frame either.
                transport.disconnect()
                return

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def send(self, message: str | bytes) -> None:
        """Send one text frame (bytes are sent as they are)."""
        if self.transport.is_disconnected or self.transport.is_close_frame_sent:
            raise self._closed_error()
        data = message.encode() if isinstance(message, str) else message
        self.transport.send(_TEXT, data)

    async def recv(self) -> bytes:
        """The next message's payload; ``ConnectionClosed`` once the connection is closed."""
        listener = self._listener
        while not listener.frames:
            if self.transport.is_disconnected:
                raise self._closed_error()
            listener.waiter = asyncio.get_running_loop().create_future()
            try:
                await listener.waiter
            finally:
                listener.waiter = None
        frame = listener.frames.popleft()
        if listener.read_paused and len(listener.frames) <= (self._max_queue or 0) // 4:
            listener.resume_reading()
        return frame

    async def close(self) -> None:
        """Send a close frame (1000), wait up to ``close_timeout`` for the peer, then drop."""
        self._closing = True
        self._stop_keepalive()
        transport = self.transport
        if transport.is_disconnected:
            return
        if not transport.is_close_frame_sent:
            transport.send_close(WSCloseCode.OK)
        self._listener.resume_reading()  # the peer's close frame must be read
        try:
            async with asyncio.timeout(self._close_timeout):
                await asyncio.shield(self._listener.disconnected)
        except TimeoutError:
            transport.disconnect(graceful=False)
            await asyncio.shield(self._listener.disconnected)

    async def run_frame_path(self, path: FramePath) -> None:
        """Feed every message to ``path`` from picows' callback until the connection closes.

        Messages already buffered for ``recv()`` go first. Returns after a clean close;
        raises the path's own exception (a handler error, an auth refusal) or
        ``ConnectionClosed`` (``ConnectionClosedError`` with code 1009 sent after a message
        longer than ``max_size``).
        """
        listener = self._listener
        failed, on_failure = failure_slot()

        def on_path_failure(exc: BaseException) -> None:
            if isinstance(exc, MessageTooBig):
                listener.refuse(exc)  # at once, from picows' callback: no more is read
            on_failure(exc)

        receiver = PushReceiver(
            path,
            pause_reading=listener.pause_reading,
            resume_reading=listener.resume_reading,
            on_failure=on_path_failure,
            on_control=listener.on_control,
            text_kind=_TEXT,
            binary_kind=_BINARY,
            continuation_kind=_CONTINUATION,
            max_size=self._max_size,
        )
        early = list(listener.frames)
        listener.frames.clear()
        self._callbacks.attach(receiver)
        listener.resume_reading()
        try:
            await push_until_closed(receiver, early, listener.disconnected, failed)
        except MessageTooBig as exc:
            # Closing as websockets does: the peer answers the 1009, or close_timeout ends it.
            await asyncio.shield(listener.disconnected)
            raise self._closed_error() from exc
        if not self._clean():
            raise self._closed_error()

    def _clean(self) -> bool:
        """We closed, or the peer did with 1000/1001. picows closes by itself (1001) when a
        pong is late: that close was sent first, so it is not clean."""
        if self._closing:
            return True
        handshake = self.transport.close_handshake
        if handshake is None or handshake.recv is None:
            return False
        peer_first = handshake.sent is None or bool(handshake.recv_then_sent)
        return peer_first and handshake.recv.code.value in _CLEAN_CODES

    def _closed_error(self) -> ConnectionClosed:
        handshake = self.transport.close_handshake
        rcvd = sent = None
        order: bool | None = None
        if handshake is not None:
            if handshake.recv is not None:
                rcvd = Close(handshake.recv.code.value, handshake.recv.reason)
            if handshake.sent is not None:
                sent = Close(handshake.sent.code.value, handshake.sent.reason)
            if rcvd is not None and sent is not None:
                order = bool(handshake.recv_then_sent)
        if self._clean():
            return ConnectionClosedOK(rcvd, sent, order)
        return ConnectionClosedError(rcvd, sent, order)
