"""Compiled local order book: one sorted C array of levels per side.

Twin of ``maicoin.ws._frames._book_py`` with the same behaviour (the tests drive both side by side);
import it through ``maicoin.ws._frames.book``. Each side is an array of slots sorted by an ascending
key with the best level last, so updates near the top move few slots: bids are keyed by
price, asks by the negated price. A slot keeps the parsed price and volume, the exact
strings as sent (or, for a level applied from a frame's bytes, their spans of that frame)
and, once read, the cached ``Level`` tuple. ``BookKeeper`` feeds the books
with book frames, reading the decoded ``Response``'s fields straight from its slots.
"""

from libc.math cimport NAN, isfinite, isnan
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memmove

cimport cython

# One Level and BookResync class, one set of result constants and one wording of the resync
# logs, whichever twin is selected.
from maicoin.ws._frames.rules import (
    APPLIED, CLEARED, EARLY_UPDATE_LIMIT, GAP, IGNORED, SNAPSHOT_EVENTS, STALE, VERSION_CHANGED,
    BookResync, Level, RESYNC_REASONS, checked_early_limit, early_overflow, malformed_frame,
    out_of_sequence,
)
import maicoin.ws._model as _wire_model
from maicoin.ws.channel import Channel
from maicoin.ws.response import Event, Response

include "_scan.pxi"

cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef struct PyTypeObject
    void incref "Py_INCREF"(PyObject* o)
    void decref "Py_DECREF"(PyObject* o)
    void xdecref "Py_XDECREF"(PyObject* o)
    void xincref "Py_XINCREF"(PyObject* o)
    bint PyUnicode_CheckExact(PyObject* o)
    bint PyUnicode_IS_ASCII(PyObject* o)
    void* PyUnicode_DATA(PyObject* o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* o)
    bint PyList_Check(PyObject* o)
    bint PyTuple_Check(PyObject* o)
    Py_ssize_t Py_SIZE(PyObject* o)
    PyObject* PyList_GET_ITEM(PyObject* o, Py_ssize_t i)
    PyObject* PyTuple_GET_ITEM(PyObject* o, Py_ssize_t i)
    list PyList_New(Py_ssize_t n)
    void PyList_SET_ITEM(list o, Py_ssize_t i, PyObject* item)
    object PyNumber_Index(object o)
    bint PyLong_CheckExact(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    double PyOS_string_to_double(
        const char* s, char** endptr, PyObject* overflow_exception
    ) except? -1.0
    object PyLong_FromLongLong(long long value)
    bint PyObject_TypeCheck(object o, PyTypeObject* t)
    void* PyMem_Realloc(void* p, size_t n)
    void PyMem_Free(void* p)


cdef extern from *:
    """
    /* tuple.__new__(type, args): the layout-safe way to build a NamedTuple instance. */
    static PyObject* book_new_tuple_subtype(PyTypeObject* type, PyObject* args) {
        return PyTuple_Type.tp_new(type, args, NULL);
    }
    """
    object new_tuple_subtype "book_new_tuple_subtype"(PyTypeObject* type, object args)


# Cached so that returning a result is no module dict lookup.
cdef object R_APPLIED = APPLIED
cdef object R_STALE = STALE
cdef object R_GAP = GAP
cdef object R_VERSION_CHANGED = VERSION_CHANGED
cdef object R_CLEARED = CLEARED
cdef object R_IGNORED = IGNORED

cdef PyTypeObject* _level_type = <PyTypeObject*>Level
cdef object _malformed_frame = malformed_frame
cdef object _out_of_sequence = out_of_sequence
cdef object _early_overflow = early_overflow
cdef object _SNAPSHOT_EVENTS = SNAPSHOT_EVENTS
cdef dict _RESYNC_REASONS = RESYNC_REASONS
cdef object _BOOK = Channel.BOOK
cdef object _UPDATE = Event.UPDATE
cdef object _SNAPSHOT = Event.SNAPSHOT
cdef object _Response = Response
cdef Py_ssize_t _INITIAL_CAPACITY = 64
# Largest mantissa that may take one more digit and stay <= 2**53 (exact as a double).
# The largest integer up to which every integer is a double exactly (2**53).
cdef uint64_t _EXACT_MANTISSA = 9007199254740992
# Longest number text of a frame's bytes parsed through a NUL-terminated copy.
cdef enum:
    _COPY_LIMIT = 127
cdef double[23] _POW10 = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]


cdef struct Slot:
    double key
    double volume
    # The texts as sent: two str, or (both NULL) spans of source, a frame's bytes or ASCII
    # str, so that a level applied from a frame makes no str until its Level is read.
    PyObject* price_text
    PyObject* volume_text
    PyObject* source
    uint32_t price_at
    uint32_t price_length
    uint32_t volume_at
    uint32_t volume_length
    PyObject* level  # cached Level, NULL until read


cdef struct Side:
    Slot* slots
    Py_ssize_t size
    Py_ssize_t capacity
    double sign  # price = key * sign


cdef int parse_decimal(PyObject* text, double* out) except -1:
    """Parse a plain non-negative decimal str into out; return 0 when it is not one.

    Grammar (same as the twin's regex): digits with an optional fraction, then an optional
    exponent. Up to 2**53 and 10**±22 the value is one correctly rounded IEEE operation
    (Clinger's fast path); anything longer goes to CPython's own correctly rounded parser,
    so the result always equals float(text).
    """
    if not PyUnicode_CheckExact(text) or not PyUnicode_IS_ASCII(text):
        return 0
    # A compact ASCII str's characters are NUL-terminated, as CPython's parser needs.
    return parse_decimal_chars(
        <const char*>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text), True, out
    )


cdef inline bint is_digit(char c) noexcept nogil:
    return c'0' <= c <= c'9'


cdef struct Decimal:
    uint64_t mantissa  # every digit, integer and fraction; may wrap past 19 digits
    int64_t exponent  # value = mantissa * 10**exponent
    Py_ssize_t digits


cdef inline Py_ssize_t mantissa_digits(
    const char* s, Py_ssize_t i, uint64_t* mantissa
) noexcept nogil:
    """Add the run of digits from s[i] to mantissa, digit by digit: where the run ends."""
    cdef unsigned int digit
    cdef uint64_t value = mantissa[0]
    while True:
        # A digit's value as unsigned: one compare tells a digit from anything else.
        digit = <unsigned char>s[i] - <unsigned int>c'0'
        if digit > 9:
            break
        value = value * 10 + digit
        i += 1
    mantissa[0] = value
    return i


cdef inline Py_ssize_t read_decimal(const char* s, Decimal* number) noexcept nogil:
    """Read the plain decimal at s (digits, an optional fraction, an optional exponent):
    how many characters it takes, or -1 when s holds none there.

    It stops at the first character that cannot continue the number, so s needs no bound
    beyond one such character after it (a str's NUL, the closing quote of a frame's string).
    """
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t fraction_start
    cdef Py_ssize_t exponent_start
    cdef int64_t exponent_part = 0
    cdef bint negative_exponent = False
    cdef uint64_t mantissa = 0
    number.exponent = 0
    i = mantissa_digits(s, 0, &mantissa)
    number.digits = i
    if s[i] == c'.':
        i += 1
        fraction_start = i
        i = mantissa_digits(s, i, &mantissa)
        number.digits += i - fraction_start
        number.exponent = fraction_start - i
    number.mantissa = mantissa
    if number.digits == 0:
        return -1
    if s[i] == c'e' or s[i] == c'E':
        i += 1
        if s[i] == c'+' or s[i] == c'-':
            negative_exponent = s[i] == c'-'
            i += 1
        exponent_start = i
        while is_digit(s[i]):
            if exponent_part < 100000:
                exponent_part = exponent_part * 10 + (s[i] - c'0')
            i += 1
        if i == exponent_start:
            return -1
        number.exponent += -exponent_part if negative_exponent else exponent_part
    return i


cdef inline bint exact_decimal(const Decimal* number, double* out) noexcept nogil:
    """The value of a number of at most 2**53 and 10**±22 (Clinger's fast path: both operands
    exact doubles, one correctly rounded operation); False for any other, left to CPython."""
    if number.digits > 19 or number.mantissa > _EXACT_MANTISSA:
        return False
    if 0 <= number.exponent <= 22:
        out[0] = <double>number.mantissa * _POW10[number.exponent]
        return True
    if -22 <= number.exponent < 0:
        out[0] = <double>number.mantissa / _POW10[-number.exponent]
        return True
    return False


cdef int parse_decimal_chars(
    const char* s, Py_ssize_t n, bint terminated, double* out
) except -1:
    """``parse_decimal`` of the n characters at s; also 0 when they are not NUL-terminated
    and too long for the copy CPython's parser would need (the caller's slow path reads them).

    s[n] must be a character that cannot continue a number (``read_decimal``).
    """
    cdef Decimal number
    cdef char[_COPY_LIMIT + 1] copy
    cdef double value
    if read_decimal(s, &number) != n:
        return 0
    if exact_decimal(&number, &value):
        out[0] = value
        return 1
    if terminated:
        value = PyOS_string_to_double(s, NULL, NULL)
    elif n <= _COPY_LIMIT:
        memcpy(copy, s, n)
        copy[n] = 0
        value = PyOS_string_to_double(copy, NULL, NULL)
    else:
        return 0
    if not isfinite(value):
        return 0
    out[0] = value
    return 1


cdef inline bint read_pair(PyObject* level, PyObject** price_text, PyObject** volume_text):
    """Borrow the two items of a [price, volume] list or tuple; False when it is not one."""
    if PyList_Check(level):
        if Py_SIZE(level) != 2:
            return False
        price_text[0] = PyList_GET_ITEM(level, 0)
        volume_text[0] = PyList_GET_ITEM(level, 1)
        return True
    if PyTuple_Check(level):
        if Py_SIZE(level) != 2:
            return False
        price_text[0] = PyTuple_GET_ITEM(level, 0)
        volume_text[0] = PyTuple_GET_ITEM(level, 1)
        return True
    return False


cdef inline PyObject* item_at(PyObject* sequence, Py_ssize_t i):
    if PyList_Check(sequence):
        return PyList_GET_ITEM(sequence, i)
    return PyTuple_GET_ITEM(sequence, i)


cdef int side_init(Side* side, double sign) except -1:
    side.slots = <Slot*>PyMem_Realloc(NULL, _INITIAL_CAPACITY * sizeof(Slot))
    if side.slots == NULL:
        raise MemoryError()
    side.capacity = _INITIAL_CAPACITY
    side.size = 0
    side.sign = sign
    return 0


cdef int side_reserve(Side* side, Py_ssize_t needed) except -1:
    """Grow the array (never drop levels) so it holds at least needed slots."""
    if needed <= side.capacity:
        return 0
    cdef Py_ssize_t capacity = side.capacity * 2
    if capacity < needed:
        capacity = needed
    cdef Slot* slots = <Slot*>PyMem_Realloc(side.slots, capacity * sizeof(Slot))
    if slots == NULL:
        raise MemoryError()
    side.slots = slots
    side.capacity = capacity
    return 0


cdef inline void hold_slot(Slot* slot) noexcept:
    """Take the references a slot copied from an entry needs (its level is not one)."""
    xincref(slot.price_text)
    xincref(slot.volume_text)
    xincref(slot.source)
    slot.level = NULL


cdef inline void release_slot(Slot* slot) noexcept:
    xdecref(slot.price_text)
    xdecref(slot.volume_text)
    xdecref(slot.source)
    xdecref(slot.level)


cdef void side_clear(Side* side) noexcept:
    cdef Py_ssize_t i
    cdef Py_ssize_t size = side.size
    side.size = 0
    for i in range(size):
        release_slot(&side.slots[i])


cdef void side_free(Side* side) noexcept:
    if side.slots != NULL:
        side_clear(side)
        PyMem_Free(side.slots)
        side.slots = NULL
        side.capacity = 0


cdef inline Py_ssize_t side_find(const Side* side, double key) noexcept:
    """Index of the first slot whose key is >= key (lower bound)."""
    cdef Py_ssize_t low = 0
    cdef Py_ssize_t count = side.size
    cdef Py_ssize_t half
    # Most deltas touch the top of the book, which is the end of the array.
    if count and key > side.slots[count - 1].key:
        return count
    # Branch-free halving (a conditional move per step): the comparisons of a search are
    # unpredictable, and a mispredicted branch per step cost more than the search itself.
    if count == 0:
        return 0
    while count > 1:
        half = count >> 1
        low = low + half if side.slots[low + half].key < key else low
        count -= half
    return low + (side.slots[low].key < key)


cdef int side_upsert(Side* side, const Slot* entry) except -1:
    """Set, replace or (volume 0) remove the level at entry's key; the slot takes its own
    references to entry's texts (borrowed from the caller)."""
    cdef Py_ssize_t i = side_find(side, entry.key)
    cdef bint found = i < side.size and side.slots[i].key == entry.key
    cdef Slot* slot
    cdef Slot old
    if entry.volume == 0.0:
        if found:
            slot = &side.slots[i]
            old = slot[0]
            memmove(slot, slot + 1, (side.size - i - 1) * sizeof(Slot))
            side.size -= 1
            release_slot(&old)
        return 0
    if found:
        slot = &side.slots[i]
        old = slot[0]
        slot[0] = entry[0]
        hold_slot(slot)
        release_slot(&old)
        return 0
    if side.size == side.capacity:
        side_reserve(side, side.size + 1)
    slot = &side.slots[i]
    memmove(slot + 1, slot, (side.size - i) * sizeof(Slot))
    slot[0] = entry[0]
    hold_slot(slot)
    side.size += 1
    return 0


cdef object side_level(Side* side, Py_ssize_t i):
    """The Level of slot i, built once and cached until the slot changes."""
    cdef Slot* slot = &side.slots[i]
    cdef Slot built
    if slot.level != NULL:
        return <object>slot.level
    built = slot[0]
    # Held for the identity check below: nothing built here can take their addresses.
    source = None if built.source == NULL else <object>built.source
    if built.source == NULL:
        price_text = <object>built.price_text
        volume_text = <object>built.volume_text
    else:
        price_text = span_text(source, built.price_at, built.price_length)
        volume_text = span_text(source, built.volume_at, built.volume_length)
    items = (built.key * side.sign, built.volume, price_text, volume_text)
    level = new_tuple_subtype(_level_type, (items,))
    # Allocating may run the garbage collector and so any finalizer, which could even change
    # this book: cache only if the slot is still the one the Level was built from.
    if i < side.size:
        slot = &side.slots[i]
        if (
            slot.level == NULL
            and slot.price_text == built.price_text
            and slot.volume_text == built.volume_text
            and slot.source == built.source
            and slot.price_at == built.price_at
            and slot.volume_at == built.volume_at
        ):
            incref(<PyObject*>level)
            slot.level = <PyObject*>level
    return level


cdef list side_best_first(Side* side, object depth):
    cdef Py_ssize_t count = side.size
    cdef Py_ssize_t i
    cdef object wanted
    cdef list result
    if depth is not None:
        wanted = PyNumber_Index(depth)
        if wanted < 0:
            raise ValueError(f"depth must be >= 0 or None, got {wanted!r}")
        if wanted < count:
            count = wanted
    result = PyList_New(count)
    for i in range(count):
        if count > side.size:  # a finalizer run by the allocations above emptied the side
            raise RuntimeError("order book changed while its levels were being read")
        level = side_level(side, side.size - 1 - i)
        incref(<PyObject*>level)
        PyList_SET_ITEM(result, i, <PyObject*>level)
    return result


cdef class OrderBook:
    """The local order book of one market, kept in sequence by the exchange's documented rules.

    Feed it the ``a``/``b``/``fi``/``li``/``v`` fields of ``book`` snapshots and updates;
    each call returns one of the result constants. While not synced (before the first
    snapshot, after a gap, a version change, an empty snapshot or :meth:`invalidate`) the
    book holds no levels and updates are ignored until the next snapshot.

    Levels are ``[price, volume]`` lists (or tuples) of ``str`` exactly as decoded from JSON:
    plain non-negative decimals such as ``"5337.30"`` or ``"1e-8"``; a volume of zero removes
    the level. A malformed level raises ``ValueError`` naming the market, the side and the
    value, and leaves the book invalidated rather than half-applied; so does an id or version
    that does not fit in 64 bits (a non-integer one is a ``TypeError``, the book untouched).
    """

    cdef str _market
    cdef bint _synced
    cdef int64_t _last_update_id
    cdef int64_t _version
    cdef Side _asks
    cdef Side _bids

    def __cinit__(self, str market not None):
        self._market = market
        self._synced = False
        self._last_update_id = 0
        self._version = 0
        side_init(&self._asks, -1.0)
        side_init(&self._bids, 1.0)

    def __dealloc__(self):
        side_free(&self._asks)
        side_free(&self._bids)

    @property
    def market(self):
        """The market this book belongs to."""
        return self._market

    @property
    def synced(self):
        """True between a non-empty snapshot and the next gap, version change or invalidation."""
        return self._synced

    @property
    def last_update_id(self):
        """The ``li`` of the last snapshot or update applied."""
        return self._last_update_id

    @property
    def version(self):
        """The ``v`` of the last snapshot applied."""
        return self._version

    def apply_snapshot(self, asks, bids, last_update_id, version):
        """Replace the whole book; return APPLIED, or CLEARED when the snapshot is empty."""
        return self._apply_snapshot(asks, bids, last_update_id, version)

    def apply_update(self, asks, bids, first_update_id, last_update_id, version):
        """Apply one delta if it is next in sequence; return the result constant.

        Levels are only examined when the update is applied (not when it is ignored,
        stale, a gap or of another version).
        """
        return self._apply_update(asks, bids, first_update_id, last_update_id, version)

    cdef object _apply_snapshot(
        self, object asks, object bids, object last_update_id, object version
    ):
        cdef int64_t li = self._update_id(last_update_id, "last_update_id")
        cdef int64_t v = self._update_id(version, "version")
        self._clear()
        self._load_snapshot_side(&self._asks, asks, "asks")
        self._load_snapshot_side(&self._bids, bids, "bids")
        self._last_update_id = li
        self._version = v
        if self._asks.size == 0 and self._bids.size == 0:
            return R_CLEARED
        self._synced = True
        return R_APPLIED

    cdef object _apply_update(
        self, object asks, object bids, object first_update_id, object last_update_id,
        object version,
    ):
        cdef int64_t fi = self._update_id(first_update_id, "first_update_id")
        cdef int64_t li = self._update_id(last_update_id, "last_update_id")
        cdef int64_t v = self._update_id(version, "version")
        if not self._synced:
            return R_IGNORED
        if v != self._version:
            self._clear()
            return R_VERSION_CHANGED
        if li <= self._last_update_id:
            return R_STALE
        # fi > local li + 1, written so that it cannot overflow at the int64 limit.
        if fi > self._last_update_id and fi - 1 > self._last_update_id:
            self._clear()
            return R_GAP
        self._apply_levels(&self._asks, asks, "asks")
        self._apply_levels(&self._bids, bids, "bids")
        self._last_update_id = li
        return R_APPLIED

    def invalidate(self):
        """Mark the book unsynced and drop its levels until the next snapshot."""
        self._clear()

    cdef void _clear(self) noexcept:
        self._synced = False
        side_clear(&self._asks)
        side_clear(&self._bids)

    cdef int64_t _update_id(self, object value, str name) except? -1:
        """An id or version as int64; like operator.index, refuses floats instead of truncating."""
        cdef int overflow = 0
        if not PyLong_CheckExact(value):
            value = PyNumber_Index(value)
        cdef long long result = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow:
            self._reject(f"{name} {value} does not fit in 64 bits")
        return result

    cdef int _check_levels(self, object levels, str side_name) except -1:
        if not PyList_Check(<PyObject*>levels) and not PyTuple_Check(<PyObject*>levels):
            self._reject(f"expected a list of levels, got {levels!r}", side_name)
        return 0

    cdef int _read_level(
        self, PyObject* level, str side_name, double* price, double* volume,
        PyObject** price_text, PyObject** volume_text,
    ) except -1:
        if not read_pair(level, price_text, volume_text):
            self._reject(f"level {<object>level!r} is not a [price, volume] pair", side_name)
        if not parse_decimal(price_text[0], price):
            self._reject(
                f"price {<object>price_text[0]!r} is not a valid decimal string", side_name
            )
        if not parse_decimal(volume_text[0], volume):
            self._reject(
                f"volume {<object>volume_text[0]!r} is not a valid decimal string", side_name
            )
        return 0

    cdef int _apply_levels(self, Side* side, object levels, str side_name) except -1:
        if levels is None:
            return 0
        self._check_levels(levels, side_name)
        cdef PyObject* sequence = <PyObject*>levels
        cdef double price
        cdef Slot entry
        cdef Py_ssize_t i = 0
        entry.source = NULL
        # Size re-read every step: nothing here runs Python code, but stay safe if it did.
        while i < Py_SIZE(sequence):
            self._read_level(
                item_at(sequence, i), side_name, &price, &entry.volume, &entry.price_text,
                &entry.volume_text,
            )
            entry.key = price * side.sign
            side_upsert(side, &entry)
            i += 1
        return 0

    cdef int _load_snapshot_side(self, Side* side, object levels, str side_name) except -1:
        """Fill an empty side. Levels sent best first need a plain reversal, worst first
        (MAX's snapshot bids) none; any other order is replayed level by level."""
        if levels is None:
            return 0
        self._check_levels(levels, side_name)
        cdef PyObject* sequence = <PyObject*>levels
        cdef PyObject* price_text
        cdef PyObject* volume_text
        cdef double price
        cdef double volume
        cdef Py_ssize_t i = 0
        cdef Py_ssize_t kept
        cdef bint descending = True
        cdef bint ascending = True
        cdef bint has_zero = False
        cdef Slot* slot
        cdef Slot swap
        side_reserve(side, Py_SIZE(sequence))
        while i < Py_SIZE(sequence):
            self._read_level(
                item_at(sequence, i), side_name, &price, &volume, &price_text, &volume_text
            )
            side_reserve(side, side.size + 1)
            slot = &side.slots[side.size]
            slot.key = price * side.sign
            slot.volume = volume
            incref(price_text)
            slot.price_text = price_text
            incref(volume_text)
            slot.volume_text = volume_text
            slot.source = NULL
            slot.level = NULL
            if side.size:
                if not (slot.key < side.slots[side.size - 1].key):
                    descending = False
                if not (slot.key > side.slots[side.size - 1].key):
                    ascending = False
            if volume == 0.0:
                has_zero = True
            side.size += 1
            i += 1
        if descending:
            for i in range(side.size // 2):
                swap = side.slots[i]
                side.slots[i] = side.slots[side.size - 1 - i]
                side.slots[side.size - 1 - i] = swap
        elif not ascending:
            # Unordered or repeated prices: replay the levels one by one, later ones winning.
            side_clear(side)
            return self._apply_levels(side, levels, side_name)
        if has_zero:
            kept = 0
            for i in range(side.size):
                if side.slots[i].volume == 0.0:
                    release_slot(&side.slots[i])
                else:
                    side.slots[kept] = side.slots[i]
                    kept += 1
            side.size = kept
        return 0

    cdef int _reject(self, str problem, str side_name=None) except -1:
        self._clear()
        where = self._market if side_name is None else f"{self._market} {side_name}"
        raise ValueError(f"{where}: {problem}")

    def __len__(self):
        return self._asks.size + self._bids.size

    @property
    def bid_count(self):
        """Number of bid levels."""
        return self._bids.size

    @property
    def ask_count(self):
        """Number of ask levels."""
        return self._asks.size

    @property
    def best_bid(self):
        """The highest bid, or None when there is none."""
        if self._bids.size == 0:
            return None
        return side_level(&self._bids, self._bids.size - 1)

    @property
    def best_ask(self):
        """The lowest ask, or None when there is none."""
        if self._asks.size == 0:
            return None
        return side_level(&self._asks, self._asks.size - 1)

    @property
    def best_bid_price(self):
        """The highest bid price, or None."""
        if self._bids.size == 0:
            return None
        return self._bids.slots[self._bids.size - 1].key

    @property
    def best_ask_price(self):
        """The lowest ask price, or None."""
        if self._asks.size == 0:
            return None
        return -self._asks.slots[self._asks.size - 1].key

    def bids(self, depth=None):
        """The best ``depth`` bids (all when None), best first, as a new list (a copy)."""
        return side_best_first(&self._bids, depth)

    def asks(self, depth=None):
        """The best ``depth`` asks (all when None), best first, as a new list (a copy)."""
        return side_best_first(&self._asks, depth)

    @property
    def spread(self):
        """Best ask minus best bid, or None when a side is empty."""
        if self._bids.size == 0 or self._asks.size == 0:
            return None
        return -self._asks.slots[self._asks.size - 1].key - self._bids.slots[self._bids.size - 1].key

    @property
    def mid(self):
        """Midpoint of best bid and best ask, or None when a side is empty."""
        if self._bids.size == 0 or self._asks.size == 0:
            return None
        return (
            self._bids.slots[self._bids.size - 1].key - self._asks.slots[self._asks.size - 1].key
        ) / 2.0

    def __repr__(self):
        return (
            f"OrderBook(market={self._market!r}, synced={bool(self._synced)}, "
            f"li={self._last_update_id}, v={self._version}, "
            f"best_bid={_describe(self.best_bid)}, best_ask={_describe(self.best_ask)})"
        )


cdef str _describe(object level):
    return "None" if level is None else f"{level.price_text} x {level.volume_text}"


# ---------------------------------------------------------------------------------------
# Book updates in one pass over the frame's bytes (BookKeeper.apply_frame).
#
# The common frame, an in-sequence update of a synced book, is read here instead of by
# msgspec: the scanner accepts only the plain shape the exchange sends (the keys c, e, M,
# a, b, T, fi, li, v in any order, strings without escapes, integers without fraction or
# exponent), parses prices and volumes straight from the bytes and applies them, and the
# Response handed on keeps each side's levels as the frame's bytes until they are read.
# Anything else, and any frame the sequencing rule would not simply apply, is left to
# the full decode and BookKeeper.apply, so what this path accepts is exactly what they do.

cdef enum:
    _MAX_FRAME_LEVELS = 64  # more levels in one update go through the full decode
    _MAX_SPAN_FRAME = 0xFFFFFFFF  # the longest frame whose spans a Slot can keep
    _KEY_C = 1
    _KEY_E = 2
    _KEY_M = 4
    _KEY_A = 8
    _KEY_B = 16
    _KEY_T = 32
    _KEY_FI = 64
    _KEY_LI = 128
    _KEY_V = 256
    _KEYS_REQUIRED = 1 | 2 | 4 | 32 | 64 | 128 | 256


# A one-character key's bit (0 for a key the scanner does not take).
cdef unsigned int[256] _BOOK_KEYS
_BOOK_KEYS[:] = [0] * 256
_BOOK_KEYS[ord("c")] = _KEY_C
_BOOK_KEYS[ord("e")] = _KEY_E
_BOOK_KEYS[ord("M")] = _KEY_M
_BOOK_KEYS[ord("a")] = _KEY_A
_BOOK_KEYS[ord("b")] = _KEY_B
_BOOK_KEYS[ord("T")] = _KEY_T
_BOOK_KEYS[ord("v")] = _KEY_V


cdef struct FrameLevel:
    Py_ssize_t price_start
    Py_ssize_t price_end
    Py_ssize_t volume_start
    Py_ssize_t volume_end
    double price
    double volume


cdef struct BookFrame:
    unsigned int seen
    Span market
    Py_ssize_t asks_start  # the side's array, '[' to just past ']'; -1 when absent
    Py_ssize_t asks_end
    Py_ssize_t bids_start
    Py_ssize_t bids_end
    Py_ssize_t ask_count  # levels[0:ask_count] are asks, the rest bids
    Py_ssize_t level_count
    bint inexact  # a level's number past the exact fast path: NaN until CPython parses it
    int64_t created_at
    int64_t first_update_id
    int64_t last_update_id
    int64_t version
    FrameLevel[_MAX_FRAME_LEVELS] levels


cdef inline Py_ssize_t number_then(
    const char* s, Py_ssize_t i, Py_ssize_t n, Py_ssize_t* start, Py_ssize_t* end,
    double* value, BookFrame* frame, char follower
) noexcept nogil:
    """s[i] opens a string of a plain decimal that follower follows: keep its span and value
    (NaN, and the frame marked inexact, past the exact fast path) and return the index past
    the follower and its spaces, or -1 when the text is anything else.

    The number is read as the string is scanned: a decimal's characters are plain ones.
    """
    cdef Decimal number
    cdef Py_ssize_t length
    if i >= n or s[i] != c'"':
        return -1
    start[0] = i + 1
    length = read_decimal(s + i + 1, &number)
    if length < 0 or s[i + 1 + length] != c'"':
        return -1
    i += 1 + length
    end[0] = i
    if not exact_decimal(&number, value):
        value[0] = NAN
        frame.inexact = True
    i = skip_space(s, i + 1)
    if i >= n or s[i] != follower:
        return -1
    return skip_space(s, i + 1)


cdef inline Py_ssize_t levels_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, BookFrame* frame
) noexcept nogil:
    """s[i] opens a side's array of [price, volume] pairs of decimal strings: keep each
    pair's spans and values and return the index past the array, or -1 when it is anything
    else."""
    cdef FrameLevel* level
    i = skip_space(s, i + 1)
    if i < n and s[i] == c']':
        return i + 1
    while True:
        if i >= n or s[i] != c'[' or frame.level_count == _MAX_FRAME_LEVELS:
            return -1
        level = &frame.levels[frame.level_count]
        i = number_then(
            s, skip_space(s, i + 1), n, &level.price_start, &level.price_end, &level.price,
            frame, c','
        )
        if i < 0:
            return -1
        i = number_then(
            s, i, n, &level.volume_start, &level.volume_end, &level.volume, frame, c']'
        )
        if i < 0:
            return -1
        frame.level_count += 1
        if i < n and s[i] == c',':
            i = skip_space(s, i + 1)
        elif i < n and s[i] == c']':
            return i + 1
        else:
            return -1


# A book update's first members as the exchange writes them (head_end).
cdef extern from *:
    """
    static const char book_update_head[] = "{\\"c\\":\\"book\\",\\"e\\":\\"update\\",\\"M\\":\\"";
    """
    const char[31] _UPDATE_HEAD "book_update_head"

# In _UPDATE_HEAD: the characters up to c's value ({"c":"), then the value and its quote.
cdef enum:
    _CHANNEL_START = 6
    _CHANNEL_LENGTH = 5


cdef bint scan_book_update(const char* s, Py_ssize_t n, BookFrame* frame) noexcept nogil:
    """Read a book update of the plain shape into frame; False for any other document."""
    cdef Py_ssize_t i
    cdef Span name
    cdef Py_ssize_t value_end
    cdef unsigned int key
    cdef int64_t* number
    cdef bint closed = False
    frame.seen = 0
    frame.level_count = 0
    frame.inexact = False
    frame.ask_count = 0
    frame.asks_start = -1
    frame.bids_start = -1
    i = head_end(s, n, _UPDATE_HEAD, sizeof(_UPDATE_HEAD) - 1)
    if i >= 0:
        # c, e and M's opening quote as the exchange writes them: the loop goes on after M.
        i = head_member_end(s, i, n, &frame.market, &closed)
        if i < 0 or closed:
            return False  # closed: the required keys are missing
        frame.seen = _KEY_C | _KEY_E | _KEY_M
    elif (
        n > _CHANNEL_START + _CHANNEL_LENGTH
        and memcmp(s, _UPDATE_HEAD, _CHANNEL_START) == 0
        and memcmp(s + _CHANNEL_START, _UPDATE_HEAD + _CHANNEL_START, _CHANNEL_LENGTH) != 0
    ):
        # Another channel, written as the exchange writes it (a trade, a ticker): the key
        # loop would read c's value and decline it all the same.
        return False
    else:
        i = object_start(s, skip_space(s, 0), n)
        if i < 0:
            return False
    while True:
        i = key_end(s, i, n, &name)
        if i < 0 or i >= n:
            return False
        number = NULL
        if name.end - name.start == 1:
            key = _BOOK_KEYS[<unsigned char>s[name.start]]
            if key == _KEY_T:
                number = &frame.created_at
            elif key == _KEY_V:
                number = &frame.version
        elif span_is(s, name.start, name.end, b"fi", 2):
            key = _KEY_FI
            number = &frame.first_update_id
        elif span_is(s, name.start, name.end, b"li", 2):
            key = _KEY_LI
            number = &frame.last_update_id
        else:
            key = 0
        if key == 0 or frame.seen & key:
            return False  # another key, or one given twice: the full decode's business
        frame.seen |= key
        if number != NULL:
            value_end = plain_int_end(s, i, n, number)
        elif key == _KEY_A or key == _KEY_B:
            if s[i] != c'[':
                return False
            if key == _KEY_A:
                if frame.bids_start >= 0:
                    return False  # levels are kept asks first, as they are applied
                frame.asks_start = i
            else:
                frame.ask_count = frame.level_count
                frame.bids_start = i
            value_end = levels_end(s, i, n, frame)
            if key == _KEY_A:
                frame.asks_end = value_end
                frame.ask_count = frame.level_count
            else:
                frame.bids_end = value_end
        else:
            if s[i] != c'"':
                return False
            value_end = plain_string_end(s, i)
            if value_end < 0:
                return False
            if key == _KEY_C:
                if not span_is(s, i + 1, value_end, b"book", 4):
                    return False
            elif key == _KEY_E:
                if not span_is(s, i + 1, value_end, b"update", 6):
                    return False
            else:
                frame.market.start = i + 1
                frame.market.end = value_end
            value_end += 1
        if value_end < 0:
            return False
        i = member_end(s, value_end, n, &closed)
        if i < 0:
            return False
        if closed:
            break
    if skip_space(s, i) != n or (frame.seen & _KEYS_REQUIRED) != _KEYS_REQUIRED:
        return False
    return MIN_UNIX_MS_C <= frame.created_at <= MAX_UNIX_MS_C


cdef object span_text(object frame, uint32_t at, uint32_t length):
    """The str of a span of a frame frame_chars reads (checked by the scanner: ASCII)."""
    cdef const char* chars = NULL
    cdef Py_ssize_t size = 0
    frame_chars(frame, &chars, &size)
    return ascii_text(chars + at, length)


@cython.final
@cython.freelist(8)
@cython.no_gc
@cython.auto_pickle(False)
cdef class LazyLevels:
    """One side's levels of a book update read by ``BookKeeper.apply_frame``, kept as the
    frame's text until first read, then as the ``list[list[str]]`` msgspec would have built.

    It stands in a ``Response``'s ``asks``/``bids`` slot only until the field is read (the
    field's descriptor swaps in the list). Whatever reads the slot itself (msgspec's
    ``structs.asdict``, hence pickling and ``model_copy``) sees an object that compares,
    prints and pickles as that list.
    """

    cdef object _frame
    cdef Py_ssize_t _start
    cdef Py_ssize_t _end
    cdef list _levels

    def __init__(self, object frame, Py_ssize_t start, Py_ssize_t end):
        cdef const char* chars
        cdef Py_ssize_t size
        cdef BookFrame scanned
        scanned.level_count = 0
        scanned.inexact = False
        # Only what the scanner takes: a span of [price, volume] pairs of decimal strings.
        if (
            not frame_chars(frame, &chars, &size)
            or not 0 <= start < end <= size
            or chars[start] != c'['
            or levels_end(chars, start, size, &scanned) != end
        ):
            raise ValueError("LazyLevels needs the span of a frame's levels")
        self._frame = frame
        self._start = start
        self._end = end
        self._levels = None

    cdef list levels(self):
        """The levels as a list of [price, volume] lists of str (built once)."""
        if self._levels is None:
            self._levels = self._build()
        return self._levels

    cdef list _build(self):
        # The span was checked by the scanner: pairs of decimal strings, no escapes, so each
        # string is the text between two quotes.
        cdef const char* s = NULL
        cdef Py_ssize_t n = 0
        if not frame_chars(self._frame, &s, &n):  # __init__ took only what it can read
            raise TypeError(f"LazyLevels cannot read a frame of type {type(self._frame).__name__}")
        cdef Py_ssize_t i = self._start
        cdef Py_ssize_t end = self._end
        cdef Py_ssize_t open_at
        cdef list result = []
        cdef list pair = None
        while i < end:
            if s[i] == c'"':
                open_at = i + 1
                i = open_at
                while s[i] != c'"':
                    i += 1
                if pair is None:
                    pair = [ascii_text(s + open_at, i - open_at)]
                else:
                    pair.append(ascii_text(s + open_at, i - open_at))
                    result.append(pair)
                    pair = None
            i += 1
        return result

    def __eq__(self, other):
        if isinstance(other, LazyLevels):
            other = (<LazyLevels>other).levels()
        return self.levels() == other

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __len__(self):
        return len(self.levels())

    def __iter__(self):
        return iter(self.levels())

    def __getitem__(self, index):
        return self.levels()[index]

    def __repr__(self):
        return repr(self.levels())

    def __reduce__(self):
        return (list, (self.levels(),))


cdef object side_levels(object frame, Py_ssize_t start, Py_ssize_t end, Py_ssize_t count):
    """A scanned side for its slot: a new empty list when it has no level, else LazyLevels
    over its span (made without __init__'s checks: the scanner's spans are sound)."""
    cdef LazyLevels lazy
    if count == 0:
        return []
    lazy = LazyLevels.__new__(LazyLevels)
    lazy._frame = frame
    lazy._start = start
    lazy._end = end
    return lazy


cdef int put_side_levels(
    object response, Py_ssize_t offset, object frame, Py_ssize_t start, Py_ssize_t end,
    Py_ssize_t count,
) except -1:
    """Put a scanned side in its Response slot: the LazyLevels there renewed over the new
    span when the slot alone holds it (a renewed Response's), else side_levels' new one."""
    cdef PyObject* held = <PyObject*>slot_value(response, offset)
    cdef LazyLevels lazy
    if count and held != NULL and scan_refcount(held) == 1 and type(<object>held) is LazyLevels:
        lazy = <LazyLevels>held
        # Releasing the old frame (an exact bytes or str) or a built list runs no code.
        lazy._frame = frame
        lazy._start = start
        lazy._end = end
        lazy._levels = None
        return 0
    set_slot(response, offset, side_levels(frame, start, end, count))
    return 0


cdef inline object settle_levels(object value):
    """A slot's levels as a list: a LazyLevels built, anything else as it is."""
    if type(value) is LazyLevels:
        return (<LazyLevels>value).levels()
    return value


@cython.final
@cython.auto_pickle(False)
cdef class LevelsField:
    """``Response.asks``/``Response.bids``: the slot's value, a ``LazyLevels`` built into
    its list (and put in the slot in its place) on first read."""

    cdef readonly object member
    cdef Py_ssize_t _offset

    def __cinit__(self, object member):
        self._offset = member_offset(member)
        if self._offset < 0:
            raise TypeError(f"expected an object slot's descriptor, got {member!r}")
        self.member = member

    def __get__(self, instance, owner):
        cdef PyObject* value
        if instance is None:
            return self
        if not PyObject_TypeCheck(instance, <PyTypeObject*>_Response):
            return self.member.__get__(instance, owner)  # its TypeError
        value = <PyObject*>slot_value(instance, self._offset)
        if value == NULL:
            return self.member.__get__(instance, owner)  # its AttributeError
        if type(<object>value) is not LazyLevels:
            return <object>value
        levels = (<LazyLevels>value).levels()
        self.member.__set__(instance, levels)
        return levels

    def __set__(self, instance, value):
        self.member.__set__(instance, value)

    def __delete__(self, instance):
        self.member.__delete__(instance)


cdef object _levels_member(str name):
    descriptor = Response.__dict__[name]
    if isinstance(descriptor, LevelsField):
        return (<LevelsField>descriptor).member
    return descriptor


cdef object _ASKS_MEMBER = _levels_member("asks")
cdef object _BIDS_MEMBER = _levels_member("bids")
setattr(Response, "asks", LevelsField(_ASKS_MEMBER))
setattr(Response, "bids", LevelsField(_BIDS_MEMBER))


# Slot offsets of the Response fields a book frame uses; -1 when msgspec ever stores one
# differently, and then every field is read as an attribute.
cdef Py_ssize_t _slot_of(str name):
    descriptor = Response.__dict__.get(name)
    if isinstance(descriptor, LevelsField):
        descriptor = (<LevelsField>descriptor).member
    elif name == "created_at":
        descriptor = _wire_model.wire_slot(Response, name)
    return -1 if descriptor is None else member_offset(descriptor)


cdef Py_ssize_t _MARKET = _slot_of("market")
cdef Py_ssize_t _EVENT = _slot_of("event")
cdef Py_ssize_t _ASKS = _slot_of("asks")
cdef Py_ssize_t _BIDS = _slot_of("bids")
cdef Py_ssize_t _FIRST_UPDATE_ID = _slot_of("first_update_id")
cdef Py_ssize_t _LAST_UPDATE_ID = _slot_of("last_update_id")
cdef Py_ssize_t _VERSION = _slot_of("version")
cdef Py_ssize_t _CREATED_AT = _slot_of("created_at")
cdef bint _SLOTS_KNOWN = min(
    _MARKET, _EVENT, _ASKS, _BIDS, _FIRST_UPDATE_ID, _LAST_UPDATE_ID, _VERSION, _CREATED_AT
) >= 0
# Every Response apply_frame hands on starts as a copy of this one: channel and event set.
cdef object _UPDATE_PROTOTYPE = Response._construct(
    {"channel": _BOOK, "event": _UPDATE, "created_at": 0}
)
cdef Prototype _UPDATE_COPY
bind_prototype(&_UPDATE_COPY, _UPDATE_PROTOTYPE, len(Response.__struct_fields__))


# The fields apply_frame sets for every frame: a renewal leaves them, and their ints and
# LazyLevels are renewed in place.
cdef uint64_t _SET_FOR_EVERY_FRAME = 0
# What a frame without "a" or "b" leaves in that field, as the decode does: its default.
cdef object _ASKS_DEFAULT = _UPDATE_PROTOTYPE.asks
cdef object _BIDS_DEFAULT = _UPDATE_PROTOTYPE.bids
if _SLOTS_KNOWN:
    _SET_FOR_EVERY_FRAME = (
        slot_bit(_MARKET) | slot_bit(_ASKS) | slot_bit(_BIDS) | slot_bit(_CREATED_AT)
        | slot_bit(_FIRST_UPDATE_ID) | slot_bit(_LAST_UPDATE_ID) | slot_bit(_VERSION)
    )


cdef inline object read_field(object response, bint direct, Py_ssize_t offset, str name):
    """``getattr(response, name)``, from the slot itself when response is exactly a Response."""
    cdef PyObject* value
    if direct:
        value = <PyObject*>slot_value(response, offset)
        if value != NULL:
            return settle_levels(<object>value)
    return getattr(response, name)


cdef inline int apply_frame_level(Side* side, object frame, FrameLevel* level) except -1:
    """side_upsert of a scanned level, its texts kept as their spans of the frame."""
    cdef Slot entry
    entry.key = level.price * side.sign
    entry.volume = level.volume
    entry.price_text = NULL
    entry.volume_text = NULL
    entry.source = <PyObject*>frame
    entry.price_at = <uint32_t>level.price_start
    entry.price_length = <uint32_t>(level.price_end - level.price_start)
    entry.volume_at = <uint32_t>level.volume_start
    entry.volume_length = <uint32_t>(level.volume_end - level.volume_start)
    return side_upsert(side, &entry)


@cython.final
@cython.auto_pickle(False)
cdef class BookKeeper:
    """One ``OrderBook`` per subscribed book market, fed with every book frame.

    An update for a book that waits for its snapshot (before the first one, after a
    reconnect, a resync or an empty snapshot) is held, up to ``early_limit`` per market:
    on large subscribes the exchange can send a market's update before its snapshot. When
    the snapshot comes, the held updates it covers (``li`` <= its ``li``) are dropped and
    the rest applied by the sequencing rule, so such a race needs no resync. One update
    more than the limit drops the held ones and asks for a resync (``"early_overflow"``).
    Holding changes only the book: the stream hands every frame to its handlers as it
    arrives, a held update included.
    """

    # Its fields are declared in _book_c.pxd (the compiled frame path calls apply_frame).

    def __init__(self, stats, early_limit=EARLY_UPDATE_LIMIT):
        self.books = {}
        self._stats = stats
        self._early_limit = checked_early_limit(early_limit)
        self._held = {}
        self._version_int = None
        self._version_value = 0

    def __dealloc__(self):
        self._drop_spare()

    cdef void _drop_spare(self) noexcept:
        """Let the Response kept for reuse go (and the frame its levels hold)."""
        cdef PyObject* spare = self._spare
        self._spare = NULL
        xdecref(spare)

    @property
    def early_limit(self):
        """Updates held per market while its book waits for a snapshot."""
        return self._early_limit

    def held(self, market):
        """How many updates of ``market`` wait for its snapshot."""
        held = self._held.get(market)
        return 0 if held is None else len(<list>held)

    def track(self, sub):
        """Keep a book for a ``book`` subscription's market (an existing one stays)."""
        if sub.channel == _BOOK and sub.market and sub.market not in self.books:
            self.books[sub.market] = OrderBook(sub.market)

    def untrack(self, sub):
        """Drop the book of a ``book`` subscription's market, and its held updates."""
        if sub.channel == _BOOK and sub.market:
            self.books.pop(sub.market, None)
            self._held.pop(sub.market, None)

    def invalidate_all(self):
        """A new connection: every book waits for its new snapshot; held updates go."""
        self._held.clear()
        self._drop_spare()
        for book in self.books.values():
            book.invalidate()

    def apply(self, response):
        """Apply a book frame; return a resync request when the book became invalid."""
        cdef bint direct = _SLOTS_KNOWN and type(response) is _Response
        cdef bint update
        cdef OrderBook ours = None
        market = read_field(response, direct, _MARKET, "market")
        if market is None:
            return None
        book = self.books.get(market)
        if book is None:
            return None
        if type(book) is OrderBook:
            ours = <OrderBook>book
            last = ours._last_update_id
        else:  # a book put into ``books`` by hand: driven through its Python methods
            last = book.last_update_id
        event = read_field(response, direct, _EVENT, "event")
        if event is _UPDATE or (event is not _SNAPSHOT and event == "update"):
            update = True
        elif event is _SNAPSHOT or event in _SNAPSHOT_EVENTS:
            update = False
        else:
            return None
        if update and not (ours._synced if ours is not None else book.synced):
            return self._hold(market, response, last)
        asks = read_field(response, direct, _ASKS, "asks")
        bids = read_field(response, direct, _BIDS, "bids")
        if update:
            fi = read_field(response, direct, _FIRST_UPDATE_ID, "first_update_id") or 0
        li = read_field(response, direct, _LAST_UPDATE_ID, "last_update_id") or 0
        version = read_field(response, direct, _VERSION, "version") or 0
        try:
            if not update:
                if ours is not None:
                    ours._apply_snapshot(asks, bids, li, version)
                else:
                    book.apply_snapshot(asks, bids, li, version)
                if market in self._held:
                    return self._replay(market, book, ours)
                return None
            if ours is not None:
                result = ours._apply_update(asks, bids, fi, li, version)
            else:
                result = book.apply_update(asks, bids, fi, li, version)
        except ValueError as exc:
            return _malformed_frame(self._stats, market, last, exc)
        if result is R_APPLIED:
            return None
        reason = _RESYNC_REASONS.get(result)
        if reason is None:
            return None
        return _out_of_sequence(self._stats, market, reason, last, response)

    cpdef object apply_frame(self, object frame):
        """Apply a book update straight from its bytes (or ASCII str); return its Response.

        Only the plain, in-sequence update of a synced book is taken: for any other frame
        (another channel or event, a shape or number the scanner does not read, a book that
        waits, a gap) nothing changes and None is returned, for the full decode and
        ``apply``. The Response equals the one msgspec decodes from the same frame; its
        ``asks`` and ``bids`` are built from the frame when first read.
        """
        cdef const char* s
        cdef Py_ssize_t n
        cdef BookFrame parsed
        cdef OrderBook ours
        cdef FrameLevel* level
        cdef Py_ssize_t i
        cdef Py_ssize_t bid_count
        # Spans are kept as 32-bit offsets: a longer frame (never a real one) goes the full way.
        if not _SLOTS_KNOWN or not frame_chars(frame, &s, &n) or n > _MAX_SPAN_FRAME:
            return None
        if not scan_book_update(s, n, &parsed):
            return None
        market = self._market_named(s + parsed.market.start, parsed.market.end - parsed.market.start)
        book = self.books.get(market)
        if type(book) is not OrderBook:
            return None
        ours = <OrderBook>book
        # The next frame's name is then the book's own, the dict's key when track put it
        # there: that lookup stops at the identity check instead of comparing characters.
        if ours._market is not market and ours._market == market:
            self._last_market = ours._market
        # The sequencing rule's APPLIED case (OrderBook._apply_update); the others go the
        # full way, which also logs and counts them.
        if (
            not ours._synced
            or parsed.version != ours._version
            or parsed.last_update_id <= ours._last_update_id
            or (
                parsed.first_update_id > ours._last_update_id
                and parsed.first_update_id - 1 > ours._last_update_id
            )
        ):
            return None
        # The scanner read every number within the exact fast path; CPython parses the rest
        # before the book is touched (one it cannot read leaves the frame to the full path).
        if parsed.inexact:
            for i in range(parsed.level_count):
                level = &parsed.levels[i]
                if (
                    isnan(level.price) and parse_decimal_chars(
                        s + level.price_start, level.price_end - level.price_start, False,
                        &level.price,
                    ) != 1
                ) or (
                    isnan(level.volume) and parse_decimal_chars(
                        s + level.volume_start, level.volume_end - level.volume_start, False,
                        &level.volume,
                    ) != 1
                ):
                    return None
        for i in range(parsed.level_count):
            level = &parsed.levels[i]
            apply_frame_level(&ours._asks if i < parsed.ask_count else &ours._bids, frame, level)
        ours._last_update_id = parsed.last_update_id
        response = renew_prototype(&_UPDATE_COPY, &self._spare, _SET_FOR_EVERY_FRAME)
        set_slot(response, _MARKET, market)
        if parsed.asks_start >= 0:
            put_side_levels(
                response, _ASKS, frame, parsed.asks_start, parsed.asks_end, parsed.ask_count
            )
        else:
            set_slot(response, _ASKS, _ASKS_DEFAULT)
        if parsed.bids_start >= 0:
            bid_count = parsed.level_count - parsed.ask_count
            put_side_levels(
                response, _BIDS, frame, parsed.bids_start, parsed.bids_end, bid_count
            )
        else:
            set_slot(response, _BIDS, _BIDS_DEFAULT)
        renew_int(response, _CREATED_AT, parsed.created_at)
        # Equal values share one int: most updates cover one id (fi == li), and a book's
        # version stays the same from snapshot to snapshot. A shared li is let go by fi first,
        # so that li's slot holds it alone and renews it in place.
        if slot_value(response, _FIRST_UPDATE_ID) == slot_value(response, _LAST_UPDATE_ID):
            set_slot(response, _FIRST_UPDATE_ID, None)
        renew_int(response, _LAST_UPDATE_ID, parsed.last_update_id)
        if parsed.first_update_id == parsed.last_update_id:
            set_slot(response, _FIRST_UPDATE_ID, <object>slot_value(response, _LAST_UPDATE_ID))
        else:
            renew_int(response, _FIRST_UPDATE_ID, parsed.first_update_id)
        if self._version_int is None or self._version_value != parsed.version:
            self._version_int = PyLong_FromLongLong(parsed.version)
            self._version_value = parsed.version
        set_slot(response, _VERSION, self._version_int)
        return response

    cdef str _market_named(self, const char* name, Py_ssize_t length):
        """The market's str: the last one again when the name is the same (its hash kept)."""
        cdef str last = self._last_market
        if (
            last is not None
            and PyUnicode_GET_LENGTH(<PyObject*>last) == length
            and memcmp(PyUnicode_DATA(<PyObject*>last), name, length) == 0
        ):
            return last
        last = ascii_text(name, length)
        self._last_market = last
        return last

    cdef object _hold(self, object market, object response, object last):
        """Keep an update that came before its book's snapshot."""
        cdef list held
        if self._early_limit == 0:
            return None
        found = self._held.get(market)
        if found is None:
            self._held[market] = [response]
            return None
        held = <list>found
        if len(held) < self._early_limit:
            held.append(response)
            return None
        del self._held[market]
        return _early_overflow(self._stats, market, len(held), last, response)

    cdef object _replay(self, object market, object book, object compiled):
        """After a snapshot: drop the held updates it covers, apply the rest in order
        (``compiled``: the book itself when it is an ``OrderBook``, else None)."""
        cdef OrderBook ours = compiled
        cdef list kept = []
        cdef bint direct
        snapshot_li = ours._last_update_id if ours is not None else book.last_update_id
        # Dropped before the sequencing rule, which would check their version first.
        for response in <list>self._held.pop(market):
            direct = _SLOTS_KNOWN and type(response) is _Response
            if (read_field(response, direct, _LAST_UPDATE_ID, "last_update_id") or 0) > snapshot_li:
                kept.append(response)
        if not (ours._synced if ours is not None else book.synced):
            # An empty snapshot: keep what it does not cover for the next one.
            if kept:
                self._held[market] = kept
            return None
        for response in kept:
            direct = _SLOTS_KNOWN and type(response) is _Response
            asks = read_field(response, direct, _ASKS, "asks")
            bids = read_field(response, direct, _BIDS, "bids")
            fi = read_field(response, direct, _FIRST_UPDATE_ID, "first_update_id") or 0
            li = read_field(response, direct, _LAST_UPDATE_ID, "last_update_id") or 0
            version = read_field(response, direct, _VERSION, "version") or 0
            last = ours._last_update_id if ours is not None else book.last_update_id
            try:
                if ours is not None:
                    result = ours._apply_update(asks, bids, fi, li, version)
                else:
                    result = book.apply_update(asks, bids, fi, li, version)
            except ValueError as exc:
                return _malformed_frame(self._stats, market, last, exc)
            if result is R_APPLIED:
                continue
            reason = _RESYNC_REASONS.get(result)
            if reason is not None:
                return _out_of_sequence(self._stats, market, reason, last, response)
        return None
