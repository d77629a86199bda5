"""picows' callbacks in C for one connection: twin of ``_picows_listener_py``.

picows calls its listener's ``on_ws_frame`` for every frame. A listener written in Python
costs a Python call, and reading the frame's ``msg_type`` from Python converts picows' C
enum to a Python enum member each time (about as much as the call). This listener is a C
subclass of picows' ``WSListener``: picows calls it through its C method table, and it reads
the frame's fields and payload in C. A whole text or binary message goes straight to the
compiled ``PushReceiver``; anything else takes the Python way, which is exactly the twin's.

It is built against one picows release's C declarations (its .pxd file), so it is used only
with that release (``BUILT_FOR_PICOWS``, checked by the ``picows_listener`` selector).
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize

from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from maicoin.ws._io._receive_c cimport PushReceiver

cdef extern from *:
    # The picows version this module was compiled against, given by setup.py.
    const char* MAICOIN_WS_PICOWS_VERSION

BUILT_FOR_PICOWS = MAICOIN_WS_PICOWS_VERSION.decode("ascii")


@cython.final
@cython.auto_pickle(False)
cdef class FrameListener(WSListener):
    """Passes picows' callbacks to ``owner`` until ``attach`` gives frames to a receiver."""

    cdef object _connected
    cdef object _frame
    cdef object _disconnected
    cdef PushReceiver _receiver

    def __init__(self, owner):
        self._connected = owner.on_ws_connected
        self._frame = owner.on_ws_frame
        self._disconnected = owner.on_ws_disconnected
        self._receiver = None

    def attach(self, PushReceiver receiver not None):
        """From now on every frame goes to ``receiver``."""
        self._receiver = receiver
        self._frame = receiver.on_ws_frame

    cpdef on_ws_connected(self, WSTransport transport):
        self._connected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef PushReceiver receiver = self._receiver
        if (
            receiver is not None
            and frame.fin
            and (frame.msg_type == WSMsgType.TEXT or frame.msg_type == WSMsgType.BINARY)
        ):
            receiver.take_whole(PyBytes_FromStringAndSize(frame.payload_ptr, frame.payload_size))
        else:
            self._frame(transport, frame)

    cpdef on_ws_disconnected(self, WSTransport transport):
        self._disconnected(transport)
