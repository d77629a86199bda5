"""``Stream``: the MAX WebSocket client of the user's guide.

One connection at a time; on every (re)connection the requests of ``Stream.requests`` are
sent again in order, within the client-side request rate limit: each ``sub`` request as it
was first sent, the stream's auth request with a fresh nonce and signature. ``Stream``'s
docstring describes every constructor parameter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Final, Literal, TypeAlias

from ._client.credentials import Credentials, credentials_from, mask
from ._client.lifecycle import StreamState
from ._client.registry import SubscriptionRegistry, merged_filters, subscription_key
from ._client.replay import drop_subscriptions, sub_requests
from ._client.session import LifecycleCallback, Session
from ._event_loop import NO_UVLOOP_ENV, loop_factory
from ._frames.account import AccountKeeper
from ._frames.book import BookKeeper, OrderBook
from ._frames.dispatch import Dispatcher
from ._frames.routing import Route
from ._frames.rules import BookResync, checked_dispatch_mode, checked_task_limit
from ._io.connect import (
    ConnectFactory,
    checked_uri,
    default_connect,
    is_redis_uri,
    redacted_uri,
)
from ._redis import redis_connect
from .account import Balances, OpenOrders, OwnTrades
from .channel import Channel, auth_filter_for
from .errors import SubscriptionError
from .filter import Filter
from .ratelimit import RequestRateLimiter
from .reconnect import ReconnectPolicy
from .request import Request
from .response import Event, Response
from .stats import StreamStats
from .subscription import Subscription

__all__ = [
    "DEFAULT_URI",
    "MAX_WS_URI",
    "NO_UVLOOP_ENV",
    "ConnectFactory",
    "DispatchMode",
    "Handler",
    "HandlerErrorCallback",
    "LifecycleCallback",
    "ReconnectPolicy",
    "Route",
    "Stream",
    "StreamState",
    "WebSocketConnection",
    "WebSocketContext",
]

DEFAULT_URI: Final = "wss://max-stream.maicoin.com/ws"
#: The URI streams connect to: the ``MAX_WS_URI`` environment variable, else the exchange.
MAX_WS_URI: str = os.environ.get("MAX_WS_URI") or DEFAULT_URI

Handler: TypeAlias = Callable[[Response], Any]
HandlerErrorCallback: TypeAlias = Callable[[BaseException, Response], Any]
DispatchMode: TypeAlias = Literal["inline", "task", "queue"]
WebSocketConnection: TypeAlias = Any
"""A connection a ``connect_factory`` yields: ``send(str)``, ``recv()``, ``close()``."""
WebSocketContext: TypeAlias = AbstractAsyncContextManager[WebSocketConnection]
"""What a ``connect_factory`` returns: an async context manager yielding a connection."""


class Stream:
    """A MAX WebSocket stream: subscriptions, auth, handlers, reconnects, order books and the
    account (open orders, balances and own trades, spot and M-Wallet).

    Nothing connects until ``run()``, ``arun()``, ``async with`` or ``async for``. Every
    parameter is optional and keyword-only except the two credentials:

    - ``api_key``, ``api_secret`` (str, default None): credentials for private events. Give
      both or neither: a lone one is ignored with a warning naming which is missing, and
      the stream stays public (as the original's does). Each connection signs a fresh auth request
      (new nonce) with them; the secret is never sent, logged or shown in ``repr``.
      ``Stream.from_env()`` reads them from ``MAX_API_KEY``/``MAX_API_SECRET``.
    - ``uri`` (str, default None): the endpoint. None reads the ``MAX_WS_URI`` environment
      variable when the stream is made, else ``wss://max-stream.maicoin.com/ws``
      (``DEFAULT_URI``). ``redis://`` and ``rediss://`` URIs read the Redis Streams a
      ``maicoin-ws relay --redis`` publishes (the ``redis`` extra). With the default
      transport, any other URI that is not ``ws://`` or ``wss://`` raises ValueError
      naming it, here rather than at every retry.
    - ``reconnect`` (bool, default True): False never reconnects: the stream ends with its
      first connection, quietly after a clean close, else raising the connection's error
      (after ``on_permanent_failure``).
    - ``reconnect_policy`` (``ReconnectPolicy``, default ``ReconnectPolicy()``): the backoff
      between attempts. The default retries forever, waiting 1 s doubling up to 30 s plus up
      to 1 s of jitter, and counts attempts from 1 again once a connection stayed up 30 s. An
      HTTP 429 refusal waits at least until its ``Retry-After`` time.
    - ``auth_filters`` (sequence of ``Filter`` or str, default None): the event families of
      the auth request, merged with those the private subscriptions imply (``order``,
      ``trade_update``, ``account``). None and no private subscription: the exchange's
      default families (order, trade, account).
    - ``dispatch`` (``"inline"``, ``"task"`` or ``"queue"``, default ``"inline"``): how
      responses reach handlers. ``inline`` calls (and awaits) every handler in order before
      the next frame is read; ``task`` runs each async handler call as its own task (sync
      handlers are called at once); ``queue`` puts every response on ``response_queue`` and
      ignores handlers. Anything else raises ValueError.
    - ``response_queue`` (``asyncio.Queue``, default None): the queue of ``queue`` mode (other
      modes do not use it); None makes an unbounded one. A bounded queue holds the stream
      back while it is full.
    - ``max_pending_tasks`` (int >= 1 or None, default 10,000): ``task`` mode only: handler
      tasks in flight at most; at the limit the stream waits before reading the next frame.
      None: no limit.
    - ``connect_factory`` (callable, default websockets' ``connect``): called as
      ``connect_factory(uri, **connect_options)`` for every connection; returns an async
      context manager yielding a connection with ``send(str)``, ``recv()`` and ``close()``.
      ``maicoin.ws.transport_picows.picows_connect`` is the faster transport.
    - ``on_connected`` (callback, default None): called with None once a connection is open
      and its auth and subscription requests are sent.
    - ``on_disconnected`` (callback, default None): called when a connection ends, with the
      exception that ended it (None for a clean close or ``stop()``).
    - ``on_reconnecting`` (callback, default None): called before each backoff wait, with the
      error that ended the last connection or attempt (None for a clean close).
    - ``on_permanent_failure`` (callback, default None): called once with the final error
      when the stream gives up (reconnecting disabled or ``max_retries`` exhausted,
      credentials refused); ``run()``/``arun()`` then raise that error.
    - ``on_handler_error`` (callback, default None): called as ``(exception, response)``
      when a handler raises; the stream goes on. None: the first handler error stops the
      stream and is raised from ``run()``/``arun()``. Either way it counts in
      ``stats.handler_errors``.
    - ``on_book_resync`` (callback, default None): called with a ``BookResync`` each time a
      local order book is resubscribed after a gap, a version change or an invalid level.
    - ``on_subscription_error`` (callback, default None): called with a
      ``SubscriptionError`` (its ``subscriptions`` and the exchange's ``reason``) when the
      exchange refuses subscriptions; they are forgotten and the rest of the request is sent
      again. None: each refusal is logged once as an ERROR.
    - ``rate_limiter`` (``RequestRateLimiter``, default a new one): paces every request sent
      (auth, subscriptions, resyncs) within MAX's per-IP limits of 20 a second and 200 a
      minute. Streams of one process may share one.
    - ``**connect_options``: passed to ``connect_factory`` unchanged. For the default
      websockets transport: ``ping_interval`` (seconds between keepalive pings, default 20;
      None: none), ``ping_timeout`` (seconds to wait for the pong, default 20),
      ``close_timeout`` (seconds for the closing handshake, default 10), ``open_timeout``
      (seconds for the opening handshake, default 10), ``max_size`` (largest message in
      bytes, default 1 MiB; a longer one closes the connection with 1009), ``max_queue``
      (frames buffered, default 16), ``ssl`` (an ``ssl.SSLContext`` for ``wss://``, default:
      the system's trust store), ``compression`` (default None: plain frames, measured
      faster than inflating each; ``"deflate"`` offers permessage-deflate), and the other
      keywords of ``websockets.asyncio.client.connect``.

    Callbacks may be sync or async (async ones are awaited); one that raises is logged and
    the stream goes on, except ``on_handler_error``, whose failure is handled like a handler
    error without it.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        uri: str | None = None,
        reconnect: bool = True,
        reconnect_policy: ReconnectPolicy | None = None,
        auth_filters: Sequence[Filter | str] | None = None,
        dispatch: DispatchMode | str = "inline",
        response_queue: asyncio.Queue[Response] | None = None,
        max_pending_tasks: int | None = 10_000,
        connect_factory: ConnectFactory | None = None,
        on_connected: LifecycleCallback | None = None,
        on_disconnected: LifecycleCallback | None = None,
        on_reconnecting: LifecycleCallback | None = None,
        on_permanent_failure: LifecycleCallback | None = None,
        on_handler_error: HandlerErrorCallback | None = None,
        on_book_resync: Callable[[BookResync], Any] | None = None,
        on_subscription_error: Callable[[SubscriptionError], Any] | None = None,
        rate_limiter: RequestRateLimiter | None = None,
        **connect_options: Any,
    ) -> None:
        dispatch = checked_dispatch_mode(dispatch)
        self.uri: str = uri if uri is not None else (os.environ.get("MAX_WS_URI") or MAX_WS_URI)
        if connect_factory is None:
            # The default transport's URIs are checked now; a user's factory may take any.
            checked_uri(self.uri, source="uri" if uri is not None else "MAX_WS_URI")
        self.reconnect_policy: ReconnectPolicy = (
            reconnect_policy if reconnect_policy is not None else ReconnectPolicy(enabled=reconnect)
        )
        if not reconnect and self.reconnect_policy.enabled:
            self.reconnect_policy = dataclasses.replace(self.reconnect_policy, enabled=False)
        self.dispatch: str = dispatch
        if response_queue is None and dispatch == "queue":
            response_queue = asyncio.Queue()
        self.response_queue: asyncio.Queue[Response] | None = response_queue
        self.max_pending_tasks: int | None = checked_task_limit(max_pending_tasks)
        self.handlers: list[Handler] = []
        if connect_factory is None:
            connect_factory = redis_connect if is_redis_uri(self.uri) else default_connect
        self.connect_factory: ConnectFactory = connect_factory
        self.connect_options: dict[str, Any] = connect_options
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.on_reconnecting = on_reconnecting
        self.on_permanent_failure = on_permanent_failure
        self.on_handler_error = on_handler_error
        self._stats = StreamStats()
        self._dispatcher: Dispatcher | None = None
        self.rate_limiter = rate_limiter or RequestRateLimiter()

        #: The requests every connection sends, in order: a list code may read and extend.
        self.requests: list[Request] = []
        self._credentials: Credentials | None = None
        # The stream's own auth request in ``requests``: re-signed for every connection.
        self._auth: Request | None = None
        self._auth_filters: list[Filter | str] | None = list(auth_filters) if auth_filters else None
        self._subscriptions = SubscriptionRegistry()
        self.on_book_resync = on_book_resync
        self.on_subscription_error = on_subscription_error
        self._books = BookKeeper(self._stats)
        self._account = AccountKeeper(self._stats)
        self._session = Session(self, self._stats, self._subscriptions, self._books, self._account)
        self._run_task: asyncio.Task[None] | None = None
        self._running = False
        self._finished: asyncio.Event | None = None
        self._credentials = credentials_from(api_key, api_secret)
        if self._credentials is not None:
            self._renew_auth()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, **kwargs: Any) -> Stream:
        """A stream authenticated with ``MAX_API_KEY`` / ``MAX_API_SECRET`` from the environment."""
        values = {}
        for name in ("MAX_API_KEY", "MAX_API_SECRET"):
            value = os.environ.get(name)
            if not value:
                raise ValueError(f"environment variable {name} is missing or empty")
            values[name] = value
        return cls(values["MAX_API_KEY"], values["MAX_API_SECRET"], **kwargs)

    def __repr__(self) -> str:
        key = mask(self._credentials.api_key) if self._credentials else None
        return (
            f"Stream(uri={redacted_uri(self.uri)!r}, dispatch={self.dispatch!r}, api_key={key}, "
            f"subscriptions={len(self._subscriptions.public)}, connected={self.connected})"
        )

    # ------------------------------------------------------------------ public surface
    @property
    def stats(self) -> StreamStats:
        """Live counters: messages, bytes, decode errors, reconnects, resyncs, handler errors..."""
        if self._dispatcher is not None:
            self._stats.handler_errors = self._dispatcher.handler_errors
        return self._stats

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._session.connected

    @property
    def state(self) -> StreamState:
        """Where the stream is in its life: idle, connecting, connected, backing off, ..."""
        return self._session.state

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """The local order book of every subscribed ``book`` market, by market."""
        return self._books.books

    @property
    def orders(self) -> OpenOrders:
        """The spot wallet's open orders, by order id (``order_snapshot``/``order_update``)."""
        return self._account.orders

    @property
    def mwallet_orders(self) -> OpenOrders:
        """The M-Wallet's open orders, by order id (``mwallet_order_*`` events)."""
        return self._account.mwallet_orders

    @property
    def balances(self) -> Balances:
        """The spot wallet's balances, by currency (``account_snapshot``/``account_update``)."""
        return self._account.balances

    @property
    def mwallet_balances(self) -> Balances:
        """The M-Wallet's balances, by currency (``mwallet_account_*`` events)."""
        return self._account.mwallet_balances

    @property
    def trades(self) -> OwnTrades:
        """The spot wallet's recent own trades: ``stream.trades(market=None, limit=None)``
        lists them newest first; ``stream.trades.synced`` says whether its snapshot came."""
        return self._account.trades

    @property
    def mwallet_trades(self) -> OwnTrades:
        """The M-Wallet's recent own trades (``mwallet_*trade*`` events), as ``trades``."""
        return self._account.mwallet_trades

    @property
    def subscriptions(self) -> list[Subscription]:
        """Public subscriptions replayed on every connection."""
        return self._subscriptions.public

    @property
    def auth_filters(self) -> list[Filter | str] | None:
        """Filters the next auth request carries (explicit ones plus private channels)."""
        return merged_filters(self._auth_filters, self._subscriptions.private_filters)

    def requests_for_connection(self) -> list[Request]:
        """``requests`` as a new connection sends them: the stream's auth signed afresh."""
        own = self._auth
        if own is not None and self._credentials is not None:
            fresh = self._auth_request()
            self.requests[:] = [fresh if request is own else request for request in self.requests]
            self._auth = fresh
        return list(self.requests)

    def add_handler(
        self,
        handler: Handler,
        *,
        channel: Channel | str | None = None,
        market: str | None = None,
        event: Event | str | None = None,
    ) -> Handler:
        """Call ``handler(response)`` (sync or async) for every response, or only for those
        of ``channel``, ``market`` and ``event`` (each a filter when given).

        Returns what was appended to ``handlers``: ``handler`` itself, or with a filter a
        ``Route``; ``stream.handlers.remove(that)`` takes it out again. Handlers run in the
        order they were added, filtered or not, and one added while the stream runs gets
        the next frame. An unknown channel or event raises ValueError naming it.
        """
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        entry: Handler = handler
        if channel is not None or market is not None or event is not None:
            entry = Route(handler, channel=channel, market=market, event=event)
        self.handlers.append(entry)
        return entry

    def auth(
        self,
        api_key: str | None,
        api_secret: str | None,
        *,
        filters: Sequence[Filter | str] | None = None,
    ) -> None:
        """Authenticate on every connection with these credentials (at once if connected).

        As in the original, unset credentials (None or empty, as ``os.environ.get`` gives)
        are ignored and the stream stays public.
        """
        credentials = credentials_from(api_key, api_secret)
        if credentials is None:
            return
        self._credentials = credentials
        if filters is not None:
            self._auth_filters = list(filters)
        self._session.send_live(self._renew_auth())

    def subscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """Subscribe (at once if connected); remembered and replayed on reconnects."""
        subs = list(subscriptions)
        private_before = self._subscriptions.private_filters
        has_private = any(_is_private(s) for s in subs)
        if has_private and self._credentials is None:
            raise ValueError(
                "private channels (order, trade_update, balance_update) need credentials: "
                "use Stream(api_key=..., api_secret=...), Stream.from_env() or stream.auth()"
            )
        added = self._subscriptions.add(subs)
        for sub in added:
            self._books.track(sub)
        # A changed subscription (a new kline resolution) replaces the one held.
        drop_subscriptions(self.requests, {subscription_key(sub) for sub in added})
        for request in sub_requests(added):
            self.requests.append(request)
            self._session.send_live(request)
        if self._subscriptions.private_filters != private_before:
            # New private families are chosen by a new auth request.
            self._session.send_live(self._renew_auth())

    def unsubscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """Unsubscribe (at once if connected) and stop replaying them on reconnects."""
        removed = self._session.forget(subscriptions)
        if removed:
            self._session.send_live(Request.unsubscribe(removed))

    # ------------------------------------------------------------------ running
    def run(self, *, use_uvloop: bool | None = None) -> None:
        """Run until stopped or a permanent failure; blocking. Uses uvloop when installed,
        unless ``use_uvloop=False`` or ``MAICOIN_WS_NO_UVLOOP`` is set."""
        with asyncio.Runner(loop_factory=loop_factory(use_uvloop)) as runner:
            runner.run(self.arun())

    async def arun(self) -> None:
        """Connect, keep the stream alive, and dispatch responses until ``stop()``.

        Raises the last error after ``on_permanent_failure`` when reconnecting is disabled or
        exhausted, ``AuthenticationError`` when the exchange refuses the credentials, and a
        handler's own exception when no ``on_handler_error`` callback took it.
        """
        if self._running:
            raise RuntimeError("this stream is already running")
        self._running = True
        self._finished = asyncio.Event()
        dispatcher = Dispatcher(
            self.dispatch,
            self.handlers,
            self.response_queue,
            self.on_handler_error,
            self._session.fail,
            max_pending_tasks=self.max_pending_tasks,
        )
        self._dispatcher = dispatcher
        try:
            await self._session.run(dispatcher)
        finally:
            await dispatcher.aclose()
            self._stats.handler_errors = dispatcher.handler_errors
            self._dispatcher = None
            self._running = False
            self._finished.set()

    def stop(self) -> None:
        """Stop the stream: no handler call starts after this returns, pending handler tasks
        are cancelled, the connection is closed and ``arun`` returns.

        Honoured in every state; a stop before ``arun()`` has started (``create_task(
        stream.arun()); stream.stop()``) makes that run return at once.
        """
        self._session.stop()

    async def aclose(self) -> None:
        """Stop and wait until the stream has finished (handler tasks cancelled and awaited).

        The stream's own failure is not raised here (``arun`` or the iterator raise it); a
        cancellation of the caller is.
        """
        self.stop()
        task = self._run_task
        if task is not None and not task.done():
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the failure was reported where it happened
        elif self._running and self._finished is not None:
            await self._finished.wait()

    async def ping(self, timeout: float = 10.0) -> float:  # noqa: ASYNC109 - a deadline per ping
        """Send the application ping (``{"action":"ping"}``); return its round trip in seconds.

        Raises ConnectionError when not connected or the connection closes first, and
        TimeoutError when no ``pong`` comes within ``timeout`` seconds.
        """
        return await self._session.ping(timeout)

    async def __aenter__(self) -> Stream:
        self._start_background()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Response]:
        return self._iterate()

    # ------------------------------------------------------------------ internals
    async def _iterate(self) -> AsyncIterator[Response]:
        """Responses in order; ends when the stream stops, raises what stopped it."""
        if self.dispatch == "queue":
            assert self.response_queue is not None
            queue = self.response_queue
            tap: Handler | None = None
        else:
            queue = asyncio.Queue(maxsize=1024)
            tap = queue.put  # awaited by the dispatcher: backpressure instead of growth
            self.handlers.append(tap)
        task = self._start_background()
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                task.result()  # raises what ended the stream
                return
        finally:
            if tap is not None:
                self.handlers.remove(tap)

    def _start_background(self) -> asyncio.Task[None]:
        if self._run_task is None or self._run_task.done():
            self._run_task = asyncio.get_running_loop().create_task(
                self.arun(), name="maicoin.ws stream"
            )
        return self._run_task

    def _renew_auth(self) -> Request:
        """Sign a new auth request and put it in ``requests`` (first), replacing our last."""
        fresh = self._auth_request()
        own = self._auth
        index = next((i for i, request in enumerate(self.requests) if request is own), None)
        if index is None:
            self.requests.insert(0, fresh)
        else:
            self.requests[index] = fresh
        self._auth = fresh
        return fresh

    def _auth_request(self) -> Request:
        assert self._credentials is not None
        return Request.auth(
            self._credentials.api_key,
            self._credentials.api_secret,
            filters=self.auth_filters,
        )


def _is_private(sub: Subscription) -> bool:
    return auth_filter_for(sub.channel) is not None
