"""Type stub of the compiled receive loop; it behaves exactly like ``_receive_py``."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, final

from .._frames.frame_path import FramePath
from .rules import FRAMES_PER_TURN as FRAMES_PER_TURN

async def pull_frames(path: FramePath, read: Callable[[], Awaitable[bytes | str]]) -> None: ...

@final
class PushReceiver:
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
    ) -> None: ...
    @property
    def draining(self) -> bool: ...
    @property
    def drain_task(self) -> asyncio.Task[None] | None: ...
    def on_ws_frame(self, transport: Any, frame: Any) -> None: ...
    def on_frame(self, frame: Any) -> None: ...
    def feed_message(self, payload: bytes | str) -> None: ...
    def close(self) -> None: ...
    def feed_later(self, payloads: Iterable[bytes | str]) -> None: ...
