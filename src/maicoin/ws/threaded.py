"""``ThreadedStream``: a ``Stream`` for synchronous code.

The stream's event loop runs in a daemon thread; its responses cross to the reading thread
through a bounded queue, in order::

    stream = Stream()
    stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
    with ThreadedStream(stream) as responses:
        for response in responses:
            print(response.event, response.channel)

Leaving the ``with`` block, ``close()``, the end of the stream and Ctrl-C while waiting for a
response all stop the stream and join its thread.

When the reader falls behind and the queue is full, ``overflow`` decides:

- ``"block"`` (default): backpressure. The stream stops reading the socket until there is
  room, so no response is lost; a reader that stays behind for longer than the heartbeat's
  ``ping_timeout`` gets disconnected (the stream then reconnects and resyncs its books).
- ``"drop_oldest"``: the oldest queued response is discarded to make room, so the reader
  always gets the latest data. Every discarded response is counted in ``dropped``.

Either way the local order books (``stream.books``) are kept by the loop thread from every
frame, whatever the reader does with the responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Final, Literal, Self

from ._extensions import env_flag
from ._loop_thread import LoopFactory, LoopThread
from .response import Response
from .stream import NO_UVLOOP_ENV, Stream
from .subscription import Subscription

__all__ = ["OVERFLOW_POLICIES", "Overflow", "ThreadedStream"]

log = logging.getLogger("maicoin.ws")

Overflow = Literal["block", "drop_oldest"]
OVERFLOW_POLICIES: Final = ("block", "drop_oldest")

_END: Final = object()
"""What ``_Handoff.take`` returns once nothing more will come."""
_CALL_TIMEOUT: Final = 10.0
"""Seconds a subscribe/unsubscribe may wait for the loop thread."""
_WAIT_SLICE: Final = 0.25
"""Longest single wait of the reader. A signal the kernel hands to another thread does not
interrupt the main thread's lock wait; waking up now and then lets Python run the Ctrl-C
handler there within this many seconds."""
_CLOSE_TIMEOUT: Final = 30.0
"""Seconds ``close()`` waits for the thread by default (a websockets close takes at most its
``close_timeout``, 10 s by default)."""


class ThreadedStream:
    """Run ``stream`` on an event loop in a background thread; read its responses here.

    ``maxsize`` bounds the queue of responses not read yet; ``overflow`` says what happens
    when it is full (``"block"`` or ``"drop_oldest"``, see the module). ``use_uvloop`` as for
    ``Stream.run()``. The stream must dispatch ``inline`` (strict order) or ``task``.
    """

    def __init__(
        self,
        stream: Stream,
        *,
        maxsize: int = 10_000,
        overflow: Overflow | str = "block",
        use_uvloop: bool | None = None,
    ) -> None:
        if stream.dispatch == "queue":
            raise ValueError(
                "ThreadedStream reads the responses itself: use a stream with "
                "dispatch='inline' or 'task', not 'queue'"
            )
        if type(maxsize) is not int or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1; got {maxsize!r}")
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(
                f"overflow must be one of {', '.join(OVERFLOW_POLICIES)}; got {overflow!r}"
            )
        self.stream: Stream = stream
        self._handoff = _Handoff(maxsize, overflow)
        self._worker = _Worker(stream, self._handoff, _loop_factory(use_uvloop))
        # Closes the stream when this object is dropped or at interpreter exit, whichever
        # comes first; it holds the worker, never self, so self can be collected.
        self._finalizer = weakref.finalize(self, self._worker.close, _CLOSE_TIMEOUT)

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("running" if self._worker.started else "new")
        return (
            f"ThreadedStream({self.stream!r}, {state}, pending={self.pending}, "
            f"dropped={self.dropped}, overflow={self.overflow!r})"
        )

    # ------------------------------------------------------------------ state
    @property
    def maxsize(self) -> int:
        """Responses the queue holds before ``overflow`` applies."""
        return self._handoff.maxsize

    @property
    def overflow(self) -> str:
        """``"block"`` (backpressure) or ``"drop_oldest"``."""
        return self._handoff.overflow

    @property
    def dropped(self) -> int:
        """Responses discarded because the queue was full (always 0 with ``"block"``)."""
        return self._handoff.dropped

    @property
    def pending(self) -> int:
        """Responses received and not read yet."""
        return len(self._handoff)

    @property
    def closed(self) -> bool:
        """True once closed, or once the stream ended and every response was read."""
        return self._handoff.finished

    @property
    def error(self) -> BaseException | None:
        """What ended the stream, when it failed (also raised to the reader)."""
        return self._handoff.error

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        """Start the background thread and the stream (done by ``with`` and iteration)."""
        self._worker.start()
        return self

    def close(self, timeout: float | None = _CLOSE_TIMEOUT) -> None:
        """Stop the stream, wait up to ``timeout`` seconds for its thread; queued responses
        are discarded. Idempotent."""
        self._worker.close(timeout)
        self._finalizer.detach()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Self:
        self.start()
        return self

    def __next__(self) -> Response:
        response = self._take(None)
        if response is None:
            raise StopIteration
        return response

    def get(self, timeout: float | None = None) -> Response | None:
        """The next response, waiting up to ``timeout`` seconds (None: no limit).

        None when nothing arrived in time or the stream has ended (see ``closed``). Raises
        what ended the stream when it failed.
        """
        self.start()
        return self._take(timeout)

    def _take(self, timeout: float | None) -> Response | None:
        try:
            item = self._handoff.take(timeout)
        except BaseException:
            # Ctrl-C (or any signal handler raising) while waiting: stop the stream and its
            # thread before the exception goes on, so nothing keeps running behind it.
            self.close()
            raise
        if item is _END:
            if self._handoff.error is not None:
                raise self._handoff.error
            return None
        return item  # type: ignore[return-value]

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """``stream.subscribe`` from this thread (run on the loop when it runs)."""
        self._worker.call(self.stream.subscribe, list(subscriptions))

    def unsubscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """``stream.unsubscribe`` from this thread (run on the loop when it runs)."""
        self._worker.call(self.stream.unsubscribe, list(subscriptions))


class _Worker:
    """The loop thread running one stream; what the finalizer of a ThreadedStream closes."""

    def __init__(self, stream: Stream, handoff: _Handoff, loop_factory: LoopFactory | None):
        self.stream = stream
        self.handoff = handoff
        self.loop_factory = loop_factory
        self.thread: LoopThread | None = None
        self.done: Any = None  # concurrent.futures.Future of the stream's run
        self.closed = False
        self.lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self.thread is not None

    def start(self) -> None:
        with self.lock:
            if self.thread is not None or self.closed:
                return
            thread = LoopThread(name="maicoin.ws ThreadedStream", loop_factory=self.loop_factory)
            thread.start()
            self.stream.add_handler(self.handoff.offer)
            self.done = thread.submit(self._run())
            self.thread = thread

    async def _run(self) -> None:
        error: BaseException | None = None
        try:
            await self.stream.arun()
        except Exception as exc:  # handed to the reader; never a traceback in the thread
            error = exc
        finally:
            self.handoff.end(error)

    def _stop_on_loop(self) -> None:
        # Honoured in every state: a run not started yet, or in its handshake, ends at once.
        self.stream.stop()

    def call(self, function: Callable[[list[Subscription]], None], argument: Any) -> None:
        thread = self.thread
        if thread is None or self.closed or thread.is_current():
            function(argument)
            return

        async def on_loop() -> None:
            function(argument)

        thread.run(on_loop(), timeout=_CALL_TIMEOUT)

    def close(self, timeout: float | None) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            thread = self.thread
        self.handoff.close()  # also wakes a stream waiting for room in the queue
        if thread is None:
            return
        thread.call_soon(self._stop_on_loop)
        if thread.is_current():  # closed from a handler: the loop ends after it returns
            thread.stop()
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with contextlib.suppress(Exception):  # the stream's own failure went to the reader
            self.done.result(timeout)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not thread.stop(remaining):
            log.warning("ThreadedStream: the stream's thread did not end within %s s", timeout)
        elif self.handoff.offer in self.stream.handlers:
            # The stream has stopped: it can be run again without this reader's handler.
            self.stream.handlers.remove(self.handoff.offer)


class _Handoff:
    """The bounded queue between the loop thread (writer) and the reading thread."""

    def __init__(self, maxsize: int, overflow: str) -> None:
        self.maxsize = maxsize
        self.overflow = overflow
        self.dropped = 0
        self.error: BaseException | None = None
        self._items: deque[Response] = deque()
        self._readable = threading.Condition(threading.Lock())
        self._ended = False  # the stream ended: the reader drains what is queued
        self._closed = False  # the reader closed it: nothing more is read
        self._room = asyncio.Event()
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        self._writer_waiting = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def finished(self) -> bool:
        with self._readable:
            return self._closed or (self._ended and not self._items)

    def offer(self, response: Response) -> Awaitable[None] | None:
        """The stream's handler (loop thread): queue ``response``; an awaitable when full."""
        with self._readable:
            if self._closed:
                return None
            if len(self._items) < self.maxsize:
                self._items.append(response)
                self._readable.notify()
                return None
            if self.overflow == "drop_oldest":
                self._items.popleft()
                self._items.append(response)
                self.dropped += 1
                self._readable.notify()
                first_drop = self.dropped == 1
            else:
                first_drop = False
        if first_drop:
            log.warning(
                "ThreadedStream: the reader is behind and the queue is full (%d); dropping "
                "the oldest responses (counted in ThreadedStream.dropped)",
                self.maxsize,
            )
        if self.overflow == "drop_oldest":
            return None
        return self._put_when_room(response)

    async def _put_when_room(self, response: Response) -> None:
        while True:
            with self._readable:
                if self._closed:
                    return
                if len(self._items) < self.maxsize:
                    self._items.append(response)
                    self._readable.notify()
                    return
                # Cleared under the lock the reader takes before it sets it: no lost wakeup.
                self._room.clear()
                self._writer_loop = asyncio.get_running_loop()
                self._writer_waiting = True
            await self._room.wait()

    def take(self, timeout: float | None) -> object:
        """The next response (reading thread), None after ``timeout``, or ``_END``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._readable:
            while not self._items and not self._ended and not self._closed:
                remaining = _WAIT_SLICE if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._readable.wait(min(remaining, _WAIT_SLICE))
            if self._closed or not self._items:
                return _END
            response = self._items.popleft()
            wake = self._writer_waiting
            self._writer_waiting = False
        if wake:
            self._wake_writer()
        return response

    def end(self, error: BaseException | None) -> None:
        """The stream ended (loop thread), with ``error`` when it failed."""
        with self._readable:
            self._ended = True
            self.error = error
            self._readable.notify_all()

    def close(self) -> None:
        """The reader is done: discard what is queued, release a waiting writer."""
        with self._readable:
            self._closed = True
            self._items.clear()
            wake = self._writer_waiting
            self._writer_waiting = False
            self._readable.notify_all()
        if wake:
            self._wake_writer()

    def _wake_writer(self) -> None:
        loop = self._writer_loop
        if loop is not None:
            # RuntimeError: the loop already closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._room.set)


def _loop_factory(use_uvloop: bool | None) -> LoopFactory | None:
    """uvloop's factory unless opted out (as ``Stream.run()`` chooses) or not installed."""
    if use_uvloop is None:
        use_uvloop = not env_flag(os.environ.get(NO_UVLOOP_ENV))
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory
