# The compiled Dispatcher's fields, for the compiled frame path that calls its dispatch in C.

cimport cython


@cython.final
cdef class Dispatcher:
    cdef int _mode
    cdef list _handlers
    # The route index: the list as last indexed, and what was derived from it.
    cdef list _snapshot
    cdef Py_ssize_t _count
    cdef bint _routed
    cdef tuple _everyone
    cdef dict _table
    cdef object _queue
    cdef object _on_handler_error
    cdef object _on_unhandled
    cdef Py_ssize_t _handler_errors
    # Task -> the response it handles; an entry leaves when its task is done.
    cdef dict _tasks
    cdef object _max_pending_tasks
    # One check for both settings: unbounded is a limit never reached.
    cdef Py_ssize_t _limit
    # Resolved when the task count drops below the limit; shared by every waiter.
    cdef object _room
    # Bound methods made once, not once per task.
    cdef object _handler_done_cb
    cdef object _callback_done_cb
    cdef bint _closed

    cpdef object dispatch(self, object response)
    cdef tuple _routes(self, object response)
    cdef void _reindex(self) except *
    cdef tuple _late_routes(self, object response, tuple called)
    cdef object _wait_for_room(self)
    cdef void _release_room(self) except *
    cdef object _inline_failure(self, BaseException exc, object response)
    cdef void _task_failure(self, BaseException exc, object response) except *
    cdef void _track(self, object awaitable, object response, object on_done) except *
