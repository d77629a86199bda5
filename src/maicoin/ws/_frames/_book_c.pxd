# The compiled BookKeeper's fields, for the compiled frame path that calls apply_frame in C.

cimport cython


@cython.final
cdef class BookKeeper:
    cdef readonly dict books
    cdef object _stats
    cdef dict _held
    cdef Py_ssize_t _early_limit
    cdef str _last_market

    cpdef object apply_frame(self, object frame)
    cdef str _market_named(self, const char* name, Py_ssize_t length)
    cdef object _hold(self, object market, object response, object last)
    cdef object _replay(self, object market, object book, object compiled)
