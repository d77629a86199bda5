"""picows' callbacks for one connection, in Python: twin of ``_picows_listener_c``.

picows looks ``on_ws_frame`` and its siblings up on the listener for every call, so the
owner's bound methods (and, once attached, the receiver's ``on_ws_frame``) are set on the
instance: each call goes straight to them, with no forwarding frame in between.
"""

from __future__ import annotations

from typing import Any

from picows import WSListener

from .receive import PushReceiver

__all__ = ["FrameListener"]


class FrameListener(WSListener):
    """Passes picows' callbacks to ``owner`` until ``attach`` gives frames to a receiver."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.on_ws_connected = owner.on_ws_connected  # type: ignore[method-assign]
        self.on_ws_frame = owner.on_ws_frame  # type: ignore[method-assign]
        self.on_ws_disconnected = owner.on_ws_disconnected  # type: ignore[method-assign]

    def attach(self, receiver: PushReceiver) -> None:
        """From now on every frame goes to ``receiver``."""
        self.on_ws_frame = receiver.on_ws_frame  # type: ignore[method-assign]
