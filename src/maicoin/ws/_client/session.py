"""The connections of one running stream: connect, replay the requests, read, reconnect.

``Session`` owns what a ``Stream`` needs while it runs and users never touch: the decoder,
the live connection and its outbox of requests, the reaction to the exchange's ``error``
frames and to book resyncs, the invalidation of the books on every new connection and of
the account caches when one ends, and the reconnect loop with its backoff. It reads the
stream's public settings (``StreamSettings``) afresh on every connection, so a user who
changes one between connections is heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from .._frames.account import AccountKeeper
from .._frames.book import BookKeeper
from .._frames.decode import make_decoder
from .._frames.dispatch import Dispatcher
from .._frames.frame_path import FramePath
from .._frames.rules import BookResync
from .._io.connect import ConnectFactory, handshake_failure, redacted_uri, retry_after
from .._io.reader import receive_loop
from ..channel import Channel
from ..errors import AuthenticationError, HandlerError, HandshakeError, SubscriptionError
from ..ratelimit import RequestRateLimiter
from ..reconnect import ReconnectPolicy
from ..request import Request
from ..response import Event, Response
from ..stats import StreamStats
from ..subscription import Subscription
from .lifecycle import Lifecycle, StreamState
from .refusals import Reconnect, check_error_response
from .registry import SubscriptionRegistry, subscription_key
from .replay import describe, drop_subscriptions, find_sub_request, refused_by

__all__ = ["LifecycleCallback", "Session", "StreamSettings", "notify"]

log = logging.getLogger("maicoin.ws")

LifecycleCallback = Callable[[BaseException | None], Any]


class StreamSettings(Protocol):
    """The public attributes of a ``Stream`` that its session reads."""

    uri: str
    reconnect_policy: ReconnectPolicy
    connect_factory: ConnectFactory
    connect_options: dict[str, Any]
    rate_limiter: RequestRateLimiter
    on_connected: LifecycleCallback | None
    on_disconnected: LifecycleCallback | None
    on_reconnecting: LifecycleCallback | None
    on_permanent_failure: LifecycleCallback | None
    on_book_resync: Callable[[BookResync], Any] | None
    on_subscription_error: Callable[[SubscriptionError], Any] | None
    requests: list[Request]

    def requests_for_connection(self) -> list[Request]:
        """``requests`` as a new connection sends them (the stream's auth freshly signed)."""
        ...


class Session:
    """Runs a stream's connections one after another until stopped or a permanent failure."""

    def __init__(
        self,
        settings: StreamSettings,
        stats: StreamStats,
        subscriptions: SubscriptionRegistry,
        books: BookKeeper,
        account: AccountKeeper,
    ) -> None:
        self._settings = settings
        self._stats = stats
        self._subscriptions = subscriptions
        self._books = books
        self._account = account
        self._decode = make_decoder(raw=True)
        self._connection: Any = None
        self._outbox: asyncio.Queue[Request] | None = None
        self.lifecycle = Lifecycle()
        self._failure: BaseException | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._dispatcher: Dispatcher | None = None
        # The task running the reconnect loop, which an outside stop() cancels.
        self._loop_task: asyncio.Task[None] | None = None
        self._cancelled_by_stop = False
        # Whether the current attempt got past the handshake (what a failure's log says).
        self._opened = False
        self._pings: dict[str, asyncio.Future[float]] = {}

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._connection is not None

    @property
    def state(self) -> StreamState:
        return self.lifecycle.state

    def send_live(self, request: Request) -> None:
        """Queue a request for the live connection; without one it is sent on connect."""
        if self._outbox is not None:
            self._outbox.put_nowait(request)

    def stop(self) -> None:
        """End the session at once: no handler call starts after this returns.

        Honoured in every state; before a run has started it is kept for that run. Pending
        handler tasks are cancelled, the dispatcher takes no more frames, the connection is
        closed, and a handshake or a handler awaited by the reader is cancelled (unless the
        stop comes from that very handler, which is left to finish).
        """
        self.lifecycle.request_stop()
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.close()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(RuntimeError):
                self._keep(asyncio.ensure_future(connection.close()))
        task = self._loop_task
        if task is not None and not task.done() and not self._cancelled_by_stop:
            try:
                inside = asyncio.current_task() is task
            except RuntimeError:  # no running loop: called from another thread's sync code
                inside = False
            if not inside:
                self._cancelled_by_stop = True
                task.cancel()

    def fail(self, error: HandlerError) -> None:
        """A task-mode handler failed with nobody to tell: stop the stream with it."""
        log.error(
            "handler raised and no on_handler_error is set; stopping", exc_info=error.__cause__
        )
        if self._failure is None:
            self._failure = error
        self.stop()

    async def ping(self, timeout: float) -> float:  # noqa: ASYNC109 - a deadline per ping
        """Send the application ping; return the seconds until its ``pong`` arrived."""
        if self._outbox is None:
            raise ConnectionError("ping needs an open connection; the stream is not connected")
        request = Request.ping()
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pings[request.id] = waiter
        started = time.perf_counter()
        self._outbox.put_nowait(request)
        try:
            async with asyncio.timeout(timeout):
                answered = await waiter
        except TimeoutError:
            raise TimeoutError(f"no pong within {timeout} s") from None
        finally:
            self._pings.pop(request.id, None)
        self._stats.ping_rtt = round_trip = answered - started
        return round_trip

    async def run(self, dispatcher: Dispatcher) -> None:
        """Connect, and reconnect by the policy, until stopped or a permanent failure.

        The reconnect loop runs in a task of its own so that a ``stop()`` from outside can
        cancel a handshake or an awaited handler; that cancellation ends the run normally,
        while a cancellation of the caller's task still propagates.
        """
        lifecycle = self.lifecycle
        lifecycle.begin_run()
        self._failure = None
        self._dispatcher = dispatcher
        loop_task = asyncio.get_running_loop().create_task(
            self._reconnect_loop(dispatcher), name="maicoin.ws connections"
        )
        self._loop_task = loop_task
        try:
            await loop_task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not (loop_task.cancelled() and self._cancelled_by_stop):
                raise
            if current is not None and current.cancelling():
                raise
        finally:
            if not loop_task.done():  # our caller was cancelled: so is the loop
                loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await loop_task
            self._loop_task = None
            self._cancelled_by_stop = False
            self._dispatcher = None
            lifecycle.end_run()

    async def _reconnect_loop(self, dispatcher: Dispatcher) -> None:
        settings = self._settings
        lifecycle = self.lifecycle
        attempt = 0
        while not lifecycle.stop_requested:
            policy = settings.reconnect_policy
            started = time.monotonic()
            error: BaseException | None = None
            self._opened = False
            lifecycle.advance(StreamState.CONNECTING)
            try:
                await self._connection_lifetime(dispatcher)
            except HandlerError as exc:
                log.error(
                    "handler raised and no on_handler_error is set; stopping",
                    exc_info=exc.__cause__,
                )
                raise _original(exc) from None
            except AuthenticationError as exc:
                log.error("authentication refused: %s", exc)
                await notify(settings.on_permanent_failure, exc)
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
            if self._failure is not None:
                failure = self._failure
                raise _original(failure) if isinstance(failure, HandlerError) else failure
            if lifecycle.stop_requested:
                return
            if error is not None and not self._opened:
                reason = handshake_failure(error)
                if reason is not None:
                    where = redacted_uri(settings.uri)
                    failure = HandshakeError(f"could not connect to {where}: {reason}")
                    failure.__cause__ = error
                    log.error("%s; not retrying", failure)
                    await notify(settings.on_permanent_failure, failure)
                    raise failure
            if time.monotonic() - started >= policy.healthy_after:
                attempt = 0
            attempt += 1
            if error is None and not policy.enabled:
                return  # the server closed cleanly and we were told not to reconnect
            if not policy.enabled or policy.exhausted(attempt):
                failure = error or ConnectionError("connection closed by the server")
                log.error("giving up after %d attempt(s): %r", attempt, failure)
                await notify(settings.on_permanent_failure, failure)
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
            elif self._opened:
                log.warning(
                    "disconnected from %s (%s); reconnect attempt %d in %.2f s",
                    redacted_uri(settings.uri),
                    _what(error),
                    attempt,
                    delay,
                )
            else:
                log.warning(
                    "could not connect to %s (%s); attempt %d in %.2f s",
                    redacted_uri(settings.uri),
                    _what(error),
                    attempt + 1,
                    delay,
                )
            lifecycle.advance(StreamState.BACKING_OFF)
            await notify(settings.on_reconnecting, error)
            await self._sleep(delay)
            self._stats.reconnects += 1

    def frame_path(self, dispatcher: Dispatcher) -> FramePath:
        """The per-frame path of this stream's connections."""
        return FramePath(
            decode=self._decode,
            stats=self._stats,
            apply_book=self._books.apply,
            dispatch=dispatcher.dispatch,
            request_resync=self._resync,
            on_control=self._on_control,
            apply_private=self._account.apply,
            feed_lag=self._stats.feed_lag,
            # The compiled book reads book updates straight from their bytes; the pure
            # twin has no such path and decodes every frame.
            apply_book_frame=getattr(self._books, "apply_frame", None),
        )

    async def _connection_lifetime(self, dispatcher: Dispatcher) -> None:
        """One connection: open, send the stream's requests, receive until it ends."""
        settings = self._settings
        async with settings.connect_factory(settings.uri, **settings.connect_options) as conn:
            self._opened = True
            self._connection = conn
            self._outbox = asyncio.Queue()
            self._stats.connections += 1
            writer: asyncio.Task[None] | None = None
            error: BaseException | None = None
            if self.lifecycle.stop_requested:
                # stop() came during the handshake, when there was no connection to close.
                self._connection = None
                self._outbox = None
                return
            try:
                self._books.invalidate_all()
                for request in settings.requests_for_connection():
                    await self._send(conn, request)
                log.info("connected to %s", redacted_uri(settings.uri))
                self.lifecycle.advance(StreamState.CONNECTED)
                await notify(settings.on_connected, None)
                writer = asyncio.get_running_loop().create_task(self._write_outbox(conn))
                await receive_loop(self.frame_path(dispatcher), conn)
            except Reconnect as exc:
                error = exc
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._connection = None
                self._outbox = None
                # What the account caches hold stops being live with the connection.
                self._account.invalidate_all()
                self._fail_pings()
                if writer is not None:
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await writer
                if self._cancelled_by_stop:
                    await notify(settings.on_disconnected, None)
                elif not isinstance(error, asyncio.CancelledError):
                    await notify(settings.on_disconnected, _public_error(error))
            if isinstance(error, Reconnect):
                raise ConnectionError(str(error))

    async def _write_outbox(self, connection: Any) -> None:
        assert self._outbox is not None
        outbox = self._outbox
        while True:
            request = await outbox.get()
            await self._send(connection, request)

    async def _send(self, connection: Any, request: Request) -> None:
        await self._settings.rate_limiter.acquire()
        await connection.send(request.message())
        self._stats.requests_sent += 1

    def _on_control(self, response: Response) -> None:
        """An ``error`` or ``pong`` frame, after its handlers: answer a ping, judge an error."""
        if response.event is Event.PONG:
            waiter = self._pings.get(response.id or "")
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())
            return
        check_error_response(response)  # raises when the error ends the stream or connection
        reasons = response.errors or []
        request = find_sub_request(self._settings.requests, response.id)
        if request is None or not request.subscriptions:
            log.warning("MAX error response (request id %s): %s", response.id, "; ".join(reasons))
            return
        self._refused(request, refused_by(request.subscriptions, reasons), reasons)

    def _refused(self, request: Request, refused: list[Subscription], reasons: list[str]) -> None:
        """Forget refused subscriptions; send the rest of their request again; tell the user."""
        settings = self._settings
        self.forget(refused)
        # The exchange may have refused the whole request for one bad subscription: the rest
        # are asked for again (a repeat of an accepted one only brings a fresh snapshot).
        rest = find_sub_request(settings.requests, request.id)
        if rest is not None:
            self.send_live(rest)
        reason = "; ".join(reasons) or "no reason given"
        error = SubscriptionError(
            f"MAX refused {describe(refused)}: {reason}", subscriptions=refused, reason=reason
        )
        callback = settings.on_subscription_error
        if callback is None:
            log.error("%s (pass on_subscription_error= to handle refusals)", error)
            return
        try:
            result = callback(error)
            if isinstance(result, Awaitable):
                self._keep(asyncio.ensure_future(result))
        except Exception:
            log.exception("on_subscription_error callback raised")

    def forget(self, subscriptions: Iterable[Subscription]) -> list[Subscription]:
        """Stop keeping and replaying these subscriptions: out of the registry, the books and
        every ``sub`` request of ``requests``. Returns the public ones that were held."""
        subs = list(subscriptions)
        removed = self._subscriptions.remove(subs)
        for sub in removed:
            self._books.untrack(sub)
        drop_subscriptions(self._settings.requests, {subscription_key(sub) for sub in subs})
        return removed

    def _fail_pings(self) -> None:
        for waiter in self._pings.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("the connection closed before the pong"))
        self._pings.clear()

    def _resync(self, resync: BookResync) -> None:
        """Resubscribe one book (unsub then sub) through the rate-limited outbox."""
        callback = self._settings.on_book_resync
        if callback is not None:
            try:
                result = callback(resync)
                if isinstance(result, Awaitable):
                    self._keep(asyncio.ensure_future(result))
            except Exception:
                log.exception("on_book_resync callback raised")
        sub = self._subscriptions.find(Channel.BOOK, resync.market)
        if sub is not None:
            self.send_live(Request.unsubscribe([sub]))
            self.send_live(Request.subscribe([sub]))

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a fire-and-forget task until it ends (the loop only keeps weak references)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _sleep(self, delay: float) -> None:
        """Backoff sleep that ``stop()`` cuts short."""
        await self.lifecycle.sleep(delay)


async def notify(callback: Callable[..., Any] | None, *args: Any) -> None:
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


def _original(error: HandlerError) -> BaseException:
    cause = error.__cause__
    return cause if cause is not None else error


def _what(error: BaseException | None) -> str:
    """An error as a log line names it: its type and message."""
    if error is None:
        return "closed by the server"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _public_error(error: BaseException | None) -> BaseException | None:
    if isinstance(error, Reconnect):
        return ConnectionError(str(error))
    return error
