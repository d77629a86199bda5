# The compiled BookKeeper's fields, for the compiled frame path that calls apply_frame in C.

cimport cython
from cpython.object cimport PyObject
from libc.stdint cimport int64_t


@cython.final
cdef class BookKeeper:
    cdef readonly dict books
    cdef object _stats
    cdef dict _held
    cdef Py_ssize_t _early_limit
    cdef str _last_market
    cdef object _version_int  # the int of _version_value, shared by the updates of that version
    cdef int64_t _version_value
    # The Response of the last frame apply_frame took, reused when nothing else holds it.
    cdef PyObject* _spare

    cpdef object apply_frame(self, object frame)
    cdef void _drop_spare(self) noexcept
    cdef str _market_named(self, const char* name, Py_ssize_t length)
    cdef object _hold(self, object market, object response, object last)
    cdef object _replay(self, object market, object book, object compiled)
