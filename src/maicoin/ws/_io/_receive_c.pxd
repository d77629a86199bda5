# The compiled PushReceiver's fields, for the compiled picows listener that cimports it.

cimport cython

from maicoin.ws._frames._frame_path_c cimport FramePath


@cython.final
cdef class PushReceiver:
    cdef FramePath _path
    cdef object _pause_reading
    cdef object _resume_reading
    cdef object _on_failure
    cdef object _on_control
    cdef object _text
    cdef object _binary
    cdef object _continuation
    cdef object _backlog
    cdef object _joiner
    cdef object _call_soon
    cdef object _new_batch_cb
    cdef Py_ssize_t _batch
    cdef Py_ssize_t _max_size
    cdef bint _draining
    cdef bint _failed
    cdef object _drain_task

    # One whole data message from the transport: refused over max_size, else handled.
    cdef void take_whole(self, object payload) except *
    cdef void _fragment(self, object kind, object fin, object payload) except *
    cdef void _too_big(self, Py_ssize_t size) except *
    cdef void _message(self, object payload) except *
    cdef void _fail(self, BaseException exc) except *
    cdef void _stop_draining(self) except *
    cdef void _start_draining(self, object pending) except *
