# Reading a frame's JSON from its bytes: the pieces the compiled one-pass readers share.
#
# Included (``include "_scan.pxi"``) by the compiled book (book updates) and the compiled
# frame path (trade and ticker updates), so each rule of the plain shape they accept is
# written once. Its own names start with ``scan_`` where they could meet a module's.
#
# The scanners read only what frame_chars gives: an exact bytes or ASCII str, whose
# characters CPython always ends with a NUL. NUL is neither space nor a plain string's
# character, so s[n] stops every loop without a bounds check of its own.

from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcmp, memcpy

import msgspec as _scan_msgspec

import maicoin.ws._model as _scan_model

cdef extern from "Python.h":
    char* scan_bytes_chars "PyBytes_AS_STRING"(object o)
    Py_ssize_t scan_bytes_size "PyBytes_GET_SIZE"(object o)
    bint scan_str_is_ascii "PyUnicode_IS_ASCII"(object o)
    void* scan_str_data "PyUnicode_DATA"(object o)
    Py_ssize_t scan_str_length "PyUnicode_GET_LENGTH"(object o)
    object scan_new_str "PyUnicode_New"(Py_ssize_t size, unsigned int maxchar)
    Py_ssize_t scan_refcount "Py_REFCNT"(PyObject* o)


cdef extern from *:
    """
    #include "structmember.h"

    /* The offset of the object slot behind a member descriptor (a msgspec field, a
       __slots__ name), or -1 if it is not one. */
    static Py_ssize_t scan_slot_offset(PyObject* descriptor) {
        PyMemberDef* member;
        if (!Py_IS_TYPE(descriptor, &PyMemberDescr_Type)) return -1;
        member = ((PyMemberDescrObject*)descriptor)->d_member;
        if (member->type != T_OBJECT_EX && member->type != T_OBJECT) return -1;
        return member->offset;
    }

    /* Where that slot is in instance. */
    static inline PyObject** scan_slot_address(PyObject* instance, Py_ssize_t offset) {
        return (PyObject**)((char*)instance + offset);
    }

    /* The object in that slot, borrowed; NULL when unset. */
    static PyObject* scan_slot(PyObject* instance, Py_ssize_t offset) {
        return *scan_slot_address(instance, offset);
    }

    /* The digits of a positive exact int, and how many; 0 for zero or a negative int.
       (PyLongObject's layout comes with Python.h since 3.11: 3.12 keeps the digit count and
       the sign in lv_tag, the count << 3 | the sign, 0 when positive; 3.11 in ob_size.) */
    static inline Py_ssize_t scan_positive_digits(PyObject* number, digit** digits) {
    #if PY_VERSION_HEX >= 0x030C0000
        uintptr_t tag = ((PyLongObject*)number)->long_value.lv_tag;
        *digits = ((PyLongObject*)number)->long_value.ob_digit;
        return (tag & 3) == 0 ? (Py_ssize_t)(tag >> 3) : 0;
    #else
        *digits = ((PyLongObject*)number)->ob_digit;
        return Py_SIZE(number) > 0 ? Py_SIZE(number) : 0;
    #endif
    }

    /* Put value in that slot (a new reference taken), releasing what it held. */
    static void scan_set_slot(PyObject* instance, Py_ssize_t offset, PyObject* value) {
        PyObject** where = scan_slot_address(instance, offset);
        PyObject* old = *where;
        Py_INCREF(value);
        *where = value;
        Py_XDECREF(old);
    }

    /* Put the int of value in that slot: the int it holds changed in place when the slot
       holds its only reference (nothing else can see it change) and value takes as many
       digits and is no small int CPython shares; else a new int, releasing the old. Saves
       an int's allocation and release per field per frame. */
    static int scan_renew_int(PyObject* instance, Py_ssize_t offset, int64_t value) {
        PyObject** where = scan_slot_address(instance, offset);
        PyObject* old = *where;
        PyObject* made;
        if (old != NULL && value > 256 && Py_REFCNT(old) == 1 && PyLong_CheckExact(old)) {
            digit* digits;
            Py_ssize_t size = scan_positive_digits(old, &digits);
            uint64_t number = (uint64_t)value;
            if (size == 1 && number <= PyLong_MASK) {
                digits[0] = (digit)number;
                return 0;
            }
            if (size == 2 && number > PyLong_MASK && (number >> PyLong_SHIFT) <= PyLong_MASK) {
                digits[0] = (digit)(number & PyLong_MASK);
                digits[1] = (digit)(number >> PyLong_SHIFT);
                return 0;
            }
        }
        made = PyLong_FromLongLong(value);
        if (made == NULL) return -1;
        *where = made;
        Py_XDECREF(old);
        return 0;
    }

    /* Give the str in that slot the length ASCII characters at chars, in place, when
       CPython itself would change it in place (its PyUnicode_Append rule: an exact,
       compact ASCII str that only the slot refers to, not interned and never hashed) and
       it has that many characters: 1 when it did, 0 when the caller must put a new str
       there. Saves a str's allocation and release per field per frame. */
    static inline int scan_renew_text_in_place(
        PyObject* instance, Py_ssize_t offset, const char* chars, Py_ssize_t length
    ) {
        PyObject* old = *scan_slot_address(instance, offset);
        if (old != NULL && Py_REFCNT(old) == 1 && PyUnicode_CheckExact(old)
                && PyUnicode_IS_COMPACT_ASCII(old) && PyUnicode_GET_LENGTH(old) == length
                && ((PyASCIIObject*)old)->hash == -1 && !PyUnicode_CHECK_INTERNED(old)
    #if PY_VERSION_HEX < 0x030C0000
                && ((PyASCIIObject*)old)->wstr == NULL
    #endif
        ) {
            memcpy(PyUnicode_DATA(old), chars, (size_t)length);
            return 1;
        }
        return 0;
    }

    /* The run of ASCII digits at s: how many, with *value = *value * 10**count + their
       number (modulo 2**64, as digit-by-digit accumulation wraps). room is how many bytes
       from s may be read: eight at a time while eight are there, then one by one up to the
       first character that is not a digit (a NUL ends every frame's characters). */
    static inline Py_ssize_t scan_digit_run(const char* s, Py_ssize_t room, uint64_t* value) {
        Py_ssize_t count = 0;
        uint64_t acc = *value;
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        static const uint64_t POW10[9] = {
            1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
            100000000ULL,
        };
        while (room - count >= 8) {
            uint64_t chunk, digits, other;
            int taken;
            memcpy(&chunk, s + count, 8);
            /* A byte is a digit when its high nibble is 3 before and after adding 6; the
               first byte that is not one is the lowest set byte of other (a carry out of a
               byte reaches only later bytes, past the run). */
            other = ((chunk & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
                | (((chunk + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL)
                   ^ 0x3030303030303030ULL);
            taken = other == 0 ? 8 : __builtin_ctzll(other) >> 3;
            if (taken == 0) break;
            /* The run's digit values in the top bytes, zeros (leading zeros) below. */
            digits = (chunk - 0x3030303030303030ULL) << (8 * (8 - taken));
            digits = (digits * 10) + (digits >> 8);
            digits = (((digits & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)))
                + (((digits >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
            acc = acc * POW10[taken] + digits;
            count += taken;
            if (taken < 8) {
                *value = acc;
                return count;
            }
        }
    #endif
        while (count < room && s[count] >= '0' && s[count] <= '9') {
            acc = acc * 10 + (uint64_t)(s[count] - '0');
            count++;
        }
        *value = acc;
        return count;
    }

    /* A prototype Struct and how to copy it. msgspec's __copy__ allocates, zeroes, then
       fetches and sets each field through its field table; a Struct whose body is nothing
       but its fields' slots (no GC, no __dict__, no weakrefs, as msgspec lays one out with
       gc=False) is copied here by allocating it as its type does and copying every slot,
       each with a reference of its own: the same object, without the per-field calls. */
    typedef struct { PyObject* prototype; PyObject* copy; Py_ssize_t slots; } scan_prototype;

    /* The object slots of type and its bases, each marked in covered (indexed by word);
       -1 when one is not a plain object slot or a word is named twice. */
    static Py_ssize_t scan_mark_slots(PyTypeObject* type, char* covered, Py_ssize_t words) {
        Py_ssize_t marked = 0;
        for (PyTypeObject* base = type; base != NULL; base = base->tp_base) {
            PyMemberDef* member = base->tp_members;
            for (; member != NULL && member->name != NULL; member++) {
                Py_ssize_t word = member->offset / (Py_ssize_t)sizeof(PyObject*);
                if (member->type != T_OBJECT_EX
                    || member->offset % (Py_ssize_t)sizeof(PyObject*) != 0
                    || word < 0 || word >= words || covered[word]) return -1;
                covered[word] = 1;
                marked++;
            }
        }
        return marked;
    }

    /* msgspec's deallocator of a Struct without GC (learnt from a probe type): it runs the
       type's finalizer and clears its weakrefs if it has them, then walks each base's member
       table to release the slots. A plain body (checked as for the copy: no finalizer, no
       weakrefs, every word a field's slot) needs only the release, word by word. */
    static destructor scan_msgspec_nogc_dealloc = NULL;

    static int scan_learn_dealloc(PyObject* probe) {
        if (!PyType_Check(probe) || PyType_IS_GC((PyTypeObject*)probe)) {
            PyErr_SetString(PyExc_TypeError, "the probe must be a Struct type without GC");
            return -1;
        }
        scan_msgspec_nogc_dealloc = ((PyTypeObject*)probe)->tp_dealloc;
        return 0;
    }

    /* Before 3.12 None is counted like any object, and most of a model's fields hold it: a
       copy or a release would add to that one count once per field, each add waiting for
       the last (the profile showed the copy's loop stalled on them). Counting the Nones and
       changing None's count once does the same. (3.12 made None immortal, its count never
       changed; a debug build keeps a total of every change, so it takes them one by one.) */
    #if PY_VERSION_HEX < 0x030C0000 && !defined(Py_REF_DEBUG)
    #define SCAN_COUNT_NONE 1
    #else
    #define SCAN_COUNT_NONE 0
    #endif

    /* True when value is None and its count is left for scan_settle_none (nones counts it). */
    static inline int scan_defer_none(PyObject* value, Py_ssize_t* nones) {
    #if SCAN_COUNT_NONE
        if (value == Py_None) {
            (*nones)++;
            return 1;
        }
    #endif
        (void)value;
        (void)nones;
        return 0;
    }

    /* None's count changed by change at once: the references scan_defer_none left. (It never
       reaches zero: the interpreter holds None for its whole life.) */
    static inline void scan_settle_none(Py_ssize_t change) {
    #if SCAN_COUNT_NONE
        Py_SET_REFCNT(Py_None, Py_REFCNT(Py_None) + change);
    #else
        (void)change;
    #endif
    }

    /* What msgspec's deallocator does for a plain body, without the member tables. */
    static void scan_plain_dealloc(PyObject* self) {
        PyTypeObject* type = Py_TYPE(self);
        PyObject** slot = (PyObject**)((char*)self + sizeof(PyObject));
        PyObject** end = (PyObject**)((char*)self + type->tp_basicsize);
        Py_ssize_t nones = 0;
        for (; slot < end; slot++) {
            PyObject* value = *slot;
            if (value != NULL) {
                *slot = NULL;
                if (!scan_defer_none(value, &nones)) Py_DECREF(value);
            }
        }
        scan_settle_none(-nones);
        type->tp_free(self);
        Py_DECREF(type);  /* a heap type: each instance holds a reference to it */
    }

    /* Keep prototype (for the module's life) and whether the plain copy fits its type,
       whose fields number fields; else copies go through its __copy__. A plain type still
       released by msgspec's deallocator is given scan_plain_dealloc (the exact type only:
       msgspec sets each subclass's own). */
    static int scan_prototype_bind(scan_prototype* bound, PyObject* prototype, Py_ssize_t fields) {
        PyTypeObject* type = Py_TYPE(prototype);
        Py_ssize_t words = type->tp_basicsize / (Py_ssize_t)sizeof(PyObject*);
        Py_ssize_t head = (Py_ssize_t)(sizeof(PyObject) / sizeof(PyObject*));
        char covered[64] = {0};
        bound->slots = 0;
        bound->copy = PyObject_GetAttrString(prototype, "__copy__");
        if (bound->copy == NULL) return -1;
        Py_INCREF(prototype);
        bound->prototype = prototype;
        if (PyType_IS_GC(type) || type->tp_itemsize != 0 || type->tp_dictoffset != 0
            || type->tp_weaklistoffset != 0 || type->tp_basicsize % (Py_ssize_t)sizeof(PyObject*)
            || words > 64 || type->tp_alloc != PyType_GenericAlloc
            || type->tp_free != PyObject_Free) return 0;
        if (scan_mark_slots(type, covered, words) != fields || words - head != fields) return 0;
        for (Py_ssize_t word = head; word < words; word++) {
            if (!covered[word]) return 0;
        }
        bound->slots = fields;
        if (scan_msgspec_nogc_dealloc != NULL && type->tp_dealloc == scan_msgspec_nogc_dealloc
            && type->tp_finalize == NULL && type->tp_del == NULL) {
            type->tp_dealloc = scan_plain_dealloc;
        }
        return 0;
    }

    /* A copy of the prototype: the same as its __copy__(). */
    static PyObject* scan_prototype_copy(scan_prototype* bound) {
        PyObject* prototype = bound->prototype;
        PyTypeObject* type = Py_TYPE(prototype);
        PyObject* copy;
        PyObject** from;
        PyObject** to;
        if (bound->slots == 0) return PyObject_CallNoArgs(bound->copy);
        /* PyType_GenericAlloc's allocation without its zeroing: every slot is set below. */
        copy = (PyObject*)PyObject_Malloc((size_t)type->tp_basicsize);
        if (copy == NULL) return PyErr_NoMemory();
        from = (PyObject**)((char*)prototype + sizeof(PyObject));
        to = (PyObject**)((char*)copy + sizeof(PyObject));
        Py_ssize_t nones = 0;
        for (Py_ssize_t i = 0; i < bound->slots; i++) {
            PyObject* value = from[i];
            to[i] = value;
            if (!scan_defer_none(value, &nones)) Py_XINCREF(value);
        }
        scan_settle_none(nones);
        return PyObject_Init(copy, type);  /* the heap type's reference, the new reference */
    }

    /* Give held, a copy of bound's prototype that only its caller refers to, the
       prototype's values again, but in the slots set_after marks (the caller sets those).
       held must have a reference of the caller's own besides the one that makes it
       renewable: a release here can run a finalizer of whatever a handler stored in a
       field, and a renewal from there must then not reuse it half reset. */
    static void scan_prototype_reset(scan_prototype* bound, PyObject* held, uint64_t set_after) {
        PyObject** from = (PyObject**)((char*)bound->prototype + sizeof(PyObject));
        PyObject** to = (PyObject**)((char*)held + sizeof(PyObject));
        for (Py_ssize_t i = 0; i < bound->slots; i++) {
            PyObject* old = to[i];
            if (old != from[i] && !((set_after >> i) & 1)) {
                Py_XINCREF(from[i]);
                to[i] = from[i];
                Py_XDECREF(old);
            }
        }
    }

    /* True when held can be reset as a copy of bound's prototype: one of its type (never a
       subclass) that nothing but one reference holds, with a prototype bound by slots. */
    static inline int scan_prototype_renewable(scan_prototype* bound, PyObject* held) {
        return held != NULL && Py_REFCNT(held) == 1 && bound->slots != 0
            && Py_TYPE(held) == Py_TYPE(bound->prototype);
    }

    /* A copy of the prototype, kept in *spare: the one made for the last frame again when
       *spare holds its only reference (the handler let it go, so nothing can see it
       change), each slot set back to the prototype's value but those whose bit is set in
       set_after (slot i: bit i), which the caller sets for every frame and so may reuse
       what they hold; else a new copy, which *spare then keeps. Saves the allocation, the
       copy of every slot and the release of every slot for most frames (CPython's zip()
       reuses its result tuple the same way). */
    static PyObject* scan_prototype_renew(
        scan_prototype* bound, PyObject** spare, uint64_t set_after
    ) {
        PyObject* held = *spare;
        PyObject* copy;
        if (scan_prototype_renewable(bound, held)) {
            Py_INCREF(held);  /* taken first (scan_prototype_reset) */
            scan_prototype_reset(bound, held, set_after);
            return held;
        }
        copy = scan_prototype_copy(bound);
        if (copy == NULL) return NULL;
        Py_INCREF(copy);
        *spare = copy;
        Py_XDECREF(held);
        return copy;
    }
    """
    Py_ssize_t digit_run "scan_digit_run"(
        const char* s, Py_ssize_t room, uint64_t* value
    ) noexcept nogil
    Py_ssize_t member_offset "scan_slot_offset"(object descriptor)
    void* slot_value "scan_slot"(object instance, Py_ssize_t offset)
    void set_slot "scan_set_slot"(object instance, Py_ssize_t offset, object value)
    ctypedef struct Prototype "scan_prototype":
        pass
    int learn_dealloc "scan_learn_dealloc"(object probe) except -1
    int bind_prototype "scan_prototype_bind"(
        Prototype* bound, object prototype, Py_ssize_t fields
    ) except -1
    object copy_prototype "scan_prototype_copy"(Prototype* bound)
    object renew_prototype "scan_prototype_renew"(
        Prototype* bound, PyObject** spare, uint64_t set_after
    )
    bint renewable "scan_prototype_renewable"(Prototype* bound, PyObject* held)
    void reset_prototype "scan_prototype_reset"(
        Prototype* bound, PyObject* held, uint64_t set_after
    )
    int renew_int "scan_renew_int"(object instance, Py_ssize_t offset, int64_t value) except -1
    bint renew_text_in_place "scan_renew_text_in_place"(
        object instance, Py_ssize_t offset, const char* chars, Py_ssize_t length
    ) noexcept


cdef uint64_t slot_bit(Py_ssize_t offset):
    """The bit of the object slot at offset in renew_prototype's set_after (none past the 64
    slots a renewal can take: bind_prototype leaves longer types to __copy__)."""
    cdef Py_ssize_t index = (offset - <Py_ssize_t>sizeof(PyObject)) // <Py_ssize_t>sizeof(PyObject*)
    return (<uint64_t>1) << index if 0 <= index < 64 else 0


# A Struct type without GC: its deallocator is the one bind_prototype replaces on a plain type.
learn_dealloc(_scan_msgspec.defstruct("NoGcProbe", [("value", object)], gc=False))

# The instants a Timestamp field accepts (msgspec's bounds on every T).
cdef int64_t MIN_UNIX_MS_C = _scan_model.MIN_UNIX_MS
cdef int64_t MAX_UNIX_MS_C = _scan_model.MAX_UNIX_MS

# Characters a plain string holds as they are: printable ASCII but the quote and backslash.
cdef unsigned char[256] _PLAIN
cdef int _scan_char
for _scan_char in range(256):
    _PLAIN[_scan_char] = 0x20 <= _scan_char < 0x80 and _scan_char != 0x22 and _scan_char != 0x5C


cdef inline Py_ssize_t skip_space(const char* s, Py_ssize_t i) noexcept nogil:
    # MAX sends compact JSON: the first compare settles the usual case.
    while <unsigned char>s[i] <= c' ' and (
        s[i] == c' ' or s[i] == c'\n' or s[i] == c'\r' or s[i] == c'\t'
    ):
        i += 1
    return i


cdef inline Py_ssize_t plain_string_end(const char* s, Py_ssize_t i) noexcept nogil:
    """s[i] opens a string: the index of its closing quote, or -1 unless every character
    is printable ASCII without escapes (whose text is then its bytes as they are)."""
    i += 1
    while _PLAIN[<unsigned char>s[i]]:
        i += 1
    return i if s[i] == c'"' else -1


cdef inline Py_ssize_t plain_int_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, int64_t* out
) noexcept nogil:
    """Read a JSON integer of at most 18 digits (always within int64) at s[i]: the index
    past it, or -1 for anything else (a fraction, an exponent, more digits)."""
    cdef bint negative = False
    cdef Py_ssize_t count
    cdef uint64_t value = 0
    if i < n and s[i] == c'-':
        negative = True
        i += 1
    count = digit_run(s + i, n - i, &value)
    if count == 0 or count > 18 or (s[i] == c'0' and count > 1):
        return -1
    i += count
    if i < n and (s[i] == c'.' or s[i] == c'e' or s[i] == c'E'):
        return -1
    out[0] = -<int64_t>value if negative else <int64_t>value
    return i


cdef inline Py_ssize_t plain_unix_ms_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, int64_t* out
) noexcept nogil:
    """plain_int_end of a Timestamp: -1 also for an instant outside the years it accepts."""
    i = plain_int_end(s, i, n, out)
    if i >= 0 and MIN_UNIX_MS_C <= out[0] <= MAX_UNIX_MS_C:
        return i
    return -1


cdef inline Py_ssize_t head_end(
    const char* s, Py_ssize_t n, const char* head, Py_ssize_t length
) noexcept nogil:
    """The index past head when the frame starts with it (and goes on), else -1.

    The exchange writes an update's first members in one order and spelling, up to the
    quote that opens M's value: a scanner checks them in one compare, and its key loop reads
    every other order and spelling the same way it reads the rest."""
    if n > length and memcmp(s, head, length) == 0:
        return length
    return -1


cdef inline bint span_is(
    const char* s, Py_ssize_t start, Py_ssize_t end, const char* text, Py_ssize_t length
) noexcept nogil:
    return end - start == length and memcmp(s + start, text, length) == 0


cdef struct Span:
    Py_ssize_t start  # the text between a string's quotes: s[start:end]
    Py_ssize_t end


cdef inline Py_ssize_t string_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, Span* text
) noexcept nogil:
    """s[i] opens a plain string: keep its text's span and return the index past its closing
    quote, or -1 for anything else."""
    cdef Py_ssize_t end
    if i >= n or s[i] != c'"':
        return -1
    end = plain_string_end(s, i)
    if end < 0:
        return -1
    text.start = i + 1
    text.end = end
    return end + 1


cdef inline Py_ssize_t key_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, Span* key
) noexcept nogil:
    """s[i] opens an object's key: keep its span and return the index of its value (past
    the colon and spaces), or -1 unless a plain string and a colon are there."""
    # MAX's keys are one or two characters, written "k": with nothing between: read that
    # spelling at fixed places. (Each read is in bounds: a character that is neither NUL
    # nor a quote comes before it, and s[n] is NUL.)
    if i < n and s[i] == c'"' and _PLAIN[<unsigned char>s[i + 1]]:
        if s[i + 2] == c'"' and s[i + 3] == c':':
            key.start = i + 1
            key.end = i + 2
            return skip_space(s, i + 4)
        if _PLAIN[<unsigned char>s[i + 2]] and s[i + 3] == c'"' and s[i + 4] == c':':
            key.start = i + 1
            key.end = i + 3
            return skip_space(s, i + 5)
    i = string_end(s, i, n, key)
    if i < 0:
        return -1
    i = skip_space(s, i)
    if i >= n or s[i] != c':':
        return -1
    return skip_space(s, i + 1)


cdef inline Py_ssize_t member_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, bint* closed
) noexcept nogil:
    """Past an object member's value: the index of the next key after a comma, or past the
    closing brace (closed set), or -1 for anything else."""
    i = skip_space(s, i)
    if i < n and s[i] == c',':
        closed[0] = False
        return skip_space(s, i + 1)
    if i < n and s[i] == c'}':
        closed[0] = True
        return i + 1
    return -1


cdef inline Py_ssize_t object_start(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """s[i] opens an object: the index of its first key (past the brace and spaces), or -1."""
    if i >= n or s[i] != c'{':
        return -1
    return skip_space(s, i + 1)


cdef inline Py_ssize_t head_member_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, Span* market, bint* closed
) noexcept nogil:
    """After head_end's index i (M's opening quote read): keep M's text and return what
    member_end returns past it, or -1 unless a plain string is there."""
    i = string_end(s, i - 1, n, market)
    if i < 0:
        return -1
    return member_end(s, i, n, closed)


cdef inline object ascii_text(const char* chars, Py_ssize_t length):
    """A str of ASCII characters the scanner checked: copied, with no decoding."""
    text = scan_new_str(length, 127)
    memcpy(scan_str_data(text), chars, length)
    return text


cdef bint frame_chars(object frame, const char** chars, Py_ssize_t* size) noexcept:
    """The characters of a frame as bytes, or as ASCII str (one byte per character)."""
    if type(frame) is bytes:
        chars[0] = scan_bytes_chars(frame)
        size[0] = scan_bytes_size(frame)
        return True
    if type(frame) is str and scan_str_is_ascii(frame):
        chars[0] = <const char*>scan_str_data(frame)
        size[0] = scan_str_length(frame)
        return True
    return False
