# The compiled FramePath's fields, for the compiled receive loop that cimports it.

from maicoin.ws._frames._book_c cimport BookKeeper
from maicoin.ws._frames._dispatch_c cimport Dispatcher

cdef class FramePath:
    cdef object _decode
    cdef object _stats
    cdef object _apply_book
    cdef object _dispatch
    cdef object _request_resync
    cdef object _on_control
    cdef object _apply_private
    cdef object _apply_book_frame
    # The compiled book and dispatcher behind apply_book_frame and dispatch, called in C.
    cdef BookKeeper _keeper
    # decode is msgspec's Response decoder: trade and ticker updates are read in one pass.
    cdef bint _read_market
    cdef Dispatcher _dispatcher
    # A plain StreamStats: its three per-frame counters are bumped in their slots.
    cdef bint _direct_stats
    # Feed lag (``maicoin.ws.feed_lag``): its counts are viewed once, never resized.
    cdef bint _measure
    cdef object _feed_lag
    cdef dict _lag_slots
    cdef unsigned long long[::1] _lag_counts

    cpdef object feed(self, object frame)
    cdef void _measure_lag(
        self, object response, object channel, object event, double now
    ) except *
