"""``Relay``: one upstream connection to MAX served to any number of local consumers.

Consumers speak the MAX protocol to the relay exactly as to the exchange, so an unchanged
bot points ``MAX_WS_URI`` at ``relay.uri``. The relay never pings consumers' application
layer; WebSocket keepalive pings are answered as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve

from .._client.credentials import Credentials
from .._frames.book import OrderBook
from ..stream import Stream
from ..subscription import Subscription
from .outbox import DEFAULT_MAX_BUFFER, Outbox
from .private import RELAYED_FILTERS, PrivateFeed
from .session import ConsumerSession
from .stats import RelayStats
from .upstream import FrameSink, Upstream

__all__ = ["Relay"]

log = logging.getLogger("maicoin.ws.relay")

DEFAULT_CLOSE_TIMEOUT = 5.0


class Relay:
    """Serve the MAX protocol on ``host:port`` from one upstream ``Stream``.

    ``subscriptions`` are held upstream from the start and always (pinned); anything else
    is subscribed when a consumer first asks for it and dropped when no consumer needs it.
    ``uri``: the upstream (None: ``MAX_WS_URI``, else the exchange). ``max_buffer``: bytes
    queued for one consumer before it is cut off with close code 1008. ``close_timeout``:
    seconds a cut-off consumer's closing handshake may take before its TCP connection is
    dropped. ``sinks`` get every public frame fanned out (``RedisPublisher``). Every other
    keyword goes to the upstream ``Stream`` (``reconnect_policy``, ``rate_limiter``, ...).

    ``private=True`` (with ``api_key`` and ``api_secret``): the upstream authenticates with
    ``RELAYED_FILTERS`` and consumers that authenticate with the same key and secret get the
    account (see ``maicoin.ws.relay.private``). Without it every ``auth`` is refused.
    """

    def __init__(
        self,
        subscriptions: Iterable[Subscription] = (),
        *,
        uri: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        sinks: Sequence[FrameSink] = (),
        api_key: str | None = None,
        api_secret: str | None = None,
        private: bool = False,
        **stream_options: Any,
    ) -> None:
        credentials = _private_credentials(api_key, api_secret, private=private)
        if type(max_buffer) is not int or max_buffer < 1:
            raise ValueError(f"max_buffer must be a positive number of bytes, got {max_buffer!r}")
        if not close_timeout > 0:
            raise ValueError(f"close_timeout must be positive, got {close_timeout!r}")
        self.host = host
        self._port = port
        self.max_buffer = max_buffer
        self.close_timeout = close_timeout
        self.stats = RelayStats()
        if credentials is None:
            self.stream = Stream(uri=uri, **stream_options)
            feed = None
        else:
            self.stream = Stream(
                credentials.api_key,
                credentials.api_secret,
                uri=uri,
                auth_filters=RELAYED_FILTERS,
                **stream_options,
            )
            feed = PrivateFeed(self.stream, credentials, self.stats)
        self.upstream = Upstream(
            self.stream, self.stats, pinned=subscriptions, sinks=sinks, private=feed
        )
        self.sessions: set[ConsumerSession] = set()
        """The consumers connected now."""
        self._server: Server | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._next_id = 0

    @property
    def private(self) -> bool:
        """Whether private frames are relayed to consumers authenticated as the relay."""
        return self.upstream.private is not None

    @property
    def port(self) -> int:
        """The listening port (the one chosen when started with port 0)."""
        return self._port

    @property
    def uri(self) -> str:
        """Where consumers connect: ``ws://HOST:PORT/ws``."""
        return f"ws://{self.host}:{self._port}/ws"

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """The relay's own order books, by market."""
        return self.stream.books

    async def start(self) -> None:
        """Start the upstream stream and listen for consumers."""
        if self._server is not None:
            raise RuntimeError("relay already started")
        for sink in self.upstream.sinks:
            sink.start(self.upstream)
        self._stream_task = asyncio.get_running_loop().create_task(
            self.stream.arun(), name="maicoin.ws relay upstream"
        )
        self._server = await serve(
            self._serve_consumer,
            self.host,
            self._port,
            compression=None,  # frames are encoded once for all consumers, never per consumer
            close_timeout=self.close_timeout,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("relaying %s on %s", self.stream.uri, self.uri)

    async def stop(self) -> None:
        """Close every consumer, stop listening and close the upstream connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.stream.aclose()
        for sink in self.upstream.sinks:
            await sink.aclose()
        task, self._stream_task = self._stream_task, None
        if task is not None and task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()  # already reported by the stream's own logging

    async def serve_forever(self) -> None:
        """Run until cancelled; raise what ended the upstream stream, if it gave up."""
        if self._server is None:
            await self.start()
        assert self._stream_task is not None
        try:
            await self._stream_task
        finally:
            await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve_consumer(self, connection: ServerConnection) -> None:
        self._next_id += 1
        name = f"#{self._next_id} {connection.remote_address}"
        outbox = Outbox(
            connection, max_buffer=self.max_buffer, close_timeout=self.close_timeout, name=name
        )
        session = ConsumerSession(connection, self.upstream, outbox, name)
        stats = self.stats
        stats.consumers += 1
        stats.consumers_total += 1
        self.sessions.add(session)
        log.info("consumer %s connected", name)
        try:
            await session.serve()
        finally:
            self.sessions.discard(session)
            stats.consumers -= 1
            if outbox.cut_off_reason is not None:
                stats.slow_consumers += 1
            log.info("consumer %s left", name)


def _private_credentials(
    api_key: str | None, api_secret: str | None, *, private: bool
) -> Credentials | None:
    """The credentials private relaying uses; a clear error when they do not fit."""
    if not private:
        if api_key or api_secret:
            raise ValueError("api_key and api_secret are used only with private=True")
        return None
    if not api_key or not api_secret:
        given = (("api_key", api_key), ("api_secret", api_secret))
        missing = " and ".join(name for name, value in given if not value)
        raise ValueError(f"private=True needs api_key and api_secret: {missing} missing")
    return Credentials(api_key, api_secret)
