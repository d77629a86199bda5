"""Type stub of the compiled picows listener; it behaves exactly like ``_picows_listener_py``."""

from typing import Any, final

from picows import WSFrame, WSListener, WSTransport

from ._receive_c import PushReceiver

BUILT_FOR_PICOWS: str

@final
class FrameListener(WSListener):
    def __init__(self, owner: Any) -> None: ...
    def attach(self, receiver: PushReceiver) -> None: ...
    def on_ws_connected(self, transport: WSTransport) -> None: ...
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None: ...
    def on_ws_disconnected(self, transport: WSTransport) -> None: ...
