"""The life of a running stream as a small state machine, and the one rule for ``stop()``.

A stream is ``IDLE`` until it first runs, ``CONNECTING`` during a handshake and the replay
of its requests, ``CONNECTED`` while it reads, ``BACKING_OFF`` between connections,
``CLOSING`` from ``stop()`` (or a permanent failure) until the run has ended, and ``CLOSED``
after it; a closed stream may run again.

``stop()`` is never lost: it is honoured in whatever state it arrives, and one that comes
before a run has started (``asyncio.create_task(stream.arun()); stream.stop()``) is kept for
that run, which then returns at once. The request is consumed when a run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from typing import Final

__all__ = ["Lifecycle", "StreamState"]


class StreamState(enum.Enum):
    """Where a stream is in its life (``Stream.state``)."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    CLOSING = "closing"
    CLOSED = "closed"


_S = StreamState
_NEXT: Final[dict[StreamState, frozenset[StreamState]]] = {
    _S.IDLE: frozenset({_S.CONNECTING, _S.CLOSING, _S.CLOSED}),
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.BACKING_OFF, _S.CLOSING, _S.CLOSED}),
    _S.CONNECTED: frozenset({_S.BACKING_OFF, _S.CLOSING, _S.CLOSED}),
    _S.BACKING_OFF: frozenset({_S.CONNECTING, _S.CLOSING, _S.CLOSED}),
    _S.CLOSING: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset({_S.CONNECTING, _S.CLOSING}),
}


class Lifecycle:
    """The state of one stream, its pending stop, and the event that wakes a backoff."""

    __slots__ = ("_state", "_stop_requested", "_wakeup")

    def __init__(self) -> None:
        self._state = StreamState.IDLE
        self._stop_requested = False
        self._wakeup: asyncio.Event | None = None

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def stop_requested(self) -> bool:
        """True from ``request_stop()`` until the run that honours it has ended."""
        return self._stop_requested

    @property
    def running(self) -> bool:
        """True between ``begin_run()`` and ``end_run()``."""
        return self._wakeup is not None

    def move(self, state: StreamState) -> None:
        """Enter ``state``; a move the machine does not allow is a bug, not a user error."""
        if state is self._state:
            return
        if state not in _NEXT[self._state]:
            raise RuntimeError(f"stream lifecycle: {self._state.value} -> {state.value}")
        self._state = state

    def advance(self, state: StreamState) -> None:
        """Enter ``state`` unless a stop is already winding the run down."""
        if not self._stop_requested:
            self.move(state)

    def begin_run(self) -> None:
        if self.running:
            raise RuntimeError("this stream is already running")
        self._wakeup = asyncio.Event()
        if self._stop_requested:
            self._wakeup.set()
            self.move(StreamState.CLOSING)
        else:
            self.move(StreamState.CONNECTING)

    def request_stop(self) -> None:
        """Ask the run (in progress, or the next one) to end; wake it from a backoff."""
        self._stop_requested = True
        if self._wakeup is not None:
            self._wakeup.set()
            if self._state is not StreamState.CLOSING:
                self.move(StreamState.CLOSING)

    def end_run(self) -> None:
        self._wakeup = None
        self._stop_requested = False
        self.move(StreamState.CLOSED)

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if a stop arrives."""
        wakeup = self._wakeup
        if wakeup is None:
            raise RuntimeError("sleep outside a run")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=delay)
