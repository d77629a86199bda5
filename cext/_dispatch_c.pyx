"""Deliver decoded responses to handlers or a queue: the compiled twin of ``_dispatch_py``.

Same behaviour as the pure-Python twin (whose docstring describes the modes and the route
index); this one keeps the mode as a C int, the handler index as a C integer, and every
module-level lookup of the per-frame path cached once in a C variable.
"""

import asyncio
import inspect
import types

cimport cython
from cpython.pyport cimport PY_SSIZE_T_MAX

from maicoin.ws._frames import routing as _routing
from maicoin.ws._frames.rules import DISPATCH_MODES, checked_dispatch_mode, checked_task_limit
from maicoin.ws.errors import HandlerError

cdef object aio_get_running_loop = asyncio.get_running_loop
cdef object aio_current_task = asyncio.current_task
cdef object aio_ensure_future = asyncio.ensure_future
cdef object aio_wait = asyncio.wait
cdef object aio_QueueFull = asyncio.QueueFull
cdef object aio_shield = asyncio.shield
cdef object inspect_isawaitable = inspect.isawaitable
cdef object CoroutineType = types.CoroutineType
cdef object HandlerError_ = HandlerError
cdef object routes_for_ = _routing.routes_for
cdef object route_key_ = _routing.route_key
cdef object resume_index_ = _routing.resume_index
cdef object has_routes_ = _routing.has_routes
cdef Py_ssize_t TABLE_LIMIT = _routing.ROUTE_CACHE_LIMIT

# Positions in DISPATCH_MODES (the mode names are never duplicated here).
cdef enum:
    MODE_INLINE = 0
    MODE_TASK = 1
    MODE_QUEUE = 2


cdef extern from *:
    """
    /* handler(response), called as CPython's vectorcall does it, without the checks of a
       general call site (bound methods, keywords) that a one-argument call never needs. */
    static inline PyObject* dispatch_call(PyObject* handler, PyObject* response) {
        PyObject* args[2] = {NULL, response};
        return PyObject_Vectorcall(handler, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    """
    object call_handler "dispatch_call"(object handler, object response)


cdef inline bint same_entries(list handlers, list snapshot):
    """True when both lists hold the very same objects. The pure twin's ``!=`` differs only
    for distinct entries that compare equal (two bound methods of one method of one object),
    which call the same code."""
    cdef Py_ssize_t index
    cdef Py_ssize_t count = len(handlers)
    if count != len(snapshot):
        return False
    for index in range(count):
        if <void*>handlers[index] is not <void*>snapshot[index]:
            return False
    return True


cdef inline bint is_awaitable(object value):
    return value is not None and (type(value) is CoroutineType or inspect_isawaitable(value))


@cython.final
@cython.auto_pickle(False)
cdef class Dispatcher:
    """Deliver each response to the stream's handlers (inline or as tasks) or to a queue."""

    # Its fields are declared in _dispatch_c.pxd (the compiled frame path calls dispatch).

    def __init__(
        self, mode, handlers, queue, on_handler_error, on_unhandled, *, max_pending_tasks=10_000
    ):
        mode = checked_dispatch_mode(mode)
        if not isinstance(handlers, list):
            raise TypeError(f"handlers must be a list, got {type(handlers).__name__}")
        self._mode = DISPATCH_MODES.index(mode)
        if self._mode == MODE_QUEUE and queue is None:
            raise ValueError("dispatch mode 'queue' needs a queue; got queue=None")
        limit = checked_task_limit(max_pending_tasks)
        self._max_pending_tasks = limit
        self._limit = PY_SSIZE_T_MAX if limit is None else min(limit, PY_SSIZE_T_MAX)
        self._room = None
        self._handlers = handlers
        self._reindex()
        self._queue = queue
        self._on_handler_error = on_handler_error
        self._on_unhandled = on_unhandled
        self._handler_errors = 0
        self._tasks = {}
        self._handler_done_cb = self._handler_done
        self._callback_done_cb = self._callback_done
        self._closed = False

    @property
    def mode(self):
        """The dispatch mode: ``"inline"``, ``"task"`` or ``"queue"``."""
        return DISPATCH_MODES[self._mode]

    @property
    def handler_errors(self):
        """How many handler calls raised so far."""
        return self._handler_errors

    @property
    def pending_tasks(self):
        """Handler and error-callback tasks not finished yet (task mode)."""
        return len(self._tasks)

    @property
    def max_pending_tasks(self):
        """Tracked tasks at which ``dispatch`` makes the stream wait; None: no limit."""
        return self._max_pending_tasks

    cpdef object dispatch(self, object response):
        """Deliver one response; return an awaitable the caller must await, or None."""
        cdef tuple routes
        cdef Py_ssize_t index
        cdef object handler
        cdef object result
        if self._closed:
            return None
        if self._mode == MODE_INLINE:
            routes = self._routes(response)
            while True:  # once more for each change of the list during the frame
                index = 0
                while index < len(routes):
                    if self._closed:  # a handler stopped the stream: no further call
                        return None
                    handler = routes[index]
                    index += 1
                    try:
                        result = call_handler(handler, response)
                    except Exception as exc:
                        result = self._inline_failure(exc, response)
                        if result is not None:
                            return self._resume_inline(result, response, routes, index, True)
                        continue
                    if is_awaitable(result):
                        return self._resume_inline(result, response, routes, index, False)
                if self._closed or len(self._handlers) == self._count:
                    return None
                routes = self._late_routes(response, routes)
        if self._mode == MODE_TASK:
            routes = self._routes(response)
            while True:
                for handler in routes:
                    try:
                        result = call_handler(handler, response)
                    except Exception as exc:
                        self._task_failure(exc, response)
                        continue
                    if is_awaitable(result):
                        self._track(result, response, self._handler_done_cb)
                if len(self._handlers) == self._count:
                    break
                routes = self._late_routes(response, routes)
            if len(self._tasks) >= self._limit:
                return self._wait_for_room()
            return None
        try:
            self._queue.put_nowait(response)
        except aio_QueueFull:
            return self._queue.put(response)
        return None

    cdef tuple _routes(self, object response):
        """The callables ``response`` goes to, in order (the index rebuilt if stale)."""
        cdef object key
        cdef object routes
        if not same_entries(self._handlers, self._snapshot):
            self._reindex()
        if not self._routed:
            return self._everyone
        try:
            key = (response.channel, response.market, response.event)
        except AttributeError:  # not a Response: only the unfiltered handlers match it
            key = route_key_(response)
        routes = self._table.get(key)
        if routes is None:
            if len(self._table) >= TABLE_LIMIT:
                self._table = {}
            routes = routes_for_(self._snapshot, key)
            self._table[key] = routes
        return <tuple>routes

    cdef void _reindex(self) except *:
        cdef list snapshot = list(self._handlers)
        self._snapshot = snapshot
        self._count = len(snapshot)
        self._routed = has_routes_(snapshot)
        self._everyone = tuple(snapshot)
        self._table = {}

    cdef tuple _late_routes(self, object response, tuple called):
        """The list grew while ``response`` was delivered to ``called``: the routes of the
        new list past those."""
        cdef tuple routes = self._routes(response)
        cdef Py_ssize_t start = resume_index_(routes, called)
        return routes[start:]

    @property
    def closed(self):
        """True once ``close()`` was called: responses are no longer delivered."""
        return self._closed

    def close(self):
        """Deliver nothing more; cancel tracked tasks (but the caller's own); release waiters."""
        self._closed = True
        try:
            current = aio_current_task()
        except RuntimeError:
            current = None
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._release_room()

    async def aclose(self):
        """Cancel every tracked task, wait until all of them are done, release any waiter."""
        current = aio_current_task()
        try:
            while True:
                pending = [task for task in self._tasks if task is not current]
                if not pending:
                    return
                for task in pending:
                    task.cancel()
                await aio_wait(pending)
        finally:
            self._release_room()

    cdef object _wait_for_room(self):
        if self._room is None:
            self._room = aio_get_running_loop().create_future()
        # Shielded: a cancelled waiter must not cancel the future other waiters share.
        return aio_shield(self._room)

    cdef void _release_room(self) except *:
        room = self._room
        if room is not None:
            self._room = None
            if not room.done():
                room.set_result(None)

    async def _resume_inline(
        self, pending, response, tuple routes, Py_ssize_t index, bint from_callback
    ):
        """Await ``pending``, then run the remaining handlers in order, awaiting as needed."""
        while True:
            if pending is not None:
                try:
                    await pending
                except Exception as exc:
                    if from_callback:
                        raise HandlerError_(exc, response) from exc
                    pending = self._inline_failure(exc, response)
                    from_callback = True
                    continue
                pending = None
            while index < len(routes):
                if self._closed:
                    return
                handler = routes[index]
                index += 1
                try:
                    result = call_handler(handler, response)
                except Exception as exc:
                    pending = self._inline_failure(exc, response)
                    if pending is not None:
                        from_callback = True
                        break
                    continue
                if is_awaitable(result):
                    pending = result
                    from_callback = False
                    break
            if pending is None:
                if self._closed or len(self._handlers) == self._count:
                    return
                routes = self._late_routes(response, routes)
                index = 0

    cdef object _inline_failure(self, BaseException exc, object response):
        """Count a failure and report it: return the callback's awaitable, or raise HandlerError."""
        self._handler_errors += 1
        callback = self._on_handler_error
        if callback is None:
            raise HandlerError_(exc, response) from exc
        try:
            outcome = callback(exc, response)
        except Exception as callback_exc:
            raise HandlerError_(callback_exc, response) from callback_exc
        if is_awaitable(outcome):
            return outcome
        return None

    cdef void _task_failure(self, BaseException exc, object response) except *:
        """Count a failure and report it to the callback (as a task if async) or on_unhandled."""
        self._handler_errors += 1
        callback = self._on_handler_error
        if callback is None:
            self._on_unhandled(HandlerError_(exc, response))
            return
        try:
            outcome = callback(exc, response)
        except Exception as callback_exc:
            self._on_unhandled(HandlerError_(callback_exc, response))
            return
        if is_awaitable(outcome):
            self._track(outcome, response, self._callback_done_cb)

    cdef void _track(self, object awaitable, object response, object on_done) except *:
        if type(awaitable) is CoroutineType:
            # The loop's own create_task honours a task factory the user may have set.
            task = aio_get_running_loop().create_task(awaitable)
        else:
            task = aio_ensure_future(awaitable)
        self._tasks[task] = response
        task.add_done_callback(on_done)

    def _handler_done(self, task):
        response = self._tasks.pop(task)
        if self._room is not None and len(self._tasks) < self._limit:
            self._release_room()
        if task.cancelled():
            return
        exc = task.exception()
        # KeyboardInterrupt and SystemExit already propagated out of the loop.
        if isinstance(exc, Exception):
            self._task_failure(exc, response)

    def _callback_done(self, task):
        response = self._tasks.pop(task)
        if self._room is not None and len(self._tasks) < self._limit:
            self._release_room()
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, Exception):
            self._on_unhandled(HandlerError_(exc, response))
