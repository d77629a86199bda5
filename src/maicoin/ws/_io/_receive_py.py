"""Reading a connection into the per-frame path: pure-Python twin of ``_receive_c``.

Two ways to drive a ``FramePath``:

- ``pull_frames(path, read)``: ``await read()`` per frame (websockets and any
  ``connect_factory`` connection); a clean close (``ConnectionClosedOK``) ends it.
- ``PushReceiver``: the transport calls it synchronously for every frame (picows'
  ``on_ws_frame``; websockets' frame events through ``on_frame``). Sync handlers run right
  inside that callback, with no ``await`` per frame. When a frame returns an awaitable, or
  ``FRAMES_PER_TURN`` frames were handled without a break, the receiver pauses reading, keeps
  every later frame in a backlog and feeds them from a task, in arrival order (yielding to
  other tasks every ``FRAMES_PER_TURN`` frames); then it resumes reading.
"""

from __future__ import annotations

import asyncio
import collections
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, final

from websockets.exceptions import ConnectionClosedOK

from .._frames.frame_path import FramePath
from .rules import FRAMES_PER_TURN, FragmentJoiner, MessageTooBig

__all__ = ["PushReceiver", "pull_frames"]


async def pull_frames(path: FramePath, read: Callable[[], Awaitable[bytes | str]]) -> None:
    """Feed every frame ``read()`` returns to ``path``; return on a clean close."""
    feed = path.feed
    while True:
        try:
            frame = await read()
        except ConnectionClosedOK:
            return
        pending = feed(frame)
        if pending is not None:
            await pending


@final
class PushReceiver:
    """Takes frames from a transport's synchronous callback and keeps their order.

    Data frames (``text_kind``/``binary_kind``; fragments joined) go down the path, other
    frames to ``on_control``. At most ``FRAMES_PER_TURN`` frames are handled before other
    tasks get a turn; the first exception of the path goes to ``on_failure`` and no later
    frame is handled. So does a ``MessageTooBig`` for a message longer than ``max_size``
    (None: unbounded): a fragmented one is dropped unassembled, and an unfragmented one
    picows read past its own bound is dropped undecoded; the transport closes the
    connection with 1009.
    """

    __slots__ = (
        "_backlog",
        "_batch",
        "_binary",
        "_call_soon",
        "_continuation",
        "_drain_task",
        "_draining",
        "_failed",
        "_joiner",
        "_max_size",
        "_on_control",
        "_on_failure",
        "_path",
        "_pause_reading",
        "_resume_reading",
        "_text",
    )

    def __init__(
        self,
        path: FramePath,
        *,
        pause_reading: Callable[[], None],
        resume_reading: Callable[[], None],
        on_failure: Callable[[BaseException], None],
        on_control: Callable[..., None],
        text_kind: object,
        binary_kind: object,
        continuation_kind: object,
        max_size: int | None = None,
    ) -> None:
        self._path = path
        self._pause_reading = pause_reading
        self._resume_reading = resume_reading
        self._on_failure = on_failure
        self._on_control = on_control
        self._text = text_kind
        self._binary = binary_kind
        self._continuation = continuation_kind
        self._backlog: collections.deque[bytes | str] = collections.deque()
        self._joiner = FragmentJoiner(max_size)
        self._max_size = sys.maxsize if max_size is None else max_size
        self._call_soon = asyncio.get_running_loop().call_soon
        self._batch = 0
        self._draining = False
        self._failed = False
        self._drain_task: asyncio.Task[None] | None = None

    @property
    def draining(self) -> bool:
        """True while frames wait for an awaited handler, a full queue or an earlier frame."""
        return self._draining

    @property
    def drain_task(self) -> asyncio.Task[None] | None:
        """The task feeding the backlog, or None."""
        return self._drain_task

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        """picows' frame callback (a ``WSFrame``, valid only during the call)."""
        kind = frame.msg_type
        if (kind is self._text or kind is self._binary) and frame.fin:
            payload = frame.get_payload_as_bytes()
            # picows refuses a frame over its bound with 1009 but still hands it over once
            # read: it is dropped here, not decoded.
            if len(payload) > self._max_size:
                self._too_big(len(payload))
                return
            self._message(payload)
        elif kind is self._text or kind is self._binary or kind is self._continuation:
            self._fragment(kind, frame.fin, frame.get_payload_as_bytes())
        else:
            self._on_control(transport, frame)

    def on_frame(self, frame: Any) -> None:
        """websockets' frame event (a ``websockets.frames.Frame``)."""
        kind = frame.opcode
        if (kind is self._text or kind is self._binary) and frame.fin:
            self._message(frame.data)
        elif kind is self._text or kind is self._binary or kind is self._continuation:
            self._fragment(kind, frame.fin, frame.data)
        else:
            self._on_control(frame)

    def feed_message(self, payload: bytes | str) -> None:
        """Handle one whole message."""
        self._message(payload)

    def close(self) -> None:
        """Stop: later data frames are dropped (control frames still reach on_control)."""
        self._failed = True
        self._backlog.clear()
        self._joiner.reset()
        self._stop_draining()

    def feed_later(self, payloads: Iterable[bytes | str]) -> None:
        """Queue messages that arrived before this receiver was attached, in order."""
        self._backlog.extend(payloads)
        if self._backlog and not self._draining and not self._failed:
            self._start_draining(None)

    def _fragment(self, kind: object, fin: object, payload: bytes) -> None:
        if self._failed:
            return
        try:
            message = self._joiner.add(kind is not self._continuation, bool(fin), payload)
        except MessageTooBig as exc:
            self._fail(exc)
            return
        if message is not None:
            self._message(message)

    def _too_big(self, size: int) -> None:
        if not self._failed:
            self._fail(MessageTooBig(size, self._max_size))

    def _message(self, payload: bytes | str) -> None:
        if self._failed:
            return
        if self._draining:
            self._backlog.append(payload)
            return
        if self._batch == 0:
            self._call_soon(self._new_batch)
        self._batch += 1
        if self._batch > FRAMES_PER_TURN:
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

    def _new_batch(self) -> None:
        self._batch = 0

    def _fail(self, exc: BaseException) -> None:
        # Like a pull loop that stops at its first error: later frames are not handled.
        self._failed = True
        self._backlog.clear()
        self._on_failure(exc)

    def _stop_draining(self) -> None:
        # Reading resumes once the backlog is through, or abandoned after a failure.
        if self._draining:
            self._draining = False
            self._resume_reading()

    def _start_draining(self, pending: Awaitable[Any] | None) -> None:
        self._draining = True
        self._pause_reading()
        self._drain_task = asyncio.get_running_loop().create_task(self._drain(pending))

    async def _drain(self, pending: Awaitable[Any] | None) -> None:
        backlog = self._backlog
        path = self._path
        handled = 0
        try:
            if pending is not None:
                await pending
            while backlog:
                handled += 1
                if handled > FRAMES_PER_TURN:
                    handled = 0
                    await asyncio.sleep(0)  # let other tasks (queue consumers, pings) run
                    continue
                pending = path.feed(backlog.popleft())
                if pending is not None:
                    await pending
        except Exception as exc:
            self._fail(exc)
        self._stop_draining()
