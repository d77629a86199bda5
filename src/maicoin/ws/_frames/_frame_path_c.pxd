# The compiled FramePath's fields, for the compiled receive loop that cimports it.

cdef class FramePath:
    cdef object _decode
    cdef object _stats
    cdef object _apply_book
    cdef object _dispatch
    cdef object _request_resync
    cdef object _on_control
    cdef object _apply_private

    cpdef object feed(self, object frame)
