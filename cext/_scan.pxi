# Reading a frame's JSON from its bytes: the pieces the compiled one-pass readers share.
#
# Included (``include "_scan.pxi"``) by the compiled book (book updates) and the compiled
# frame path (trade and ticker updates), so each rule of the plain shape they accept is
# written once. Its own names start with ``scan_`` where they could meet a module's.
#
# The scanners read only what frame_chars gives: an exact bytes or ASCII str, whose
# characters CPython always ends with a NUL. NUL is neither space nor a plain string's
# character, so s[n] stops every loop without a bounds check of its own.

from libc.stdint cimport int64_t
from libc.string cimport memcmp, memcpy

import maicoin.ws._model as _scan_model

cdef extern from "Python.h":
    char* scan_bytes_chars "PyBytes_AS_STRING"(object o)
    Py_ssize_t scan_bytes_size "PyBytes_GET_SIZE"(object o)
    bint scan_str_is_ascii "PyUnicode_IS_ASCII"(object o)
    void* scan_str_data "PyUnicode_DATA"(object o)
    Py_ssize_t scan_str_length "PyUnicode_GET_LENGTH"(object o)
    object scan_new_str "PyUnicode_New"(Py_ssize_t size, unsigned int maxchar)


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

    /* The object in that slot, borrowed; NULL when unset. */
    static PyObject* scan_slot(PyObject* instance, Py_ssize_t offset) {
        return *(PyObject**)((char*)instance + offset);
    }

    /* Put value in that slot (a new reference taken), releasing what it held. */
    static void scan_set_slot(PyObject* instance, Py_ssize_t offset, PyObject* value) {
        PyObject** where = (PyObject**)((char*)instance + offset);
        PyObject* old = *where;
        Py_INCREF(value);
        *where = value;
        Py_XDECREF(old);
    }

    /* A bound METH_NOARGS builtin (msgspec's __copy__ of a prototype): its C function and
       self, so that a call is the function's own, without the argument handling of a call. */
    typedef struct { PyCFunction function; PyObject* self; } scan_noargs;

    /* Keep method's function and self in bound (empty for any other kind of callable). */
    static void scan_noargs_bind(scan_noargs* bound, PyObject* method) {
        int kinds = METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL | METH_METHOD;
        bound->function = NULL;
        bound->self = NULL;
        if (!PyCFunction_Check(method) || (PyCFunction_GET_FLAGS(method) & kinds) != METH_NOARGS) {
            return;
        }
        if (PyCFunction_GET_SELF(method) == NULL) return;
        bound->self = PyCFunction_GET_SELF(method);
        Py_INCREF(bound->self);  /* kept for the module's life, as the method is */
        bound->function = PyCFunction_GET_FUNCTION(method);
    }

    /* method(): the kept function called as CPython calls a METH_NOARGS method, (self,
       NULL), or method called as usual when none was kept. */
    static PyObject* scan_noargs_call(scan_noargs* bound, PyObject* method) {
        if (bound->function != NULL) return bound->function(bound->self, NULL);
        return PyObject_CallNoArgs(method);
    }
    """
    Py_ssize_t member_offset "scan_slot_offset"(object descriptor)
    void* slot_value "scan_slot"(object instance, Py_ssize_t offset)
    void set_slot "scan_set_slot"(object instance, Py_ssize_t offset, object value)
    ctypedef struct NoArgs "scan_noargs":
        pass
    void bind_noargs "scan_noargs_bind"(NoArgs* bound, object method)
    object call_noargs "scan_noargs_call"(NoArgs* bound, object method)


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
    cdef Py_ssize_t first
    cdef int64_t value = 0
    if i < n and s[i] == c'-':
        negative = True
        i += 1
    first = i
    while i < n and c'0' <= s[i] <= c'9':
        value = value * 10 + (s[i] - c'0')
        i += 1
        if i - first > 18:
            return -1
    if i == first or (s[first] == c'0' and i - first > 1):
        return -1
    if i < n and (s[i] == c'.' or s[i] == c'e' or s[i] == c'E'):
        return -1
    out[0] = -value if negative else value
    return i


cdef inline Py_ssize_t plain_unix_ms_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, int64_t* out
) noexcept nogil:
    """plain_int_end of a Timestamp: -1 also for an instant outside the years it accepts."""
    i = plain_int_end(s, i, n, out)
    if i >= 0 and MIN_UNIX_MS_C <= out[0] <= MAX_UNIX_MS_C:
        return i
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
