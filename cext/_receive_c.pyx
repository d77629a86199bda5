"""Reading a connection into the per-frame path, compiled: twin of ``_receive_py``.

Same behaviour (its docstring describes both); here the receiver's per-frame callbacks and
the pull loop are C functions that call the compiled ``FramePath.feed`` directly.
"""

import asyncio
import collections

cimport cython
from cpython.pyport cimport PY_SSIZE_T_MAX

from websockets.exceptions import ConnectionClosedOK

from maicoin.ws._frames._frame_path_c cimport FramePath

from maicoin.ws._io.rules import FRAMES_PER_TURN, FragmentJoiner, MessageTooBig

cdef object ConnectionClosedOK_ = ConnectionClosedOK
cdef object deque = collections.deque
cdef object aio_get_running_loop = asyncio.get_running_loop
cdef object aio_sleep = asyncio.sleep
cdef object FragmentJoiner_ = FragmentJoiner
cdef object MessageTooBig_ = MessageTooBig
# Frames handled in one go before other tasks get a turn (the one value in ``_io.rules``).
cdef Py_ssize_t BATCH = FRAMES_PER_TURN


async def pull_frames(FramePath path, read):
    """Feed every frame ``read()`` returns to ``path``; return on a clean close."""
    cdef object frame
    cdef object pending
    while True:
        try:
            frame = await read()
        except ConnectionClosedOK_:
            return
        pending = path.feed(frame)
        if pending is not None:
            await pending


@cython.final
@cython.auto_pickle(False)
cdef class PushReceiver:
    """Takes frames from a transport's synchronous callback (see ``_receive_py.PushReceiver``)."""

    # Fields in _receive_c.pxd.

    def __init__(
        self,
        FramePath path,
        *,
        pause_reading,
        resume_reading,
        on_failure,
        on_control,
        text_kind,
        binary_kind,
        continuation_kind,
        max_size=None,
    ):
        self._path = path
        self._pause_reading = pause_reading
        self._resume_reading = resume_reading
        self._on_failure = on_failure
        self._on_control = on_control
        self._text = text_kind
        self._binary = binary_kind
        self._continuation = continuation_kind
        self._backlog = deque()
        self._joiner = FragmentJoiner_(max_size)
        self._max_size = PY_SSIZE_T_MAX if max_size is None else max_size
        self._call_soon = aio_get_running_loop().call_soon
        self._new_batch_cb = self._new_batch
        self._batch = 0
        self._draining = False
        self._failed = False
        self._drain_task = None

    @property
    def draining(self):
        """True while frames wait for an awaited handler, a full queue or an earlier frame."""
        return self._draining

    @property
    def drain_task(self):
        """The task feeding the backlog, or None."""
        return self._drain_task

    def on_ws_frame(self, transport, frame):
        """picows' frame callback (a ``WSFrame``, valid only during the call)."""
        cdef object kind = frame.msg_type
        if (kind is self._text or kind is self._binary) and frame.fin:
            self.take_whole(frame.get_payload_as_bytes())
        elif kind is self._text or kind is self._binary or kind is self._continuation:
            self._fragment(kind, frame.fin, frame.get_payload_as_bytes())
        else:
            self._on_control(transport, frame)

    def on_frame(self, frame):
        """websockets' frame event (a ``websockets.frames.Frame``)."""
        cdef object kind = frame.opcode
        if (kind is self._text or kind is self._binary) and frame.fin:
            self._message(frame.data)
        elif kind is self._text or kind is self._binary or kind is self._continuation:
            self._fragment(kind, frame.fin, frame.data)
        else:
            self._on_control(frame)

    def feed_message(self, payload):
        """Handle one whole message."""
        self._message(payload)

    def close(self):
        """Stop: later data frames are dropped (control frames still reach on_control)."""
        self._failed = True
        self._backlog.clear()
        self._joiner.reset()
        self._stop_draining()

    def feed_later(self, payloads):
        """Queue messages that arrived before this receiver was attached, in order."""
        self._backlog.extend(payloads)
        if self._backlog and not self._draining and not self._failed:
            self._start_draining(None)

    cdef void take_whole(self, object payload) except *:
        cdef Py_ssize_t size = len(payload)
        # picows refuses a frame over its bound with 1009 but still hands it over once read:
        # it is dropped here, not decoded.
        if size > self._max_size:
            self._too_big(size)
            return
        self._message(payload)

    cdef void _fragment(self, object kind, object fin, object payload) except *:
        if self._failed:
            return
        try:
            payload = self._joiner.add(kind is not self._continuation, bool(fin), payload)
        except MessageTooBig_ as exc:
            self._fail(exc)
            return
        if payload is not None:
            self._message(payload)

    cdef void _too_big(self, Py_ssize_t size) except *:
        if not self._failed:
            self._fail(MessageTooBig_(size, self._max_size))

    cdef void _message(self, object payload) except *:
        cdef object pending
        if self._failed:
            return
        if self._draining:
            self._backlog.append(payload)
            return
        if self._batch == 0:
            self._call_soon(self._new_batch_cb)
        self._batch += 1
        if self._batch > BATCH:
            self._backlog.append(payload)
            self._start_draining(None)
            return
        try:
            pending = self._path.feed(payload)
        except Exception as exc:
            self._fail(exc)
            return
        if pending is not None:
            self._start_draining(pending)

    def _new_batch(self):
        self._batch = 0

    cdef void _fail(self, BaseException exc) except *:
        # Like a pull loop that stops at its first error: later frames are not handled.
        self._failed = True
        self._backlog.clear()
        self._on_failure(exc)

    cdef void _stop_draining(self) except *:
        # Reading resumes once the backlog is through, or abandoned after a failure.
        if self._draining:
            self._draining = False
            self._resume_reading()

    cdef void _start_draining(self, object pending) except *:
        self._draining = True
        self._pause_reading()
        self._drain_task = aio_get_running_loop().create_task(self._drain(pending))

    async def _drain(self, pending):
        cdef Py_ssize_t handled = 0
        cdef FramePath path = self._path
        backlog = self._backlog
        try:
            if pending is not None:
                await pending
            while backlog:
                handled += 1
                if handled > BATCH:
                    handled = 0
                    await aio_sleep(0)  # let other tasks (queue consumers, pings) run
                    continue
                pending = path.feed(backlog.popleft())
                if pending is not None:
                    await pending
        except Exception as exc:
            self._fail(exc)
        self._stop_draining()
