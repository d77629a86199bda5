"""Deliver decoded responses to handlers or a queue: the pure-Python twin of ``_dispatch_c``.

Both twins behave the same; ``maicoin.ws.dispatch`` picks one. The stream calls
``dispatch(response)`` once per frame and awaits what it returns, if anything.

Handlers come from the ``handlers`` list, in its order: a plain callable gets every response,
a ``routing.Route`` only those of its channel, market and event. The list is indexed by
``(channel, market, event)`` into one tuple of callables per key, so a frame costs one dict
lookup however many routes there are. A frame goes to the tuple of the list as it was when
the frame came; the index is rebuilt when the list changed (checked at each frame). A
handler appended while a frame is delivered gets that frame too, after the others (the
list's length is checked when the tuple is done); one removed meanwhile is still called for
it, and for no later frame.

Modes:

- ``inline``: handlers run in registration order. Sync handlers are called directly and
  ``dispatch`` returns None; the first handler that returns an awaitable makes ``dispatch``
  return one awaitable that awaits it and then runs the remaining handlers, still in order.
- ``task``: async handlers each become a tracked task. Sync handlers are called directly
  inside ``dispatch``: they cannot yield, so a task would only delay them and cost a task per
  frame. Failures never escape ``dispatch``; they go to ``on_handler_error`` or, failing that,
  to ``on_unhandled``. Once ``max_pending_tasks`` tasks are in flight, ``dispatch`` returns
  an awaitable that completes when one finishes, so the stream waits: backpressure.
- ``queue``: the response is put on the queue (handlers ignored); a full bounded queue makes
  ``dispatch`` return ``queue.put(response)`` so the stream waits: backpressure.

A handler exception is counted in ``handler_errors`` and passed to ``on_handler_error``
(awaited when it returns an awaitable). Without that callback, or when the callback itself
raises, the escaping exception is wrapped in ``HandlerError``: raised in inline mode,
handed to ``on_unhandled`` in task mode. ``asyncio.CancelledError`` is never a handler error.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from inspect import isawaitable
from types import CoroutineType
from typing import Any, TypeAlias, final

from ..errors import HandlerError
from .routing import (
    ROUTE_CACHE_LIMIT,
    Handler,
    RouteKey,
    has_routes,
    resume_index,
    route_key,
    routes_for,
)
from .rules import DISPATCH_MODES, checked_dispatch_mode, checked_task_limit

ErrorCallback: TypeAlias = Callable[[BaseException, Any], Any]

_INLINE, _TASK, _QUEUE = DISPATCH_MODES


@final
class Dispatcher:
    """Deliver each response to the stream's handlers (inline or as tasks) or to a queue."""

    __slots__ = (
        "_closed",
        "_count",
        "_everyone",
        "_handler_errors",
        "_handlers",
        "_limit",
        "_max_pending_tasks",
        "_mode",
        "_on_handler_error",
        "_on_unhandled",
        "_queue",
        "_room",
        "_routed",
        "_snapshot",
        "_table",
        "_tasks",
    )

    def __init__(
        self,
        mode: str,
        handlers: list[Handler],
        queue: asyncio.Queue[Any] | None,
        on_handler_error: ErrorCallback | None,
        on_unhandled: Callable[[HandlerError], None],
        *,
        max_pending_tasks: int | None = 10_000,
    ) -> None:
        mode = checked_dispatch_mode(mode)
        if not isinstance(handlers, list):
            raise TypeError(f"handlers must be a list, got {type(handlers).__name__}")
        if mode == _QUEUE and queue is None:
            raise ValueError("dispatch mode 'queue' needs a queue; got queue=None")
        limit = checked_task_limit(max_pending_tasks)
        self._max_pending_tasks = limit
        # One check for both settings: unbounded is a limit never reached.
        self._limit: int = sys.maxsize if limit is None else limit
        self._mode: str = mode
        self._handlers = handlers
        # The route index: the list as last indexed, and what was derived from it.
        self._snapshot: list[Handler] = []
        self._count = 0
        self._routed = False
        self._everyone: tuple[Handler, ...] = ()
        self._table: dict[RouteKey, tuple[Handler, ...]] = {}
        self._reindex()
        self._queue = queue
        self._on_handler_error = on_handler_error
        self._on_unhandled = on_unhandled
        self._handler_errors = 0
        # Task -> the response it handles; an entry leaves when its task is done.
        self._tasks: dict[asyncio.Future[Any], Any] = {}
        # Resolved when the task count drops below the limit; shared by every waiter.
        self._room: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def mode(self) -> str:
        """The dispatch mode: ``"inline"``, ``"task"`` or ``"queue"``."""
        return self._mode

    @property
    def handler_errors(self) -> int:
        """How many handler calls raised so far."""
        return self._handler_errors

    @property
    def pending_tasks(self) -> int:
        """Handler and error-callback tasks not finished yet (task mode)."""
        return len(self._tasks)

    @property
    def max_pending_tasks(self) -> int | None:
        """Tracked tasks at which ``dispatch`` makes the stream wait; None: no limit."""
        return self._max_pending_tasks

    def dispatch(self, response: Any) -> Awaitable[None] | None:
        """Deliver one response; return an awaitable the caller must await, or None."""
        if self._closed:
            return None
        mode = self._mode
        if mode is _INLINE:
            # _routes' common case inline: a Python call per frame costs more than the rest.
            if self._routed or self._handlers != self._snapshot:
                routes = self._routes(response)
            else:
                routes = self._everyone
            while True:  # once more for each change of the list during the frame
                rest = iter(routes)
                for handler in rest:
                    if self._closed:  # a handler stopped the stream: no further call
                        return None
                    try:
                        result = handler(response)
                    except Exception as exc:
                        pending = self._inline_failure(exc, response)
                        if pending is not None:
                            return self._resume_inline(pending, response, routes, rest, True)
                        continue
                    if result is not None and (
                        type(result) is CoroutineType or isawaitable(result)
                    ):
                        return self._resume_inline(result, response, routes, rest, False)
                if self._closed or len(self._handlers) == self._count:
                    return None
                routes = self._late_routes(response, routes)
        if mode is _TASK:
            routes = self._routes(response)
            while True:
                for handler in routes:
                    try:
                        result = handler(response)
                    except Exception as exc:
                        self._task_failure(exc, response)
                        continue
                    if result is not None and (
                        type(result) is CoroutineType or isawaitable(result)
                    ):
                        self._track(result, response, self._handler_done)
                if len(self._handlers) == self._count:
                    break
                routes = self._late_routes(response, routes)
            if len(self._tasks) >= self._limit:
                return self._wait_for_room()
            return None
        queue: asyncio.Queue[Any] = self._queue  # type: ignore[assignment]
        try:
            queue.put_nowait(response)
        except asyncio.QueueFull:
            return queue.put(response)
        return None

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called: responses are no longer delivered."""
        return self._closed

    def close(self) -> None:
        """Deliver nothing more; cancel tracked tasks (but the caller's own); release waiters."""
        self._closed = True
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._release_room()

    async def aclose(self) -> None:
        """Cancel every tracked task, wait until all of them are done, release any waiter."""
        current = asyncio.current_task()
        try:
            while True:
                pending = [task for task in self._tasks if task is not current]
                if not pending:
                    return
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
        finally:
            self._release_room()

    def _wait_for_room(self) -> Awaitable[None]:
        room = self._room
        if room is None:
            room = self._room = asyncio.get_running_loop().create_future()
        # Shielded: a cancelled waiter must not cancel the future other waiters share.
        return asyncio.shield(room)

    def _release_room(self) -> None:
        room = self._room
        if room is not None:
            self._room = None
            if not room.done():
                room.set_result(None)

    def _routes(self, response: Any) -> tuple[Handler, ...]:
        """The callables ``response`` goes to, in order (the index rebuilt if stale)."""
        if self._handlers != self._snapshot:  # identity first: a pointer per entry
            self._reindex()
        if not self._routed:
            return self._everyone
        try:
            key = (response.channel, response.market, response.event)
        except AttributeError:  # not a Response: only the unfiltered handlers match it
            key = route_key(response)
        routes = self._table.get(key)
        if routes is None:
            if len(self._table) >= ROUTE_CACHE_LIMIT:
                self._table = {}
            routes = self._table[key] = routes_for(self._snapshot, key)
        return routes

    def _reindex(self) -> None:
        snapshot = list(self._handlers)
        self._snapshot = snapshot
        self._count = len(snapshot)
        self._routed = has_routes(snapshot)
        self._everyone = tuple(snapshot)
        self._table = {}

    def _late_routes(self, response: Any, called: tuple[Handler, ...]) -> tuple[Handler, ...]:
        """The list grew while ``response`` was delivered to ``called``: the routes of the
        new list past those."""
        routes = self._routes(response)
        return routes[resume_index(routes, called) :]

    async def _resume_inline(
        self,
        pending: Awaitable[Any] | None,
        response: Any,
        routes: tuple[Handler, ...],
        rest: Iterator[Handler],
        from_callback: bool,
    ) -> None:
        """Await ``pending``, then run the remaining handlers in order, awaiting as needed."""
        while True:
            if pending is not None:
                try:
                    await pending
                except Exception as exc:
                    if from_callback:
                        raise HandlerError(exc, response) from exc
                    pending = self._inline_failure(exc, response)
                    from_callback = True
                    continue
                pending = None
            for handler in rest:
                if self._closed:
                    return
                try:
                    result = handler(response)
                except Exception as exc:
                    pending = self._inline_failure(exc, response)
                    if pending is not None:
                        from_callback = True
                        break
                    continue
                if result is not None and (type(result) is CoroutineType or isawaitable(result)):
                    pending = result
                    from_callback = False
                    break
            else:
                if self._closed or len(self._handlers) == self._count:
                    return
                routes = self._late_routes(response, routes)
                rest = iter(routes)

    def _inline_failure(self, exc: Exception, response: Any) -> Awaitable[Any] | None:
        """Count a failure and report it: return the callback's awaitable, or raise HandlerError."""
        self._handler_errors += 1
        callback = self._on_handler_error
        if callback is None:
            raise HandlerError(exc, response) from exc
        try:
            outcome = callback(exc, response)
        except Exception as callback_exc:
            raise HandlerError(callback_exc, response) from callback_exc
        if outcome is not None and (type(outcome) is CoroutineType or isawaitable(outcome)):
            return outcome
        return None

    def _task_failure(self, exc: Exception, response: Any) -> None:
        """Count a failure and report it to the callback (as a task if async) or on_unhandled."""
        self._handler_errors += 1
        callback = self._on_handler_error
        if callback is None:
            self._on_unhandled(HandlerError(exc, response))
            return
        try:
            outcome = callback(exc, response)
        except Exception as callback_exc:
            self._on_unhandled(HandlerError(callback_exc, response))
            return
        if outcome is not None and (type(outcome) is CoroutineType or isawaitable(outcome)):
            self._track(outcome, response, self._callback_done)

    def _track(
        self,
        awaitable: Awaitable[Any],
        response: Any,
        on_done: Callable[[asyncio.Future[Any]], None],
    ) -> None:
        if type(awaitable) is CoroutineType:
            # The loop's own create_task honours a task factory the user may have set.
            task: asyncio.Future[Any] = asyncio.get_running_loop().create_task(awaitable)
        else:
            task = asyncio.ensure_future(awaitable)
        self._tasks[task] = response
        task.add_done_callback(on_done)

    def _handler_done(self, task: asyncio.Future[Any]) -> None:
        response = self._tasks.pop(task)
        if self._room is not None and len(self._tasks) < self._limit:
            self._release_room()
        if task.cancelled():
            return
        exc = task.exception()
        # KeyboardInterrupt and SystemExit already propagated out of the loop.
        if isinstance(exc, Exception):
            self._task_failure(exc, response)

    def _callback_done(self, task: asyncio.Future[Any]) -> None:
        response = self._tasks.pop(task)
        if self._room is not None and len(self._tasks) < self._limit:
            self._release_room()
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, Exception):
            self._on_unhandled(HandlerError(exc, response))
