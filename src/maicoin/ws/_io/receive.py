"""Pick the receive loop: the compiled one unless opted out or unavailable, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._extensions import NO_EXTENSIONS

__all__ = ("IMPLEMENTATION", "PushReceiver", "pull_frames")

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._receive_py import PushReceiver, pull_frames
else:
    try:
        from ._receive_c import PushReceiver, pull_frames
    except ImportError:  # pragma: no cover - a build without the compiled module
        from ._receive_py import PushReceiver, pull_frames

IMPLEMENTATION: str = "c" if PushReceiver.__module__.endswith("_c") else "py"
