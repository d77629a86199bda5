"""The per-frame path, compiled: the twin of ``_frame_path_py`` (whose docstring describes it).

Same behaviour; here ``FramePath.feed`` is a C function, every module-level lookup of the
per-frame path is cached once in a C variable, and the wall clock is read with CPython's C
clock instead of a call to ``time.time``. Its fields are declared in ``_frame_path_c.pxd`` so
the compiled receive loop calls ``feed`` directly. The feed lag is counted in C: ``T`` read
straight from its slot (no ``datetime``), the bucket found with integer operations. A plain
``StreamStats`` has its per-frame counters bumped in their slots, not through attributes (the
int itself when the slot holds its only reference, so no int is made per frame), and
the compiled book's ``apply_frame`` and dispatcher's ``dispatch`` are called in C when they
are the ones given. When ``decode`` is msgspec's own ``Response`` decoder (as a stream builds
it), trade and ticker updates are read in one pass (``_market_frames.pxi``): the same
``Response`` built from prototypes, msgspec's decode for any frame that read declines.
"""

cimport cython
from cpython.dict cimport PyDict_GetItem
from cpython.long cimport PyLong_AsSsize_t, PyLong_CheckExact
from cpython.object cimport PyObject
from cpython.time cimport time as wall_time

import maicoin.ws.feed_lag as _feed_lag
from maicoin.ws.channel import Channel
from maicoin.ws.response import Event, Response
from maicoin.ws.stats import StreamStats
from maicoin.ws._frames import rules as _rules
from maicoin.ws._frames.rules import undecodable_frame

include "_scan.pxi"
include "_market_frames.pxi"

cdef extern from *:
    int __builtin_clzll(unsigned long long value) nogil

cdef object BOOK = Channel.BOOK
cdef object USER = Channel.USER
cdef object TRADE = Channel.TRADE
cdef object TICKER = Channel.TICKER
cdef object ERROR = Event.ERROR
cdef object PONG = Event.PONG
cdef object UPDATE = Event.UPDATE
cdef object RESPONSE = Response
cdef frozenset LAG_EXCLUDED = _rules.LAG_EXCLUDED_EVENTS
# The bucket layout of maicoin.ws.feed_lag, read from it (lag_bucket below is its C form).
cdef int SUB_BITS = _feed_lag.SUB_BITS
cdef unsigned long long SUB = 1ULL << SUB_BITS
cdef long long MAX_LAG_MS = _feed_lag.MAX_LAG_MS
cdef Py_ssize_t ZERO = _feed_lag.ZERO
cdef Py_ssize_t BUCKETS = _feed_lag.BUCKETS


cdef Py_ssize_t slot_offset(object slot) except -1:
    """Where a slot descriptor keeps its value inside an instance."""
    cdef Py_ssize_t offset = member_offset(slot)
    if offset < 0:
        raise TypeError(f"expected an object slot's descriptor, got {type(slot).__name__}")
    return offset


cdef Py_ssize_t WIRE_TIME_OFFSET = slot_offset(_feed_lag.WIRE_TIME)
cdef Py_ssize_t MESSAGES_OFFSET = slot_offset(StreamStats.messages)
cdef Py_ssize_t BYTES_OFFSET = slot_offset(StreamStats.bytes)
cdef Py_ssize_t RECEIVED_OFFSET = slot_offset(StreamStats.last_receive_time)


cdef extern from *:
    """
    /* counter += by (by >= 0) for the int in a slot, as `+` would: a new int, releasing
       the old (frame_path_count's slow way). */
    static int frame_path_add(PyObject** where, Py_ssize_t by) {
        PyObject* old = *where;
        PyObject* counted;
        PyObject* step;
        if (old == NULL) {
            PyErr_SetString(PyExc_AttributeError, "a StreamStats counter was deleted");
            return -1;
        }
        step = PyLong_FromSsize_t(by);
        if (step == NULL) return -1;
        counted = PyNumber_Add(old, step);
        Py_DECREF(step);
        if (counted == NULL) return -1;
        *where = counted;
        Py_DECREF(old);
        return 0;
    }

    /* counter += by (by >= 0) for the int in a slot, in place when the slot holds the only
       reference to it: nothing else can see the int change, and the frame path then makes
       no new int per frame (two counters per frame, each an allocation and a free
       otherwise). An int of more than two digits, or one referred to from anywhere else
       (a caller holding stats.messages), gets a new int as `+` would make. Inline, so the
       usual case costs a few instructions at each call. */
    static inline int frame_path_count(PyObject** where, Py_ssize_t by) {
        PyObject* old = *where;
        if (old != NULL && Py_REFCNT(old) == 1 && PyLong_CheckExact(old) && by >= 0
            && (size_t)by < ((size_t)1 << PyLong_SHIFT)) {
            digit* digits;
            Py_ssize_t size = scan_positive_digits(old, &digits);
            if (size == 1 && (uint64_t)digits[0] + (uint64_t)by <= PyLong_MASK) {
                digits[0] += (digit)by;
                return 0;
            }
            if (size == 2) {
                uint64_t low = (uint64_t)digits[0] + (uint64_t)by;
                uint64_t high = (uint64_t)digits[1] + (low >> PyLong_SHIFT);
                if (high <= PyLong_MASK) {
                    digits[0] = (digit)(low & PyLong_MASK);
                    digits[1] = (digit)high;
                    return 0;
                }
            }
        }
        return frame_path_add(where, by);
    }

    /* *where = a float of now, reusing the float there when the slot holds its only reference. */
    static int frame_path_stamp(PyObject** where, double now) {
        PyObject* old = *where;
        PyObject* stamped;
        if (old != NULL && Py_REFCNT(old) == 1 && PyFloat_CheckExact(old)) {
            ((PyFloatObject*)old)->ob_fval = now;
            return 0;
        }
        stamped = PyFloat_FromDouble(now);
        if (stamped == NULL) return -1;
        *where = stamped;
        Py_XDECREF(old);
        return 0;
    }
    """
    int count_in_slot "frame_path_count"(PyObject** where, Py_ssize_t by) except -1
    int stamp_in_slot "frame_path_stamp"(PyObject** where, double now) except -1
    # _scan.pxi's C helper (declared here, where PyObject is known).
    PyObject** slot_address "scan_slot_address"(object instance, Py_ssize_t offset) noexcept


cdef inline Py_ssize_t magnitude(unsigned long long value) noexcept:
    cdef int exponent
    if value < SUB:
        return <Py_ssize_t>value
    exponent = 63 - __builtin_clzll(value)
    return ((exponent - SUB_BITS + 1) << SUB_BITS) + <Py_ssize_t>(
        (value >> (exponent - SUB_BITS)) & (SUB - 1)
    )


cdef inline Py_ssize_t lag_bucket(long long lag_ms) noexcept:
    if lag_ms >= 0:
        return ZERO + magnitude(<unsigned long long>min(lag_ms, MAX_LAG_MS))
    return ZERO - magnitude(<unsigned long long>min(-lag_ms, MAX_LAG_MS))


cdef object compiled_owner(object method, type owner_type, str name):
    """The object ``method`` is the bound ``name`` of, when that is an ``owner_type``; else
    None (the path then calls ``method`` as given)."""
    owner = getattr(method, "__self__", None)
    if type(owner) is owner_type and method == getattr(owner, name):
        return owner
    return None


@cython.final
@cython.auto_pickle(False)
cdef class FramePath:
    """Count, decode, keep the book and dispatch one frame (see ``_frame_path_py.FramePath``)."""

    def __init__(
        self, *, decode, stats, apply_book, dispatch, request_resync, on_control,
        apply_private=None, feed_lag=None, apply_book_frame=None,
    ):
        self._decode = decode
        self._stats = stats
        self._apply_book = apply_book
        self._dispatch = dispatch
        self._request_resync = request_resync
        self._on_control = on_control
        self._apply_private = apply_private
        self._apply_book_frame = apply_book_frame
        self._direct_stats = type(stats) is StreamStats
        self._keeper = compiled_owner(apply_book_frame, BookKeeper, "apply_frame")
        self._dispatcher = compiled_owner(dispatch, Dispatcher, "dispatch")
        self._read_market = reads_like(decode)
        self._feed_lag = feed_lag
        self._measure = feed_lag is not None
        if self._measure:
            self._lag_slots = feed_lag.slots
            self._lag_counts = feed_lag.counts

    @property
    def stats(self):
        """The counters this path keeps (see ``_frame_path_py.FramePath.stats``)."""
        return self._stats

    cpdef object feed(self, object frame):
        """Handle one frame; return an awaitable to await before the next frame, or None."""
        cdef object stats = self._stats
        cdef object response
        cdef object channel
        cdef object pending
        cdef object resync
        cdef object event
        cdef object applied = None
        cdef bint is_trade = False
        cdef double now = wall_time()
        if self._direct_stats:
            count_in_slot(slot_address(stats, MESSAGES_OFFSET), 1)
            count_in_slot(slot_address(stats, BYTES_OFFSET), len(frame))
            stamp_in_slot(slot_address(stats, RECEIVED_OFFSET), now)
        else:
            stats.messages += 1
            stats.bytes += len(frame)
            stats.last_receive_time = now
        if self._keeper is not None:
            applied = self._keeper.apply_frame(frame)
        elif self._apply_book_frame is not None:
            applied = self._apply_book_frame(frame)
        if applied is not None:
            response = applied
            channel = BOOK  # what apply_frame takes, without two attribute reads
            event = UPDATE
        elif self._read_market and (response := read_market_frame(frame, &is_trade)) is not None:
            channel = TRADE if is_trade else TICKER
            event = UPDATE
        else:
            try:
                response = self._decode(frame)
            except Exception as exc:  # whatever decoding raises, the frame alone is lost
                undecodable_frame(stats, frame, exc)
                return None
            # msgspec hands back the enum member itself for every known channel and event.
            channel = response.channel
            event = response.event
        if self._measure and channel is not None:
            self._measure_lag(response, channel, event, now)
        if channel is BOOK:
            if applied is None:  # else its book has it already
                resync = self._apply_book(response)
                if resync is not None:
                    self._request_resync(resync)
        elif channel is USER and self._apply_private is not None:
            self._apply_private(response)
        if self._dispatcher is not None:
            pending = self._dispatcher.dispatch(response)
        else:
            pending = self._dispatch(response)
        if event is ERROR or event is PONG:
            if pending is not None:
                return self._control_after(pending, response)
            self._on_control(response)
        return pending

    cdef void _measure_lag(
        self, object response, object channel, object event, double now
    ) except *:
        cdef PyObject* stamped
        cdef PyObject* known
        cdef Py_ssize_t slot
        cdef long long lag_ms
        cdef long long stamped_ms
        if type(response) is not RESPONSE or event in LAG_EXCLUDED:
            return
        # The slot itself: only an exact Response is read this way.
        stamped = <PyObject*>slot_value(response, WIRE_TIME_OFFSET)
        if stamped is NULL or not PyLong_CheckExact(<object>stamped):
            return
        known = PyDict_GetItem(self._lag_slots, channel)
        if known is NULL:
            slot = self._feed_lag.slot_for(channel)
        else:
            slot = PyLong_AsSsize_t(<object>known)
        if slot < 0:
            return
        # Cython's conversion: CPython 3.11's PyLong_AsLongLong is slow for two-digit ints.
        stamped_ms = <object>stamped
        lag_ms = <long long>(now * 1000.0) - stamped_ms
        self._lag_counts[slot * BUCKETS + lag_bucket(lag_ms)] += 1

    async def _control_after(self, pending, response):
        await pending
        self._on_control(response)
