"""The per-frame path, compiled: the twin of ``_frame_path_py`` (whose docstring describes it).

Same behaviour; here ``FramePath.feed`` is a C function, every module-level lookup of the
per-frame path is cached once in a C variable, and the wall clock is read with CPython's C
clock instead of a call to ``time.time``. Its fields are declared in ``_frame_path_c.pxd`` so
the compiled receive loop calls ``feed`` directly.
"""

cimport cython
from cpython.time cimport time as wall_time

from maicoin.ws.channel import Channel
from maicoin.ws.response import Event
from maicoin.ws._frames.rules import undecodable_frame

cdef object BOOK = Channel.BOOK
cdef object USER = Channel.USER
cdef object ERROR = Event.ERROR
cdef object PONG = Event.PONG


@cython.final
@cython.auto_pickle(False)
cdef class FramePath:
    """Count, decode, keep the book and dispatch one frame (see ``_frame_path_py.FramePath``)."""

    def __init__(
        self, *, decode, stats, apply_book, dispatch, request_resync, on_control,
        apply_private=None,
    ):
        self._decode = decode
        self._stats = stats
        self._apply_book = apply_book
        self._dispatch = dispatch
        self._request_resync = request_resync
        self._on_control = on_control
        self._apply_private = apply_private

    @property
    def stats(self):
        """The counters this path keeps (see ``_frame_path_py.FramePath.stats``)."""
        return self._stats

    cpdef object feed(self, object frame):
        """Handle one frame; return an awaitable to await before the next frame, or None."""
        cdef object stats = self._stats
        cdef object response
        cdef object pending
        cdef object resync
        cdef object event
        stats.messages += 1
        stats.bytes += len(frame)
        stats.last_receive_time = wall_time()
        try:
            response = self._decode(frame)
        except Exception as exc:  # whatever decoding raises, the frame alone is lost
            undecodable_frame(stats, frame, exc)
            return None
        # msgspec hands back the enum member itself for every known channel and event.
        if response.channel is BOOK:
            resync = self._apply_book(response)
            if resync is not None:
                self._request_resync(resync)
        elif response.channel is USER and self._apply_private is not None:
            self._apply_private(response)
        pending = self._dispatch(response)
        event = response.event
        if event is ERROR or event is PONG:
            if pending is not None:
                return self._control_after(pending, response)
            self._on_control(response)
        return pending

    async def _control_after(self, pending, response):
        await pending
        self._on_control(response)
