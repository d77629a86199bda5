"""The connections of one running stream: connect, replay the requests, read, reconnect.

``Session`` owns what a ``Stream`` needs while it runs and users never touch: the decoder,
the live connection and its outbox of requests, the reaction to the exchange's ``error``
frames and to book resyncs, and the reconnect loop with its backoff. It reads the stream's
public settings (``StreamSettings``) afresh on every connection, so a user who changes one
between connections is heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .._frames.book import BookKeeper
from .._frames.decode import make_decoder
from .._frames.dispatch import Dispatcher
from .._frames.frame_path import FramePath
from .._frames.rules import BookResync
from .._io.connect import ConnectFactory, retry_after
from .._io.reader import receive_loop
from ..channel import Channel
from ..errors import AuthenticationError, HandlerError
from ..ratelimit import RequestRateLimiter
from ..reconnect import ReconnectPolicy
from ..request import Request
from ..stats import StreamStats
from .refusals import Reconnect, check_error_response
from .registry import SubscriptionRegistry

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

    @property
    def requests(self) -> list[Request]: ...


class Session:
    """Runs a stream's connections one after another until stopped or a permanent failure."""

    def __init__(
        self,
        settings: StreamSettings,
        stats: StreamStats,
        subscriptions: SubscriptionRegistry,
        books: BookKeeper,
    ) -> None:
        self._settings = settings
        self._stats = stats
        self._subscriptions = subscriptions
        self._books = books
        self._decode = make_decoder()
        self._connection: Any = None
        self._outbox: asyncio.Queue[Request] | None = None
        self._stopping = False
        self._wakeup: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._background: set[asyncio.Future[Any]] = set()

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._connection is not None

    def send_live(self, request: Request) -> None:
        """Queue a request for the live connection; without one it is sent on connect."""
        if self._outbox is not None:
            self._outbox.put_nowait(request)

    def stop(self) -> None:
        """End the session: the connection is closed and ``run`` returns."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(RuntimeError):
                self._keep(asyncio.ensure_future(connection.close()))

    def fail(self, error: HandlerError) -> None:
        """A task-mode handler failed with nobody to tell: stop the stream with it."""
        log.error(
            "handler raised and no on_handler_error is set; stopping", exc_info=error.__cause__
        )
        if self._failure is None:
            self._failure = error
        self.stop()

    async def run(self, dispatcher: Dispatcher) -> None:
        """Connect, and reconnect by the policy, until stopped or a permanent failure.

        A ``stop()`` that came before this run started is honoured: the flag is cleared when
        a run ends, not when it starts.
        """
        self._failure = None
        self._wakeup = asyncio.Event()
        if self._stopping:
            self._wakeup.set()
        try:
            await self._reconnect_loop(dispatcher)
        finally:
            self._stopping = False

    async def _reconnect_loop(self, dispatcher: Dispatcher) -> None:
        settings = self._settings
        attempt = 0
        while not self._stopping:
            policy = settings.reconnect_policy
            started = time.monotonic()
            error: BaseException | None = None
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
            else:
                log.warning(
                    "disconnected (%r); reconnect attempt %d in %.2f s", error, attempt, delay
                )
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
            on_error_response=check_error_response,
        )

    async def _connection_lifetime(self, dispatcher: Dispatcher) -> None:
        """One connection: open, send the stream's requests, receive until it ends."""
        settings = self._settings
        async with settings.connect_factory(settings.uri, **settings.connect_options) as conn:
            self._connection = conn
            self._outbox = asyncio.Queue()
            self._stats.connections += 1
            writer: asyncio.Task[None] | None = None
            error: BaseException | None = None
            if self._stopping:
                # stop() came during the handshake, when there was no connection to close.
                self._connection = None
                self._outbox = None
                return
            try:
                self._books.invalidate_all()
                for request in settings.requests:
                    await self._send(conn, request)
                log.info("connected to %s", settings.uri)
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
                if writer is not None:
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await writer
                if not isinstance(error, asyncio.CancelledError):
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
        assert self._wakeup is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=delay)


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


def _public_error(error: BaseException | None) -> BaseException | None:
    if isinstance(error, Reconnect):
        return ConnectionError(str(error))
    return error
