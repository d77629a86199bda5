"""websockets, the default transport, with the stream's frames taken from its frame events.

websockets parses every frame of a read in its ``data_received`` callback and queues it for
``recv()``; each ``recv()`` then costs a coroutine, a queue round trip and flow-control
bookkeeping, about a third of websockets' whole per-frame cost. ``PushClientConnection``
is websockets' own ``ClientConnection`` (same handshake, TLS, keepalive pings, close
handshake, ``connect()`` keywords) whose ``run_frame_path`` hands each data frame event
straight to the stream's compiled ``PushReceiver`` instead, in order. ``recv()`` works as
usual until then; afterwards every message goes to the stream until the connection closes.

It relies on two websockets internals, checked when it runs: the ``process_event`` hook
that receives every frame, and the length of the message queue (``recv_messages``) for the
frames that arrived before the stream took over. Internals can change meaning without
changing name, so the push path is only taken on the websockets releases it was tested
with (``PUSH_TESTED_MAJORS``); with any other release, or without those internals, it reads
with ``recv()`` (correct, about 1 µs a frame slower).
"""

from __future__ import annotations

import asyncio
from functools import partial

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Opcode
from websockets.version import version as websockets_version

from .._frames.frame_path import FramePath
from .push import failure_slot, push_until_closed
from .receive import PushReceiver, pull_frames

__all__ = ["PUSH_TESTED_MAJORS", "PushClientConnection", "push_supported"]

PUSH_TESTED_MAJORS: range = range(14, 18)
"""websockets major versions whose internals the push path was tested against (14.2, 17.4)."""


def push_supported(version: str = websockets_version) -> bool:
    """True when frames may be taken from this websockets release's frame events."""
    major = version.split(".", 1)[0]
    return major.isdigit() and int(major) in PUSH_TESTED_MAJORS


class PushClientConnection(ClientConnection):
    """A websockets client connection that can push its frames down the stream's path."""

    async def run_frame_path(self, path: FramePath) -> None:
        """Feed every message to ``path`` until the connection closes.

        Returns after a clean close; raises the path's own exception (a handler error, an
        auth refusal) or websockets' ``ConnectionClosedError``.
        """
        queued = getattr(getattr(self, "recv_messages", None), "frames", None)
        if (
            not push_supported()
            or queued is None
            or not callable(getattr(self, "process_event", None))
        ):
            await pull_frames(path, partial(self.recv, decode=False))
            return
        # recv() returns at once while messages are queued, so nothing arrives in between.
        early = []
        while len(queued):
            early.append(await self.recv(decode=False))
        failed, on_failure = failure_slot()
        receiver = PushReceiver(
            path,
            pause_reading=self.transport.pause_reading,
            resume_reading=self._resume_reading,
            on_failure=on_failure,
            # The class's own handling of pings, pongs and close frames.
            on_control=self.process_event,
            text_kind=Opcode.TEXT,
            binary_kind=Opcode.BINARY,
            continuation_kind=Opcode.CONT,
        )
        # data_received() looks process_event up on the instance for every frame: the
        # compiled receiver answers it directly, with no Python frame in between.
        self.process_event = receiver.on_frame  # type: ignore[method-assign,assignment]
        # Afterwards the receiver stays in place and drops what still arrives: handing frames
        # back to recv()'s queue would fill it, pause reading and stall the closing handshake.
        closed = asyncio.get_running_loop().create_task(self.wait_closed())
        try:
            await push_until_closed(receiver, early, closed, failed)
        finally:
            closed.cancel()
        close_exc = self.protocol.close_exc
        if not isinstance(close_exc, ConnectionClosedOK):
            raise close_exc

    def _resume_reading(self) -> None:
        if not self.transport.is_closing():
            self.transport.resume_reading()
