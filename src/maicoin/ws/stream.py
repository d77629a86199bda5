"""``Stream``: the MAX WebSocket client of the user's guide.

One connection at a time; on every (re)connection a fresh auth request (new nonce and
signature) and the remembered subscriptions are sent again, within the client-side request
rate limit. Each frame goes transport -> decode -> book -> dispatch (see ``receive.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Literal

from ._extensions import env_flag
from .book import OrderBook
from .books import BookKeeper, BookResync
from .channel import Channel, auth_filter_for
from .credentials import Credentials, mask
from .decode import make_decoder
from .dispatch import DISPATCH_MODES, Dispatcher
from .errors import AuthenticationError, HandlerError
from .filter import Filter
from .ratelimit import RequestRateLimiter
from .receive import receive_loop
from .reconnect import ReconnectPolicy
from .request import Request
from .response import Response
from .stats import StreamStats
from .subscription import Subscription
from .subscriptions import SubscriptionRegistry, merged_filters
from .transport import ConnectFactory, default_connect, retry_after

__all__ = ["DEFAULT_URI", "MAX_WS_URI", "ReconnectPolicy", "Stream"]

log = logging.getLogger("maicoin.ws")

DEFAULT_URI: Final = "wss://max-stream.maicoin.com/ws"
#: The URI streams connect to: the ``MAX_WS_URI`` environment variable, else the exchange.
MAX_WS_URI: str = os.environ.get("MAX_WS_URI") or DEFAULT_URI
#: Set to a truthy value to make ``Stream.run()`` use asyncio's own loop instead of uvloop.
NO_UVLOOP_ENV: Final = "MAICOIN_WS_NO_UVLOOP"

Handler = Callable[[Response], Any]
LifecycleCallback = Callable[[BaseException | None], Any]
HandlerErrorCallback = Callable[[BaseException, Response], Any]
DispatchMode = Literal["inline", "task", "queue"]

# MAX error codes that no reconnect can cure: bad key or signature, nonce out of window
# (the local clock is wrong). A reused nonce (E-1012) is cured by the next fresh nonce.
_PERMANENT_AUTH_CODES: Final = ("E-1006", "E-1007")
_RETRY_AUTH_CODES: Final = ("E-1012",)


class _Reconnect(Exception):
    """Internal: leave the current connection and reconnect (not a user-visible error)."""


class Stream:
    """A MAX WebSocket stream: subscriptions, auth, handlers, reconnects and order books.

    In ``dispatch="task"`` mode at most ``max_pending_tasks`` handler tasks are in flight
    (None: no limit); at the limit the stream waits before reading the next frame.
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
        rate_limiter: RequestRateLimiter | None = None,
        **connect_options: Any,
    ) -> None:
        if dispatch not in DISPATCH_MODES:
            raise ValueError(
                f"dispatch must be one of {', '.join(DISPATCH_MODES)}; got {dispatch!r}"
            )
        if (api_key is None) != (api_secret is None):
            missing = "api_secret" if api_secret is None else "api_key"
            raise ValueError(f"{missing} is required when the other credential is given")
        self.uri: str = uri if uri is not None else (os.environ.get("MAX_WS_URI") or MAX_WS_URI)
        self.reconnect_policy: ReconnectPolicy = (
            reconnect_policy if reconnect_policy is not None else ReconnectPolicy(enabled=reconnect)
        )
        if not reconnect and self.reconnect_policy.enabled:
            self.reconnect_policy = dataclasses.replace(self.reconnect_policy, enabled=False)
        self.dispatch: str = dispatch
        if response_queue is None and dispatch == "queue":
            response_queue = asyncio.Queue()
        self.response_queue: asyncio.Queue[Response] | None = response_queue
        if max_pending_tasks is not None and (
            type(max_pending_tasks) is not int or max_pending_tasks < 1
        ):
            raise ValueError(
                f"max_pending_tasks must be None or an int >= 1; got {max_pending_tasks!r}"
            )
        self.max_pending_tasks: int | None = max_pending_tasks
        self.handlers: list[Handler] = []
        self.connect_factory: ConnectFactory = connect_factory or default_connect
        self.connect_options: dict[str, Any] = connect_options
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.on_reconnecting = on_reconnecting
        self.on_permanent_failure = on_permanent_failure
        self.on_handler_error = on_handler_error
        self._stats = StreamStats()
        self._dispatcher: Dispatcher | None = None
        self.rate_limiter = rate_limiter or RequestRateLimiter()

        self._credentials: Credentials | None = None
        self._auth_filters: list[Filter | str] | None = list(auth_filters) if auth_filters else None
        if api_key is not None and api_secret is not None:
            self._credentials = Credentials(api_key, api_secret)
        self._subscriptions = SubscriptionRegistry()
        self.on_book_resync = on_book_resync
        self.book_keeper = BookKeeper(self._stats)
        self.decoder = make_decoder()

        self._connection: Any = None
        self._outbox: asyncio.Queue[Request] | None = None
        self._stopping = False
        self._wakeup: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._running = False
        self._finished: asyncio.Event | None = None
        self._background: set[asyncio.Future[Any]] = set()

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
            f"Stream(uri={self.uri!r}, dispatch={self.dispatch!r}, api_key={key}, "
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
        return self._connection is not None

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """The local order book of every subscribed ``book`` market, by market."""
        return self.book_keeper.books

    @property
    def subscriptions(self) -> list[Subscription]:
        """Public subscriptions replayed on every connection."""
        return self._subscriptions.public

    @property
    def auth_filters(self) -> list[Filter | str] | None:
        """Filters the next auth request carries (explicit ones plus private channels)."""
        return merged_filters(self._auth_filters, self._subscriptions.private_filters)

    @property
    def requests(self) -> list[Request]:
        """The requests sent on every (re)connection, auth first (a fresh nonce each time)."""
        requests = [self._auth_request()] if self._credentials else []
        public = self._subscriptions.public
        if public:
            requests.append(Request.subscribe(public))
        return requests

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler(response)`` for every response (sync or async callable)."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        self.handlers.append(handler)

    def auth(
        self, api_key: str, api_secret: str, *, filters: Sequence[Filter | str] | None = None
    ) -> None:
        """Authenticate on every connection with these credentials (at once if connected)."""
        if not api_key or not api_secret:
            raise ValueError("auth needs a non-empty api_key and api_secret")
        self._credentials = Credentials(api_key, api_secret)
        if filters is not None:
            self._auth_filters = list(filters)
        self._send_live(self._auth_request())

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
            self.book_keeper.track(sub)
        if added:
            self._send_live(Request.subscribe(added))
        if self._subscriptions.private_filters != private_before:
            # New private families are chosen by a new auth request.
            self._send_live(self._auth_request())

    def unsubscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """Unsubscribe (at once if connected) and stop replaying them on reconnects."""
        removed = self._subscriptions.remove(subscriptions)
        for sub in removed:
            self.book_keeper.untrack(sub)
        if removed:
            self._send_live(Request.unsubscribe(removed))

    # ------------------------------------------------------------------ running
    def run(self, *, use_uvloop: bool | None = None) -> None:
        """Run until stopped or a permanent failure; blocking. Uses uvloop when installed,
        unless ``use_uvloop=False`` or ``MAICOIN_WS_NO_UVLOOP`` is set."""
        if use_uvloop is None:
            use_uvloop = not env_flag(os.environ.get(NO_UVLOOP_ENV))
        loop_factory = _uvloop_factory() if use_uvloop else None
        with asyncio.Runner(loop_factory=loop_factory) as runner:
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
        self._stopping = False
        self._failure = None
        self._wakeup = asyncio.Event()
        self._finished = asyncio.Event()
        dispatcher = Dispatcher(
            self.dispatch,
            self.handlers,
            self.response_queue,
            self.on_handler_error,
            self._unhandled,
            max_pending_tasks=self.max_pending_tasks,
        )
        self._dispatcher = dispatcher
        try:
            await self._connect_forever(dispatcher)
        finally:
            await dispatcher.aclose()
            self._stats.handler_errors = dispatcher.handler_errors
            self._dispatcher = None
            self._running = False
            self._finished.set()

    def stop(self) -> None:
        """Ask the stream to stop: the connection is closed and ``arun`` returns."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        connection = self._connection
        if connection is not None:
            self._close_soon(connection)

    async def aclose(self) -> None:
        """Stop and wait until the stream has finished (handler tasks cancelled and awaited)."""
        self.stop()
        task = self._run_task
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(task)
        elif self._running and self._finished is not None:
            await self._finished.wait()

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

    def _auth_request(self) -> Request:
        assert self._credentials is not None
        return Request.auth(
            self._credentials.api_key,
            self._credentials.api_secret,
            filters=self.auth_filters,
        )

    def _send_live(self, request: Request) -> None:
        """Queue a request for the live connection; without one it is sent on connect."""
        if self._outbox is not None:
            self._outbox.put_nowait(request)

    def _unhandled(self, error: HandlerError) -> None:
        """A task-mode handler failed with nobody to tell: stop the stream with it."""
        log.error(
            "handler raised and no on_handler_error is set; stopping", exc_info=error.__cause__
        )
        if self._failure is None:
            self._failure = error
        self.stop()

    def _close_soon(self, connection: Any) -> None:
        with contextlib.suppress(RuntimeError):
            self._keep(asyncio.ensure_future(connection.close()))

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a fire-and-forget task until it ends (the loop only keeps weak references)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _connect_forever(self, dispatcher: Dispatcher) -> None:
        policy = self.reconnect_policy
        attempt = 0
        while not self._stopping:
            started = time.monotonic()
            error: BaseException | None = None
            try:
                await self._session(dispatcher)
            except HandlerError as exc:
                log.error(
                    "handler raised and no on_handler_error is set; stopping",
                    exc_info=exc.__cause__,
                )
                raise _original(exc) from None
            except AuthenticationError as exc:
                log.error("authentication refused: %s", exc)
                await self._notify(self.on_permanent_failure, exc)
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
            if self._failure is not None:
                failure = self._failure
                raise _original(failure) if isinstance(failure, HandlerError) else failure
            if self._stopping:
                return
            if time.monotonic() - started >= policy.healthy_after:
                attempt = 0
            attempt += 1
            if error is None and not policy.enabled:
                return  # the server closed cleanly and we were told not to reconnect
            if not policy.enabled or policy.exhausted(attempt):
                failure = error or ConnectionError("connection closed by the server")
                log.error("giving up after %d attempt(s): %r", attempt, failure)
                await self._notify(self.on_permanent_failure, failure)
                raise failure
            delay = policy.delay(attempt)
            banned_until = retry_after(error) if error is not None else None
            if banned_until is not None:
                delay = max(delay, banned_until - time.time() + random.uniform(0.0, policy.jitter))
                log.warning(
                    "MAX refused the handshake with HTTP 429; waiting %.1f s (Retry-After %s)",
                    delay,
                    time.strftime("%H:%M:%S", time.gmtime(banned_until)),
                )
            else:
                log.warning(
                    "disconnected (%r); reconnect attempt %d in %.2f s", error, attempt, delay
                )
            await self._notify(self.on_reconnecting, error)
            await self._sleep(delay)
            self._stats.reconnects += 1

    async def _session(self, dispatcher: Dispatcher) -> None:
        """One connection: open, send queued requests, receive until it ends."""
        async with self.connect_factory(self.uri, **self.connect_options) as connection:
            self._connection = connection
            self._outbox = asyncio.Queue()
            self._stats.connections += 1
            writer: asyncio.Task[None] | None = None
            error: BaseException | None = None
            try:
                self.book_keeper.invalidate_all()
                for request in self.requests:
                    await self._send(connection, request)
                log.info("connected to %s", self.uri)
                await self._notify(self.on_connected, None)
                writer = asyncio.get_running_loop().create_task(self._write_outbox(connection))
                await receive_loop(self, connection, dispatcher)
            except _Reconnect as exc:
                error = exc
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._connection = None
                self._outbox = None
                if writer is not None:
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await writer
                if not isinstance(error, asyncio.CancelledError):
                    await self._notify(self.on_disconnected, _public_error(error))
            if isinstance(error, _Reconnect):
                raise ConnectionError(str(error))

    async def _write_outbox(self, connection: Any) -> None:
        assert self._outbox is not None
        outbox = self._outbox
        while True:
            request = await outbox.get()
            await self._send(connection, request)

    async def _send(self, connection: Any, request: Request) -> None:
        await self.rate_limiter.acquire()
        await connection.send(request.message())
        self._stats.requests_sent += 1

    def handle_error_response(self, response: Response) -> None:
        """React to an ``error`` frame: permanent auth failures end the stream."""
        errors = response.errors or []
        text = "; ".join(errors)
        if any(e.startswith(_PERMANENT_AUTH_CODES) for e in errors):
            raise AuthenticationError(f"MAX refused authentication: {text}")
        if any(e.startswith(_RETRY_AUTH_CODES) for e in errors):
            raise _Reconnect(f"MAX rejected the auth nonce ({text}); reconnecting with a fresh one")
        log.warning("MAX error response (request id %s): %s", response.id, text)

    def request_resync(self, resync: BookResync) -> None:
        """Resubscribe one book (unsub then sub) through the rate-limited outbox."""
        if self.on_book_resync is not None:
            try:
                result = self.on_book_resync(resync)
                if isinstance(result, Awaitable):
                    self._keep(asyncio.ensure_future(result))
            except Exception:
                log.exception("on_book_resync callback raised")
        sub = self._subscriptions.find(Channel.BOOK, resync.market)
        if sub is not None:
            self._send_live(Request.unsubscribe([sub]))
            self._send_live(Request.subscribe([sub]))

    async def _notify(self, callback: Callable[..., Any] | None, *args: Any) -> None:
        """Call a lifecycle callback (sync or async); its failure is logged, never fatal."""
        if callback is None:
            return
        try:
            result = callback(*args)
            if isinstance(result, Awaitable):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("lifecycle callback %r raised", callback)

    async def _sleep(self, delay: float) -> None:
        """Backoff sleep that ``stop()`` cuts short."""
        assert self._wakeup is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=delay)


def _is_private(sub: Subscription) -> bool:
    return auth_filter_for(sub.channel) is not None


def _original(error: HandlerError) -> BaseException:
    cause = error.__cause__
    return cause if cause is not None else error


def _public_error(error: BaseException | None) -> BaseException | None:
    if isinstance(error, _Reconnect):
        return ConnectionError(str(error))
    return error


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
