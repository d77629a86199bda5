"""Pick the per-frame path: the compiled one unless opted out or unavailable, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._extensions import NO_EXTENSIONS

__all__ = ("IMPLEMENTATION", "FramePath")

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._frame_path_py import FramePath
else:
    try:
        from ._frame_path_c import FramePath
    except ImportError:  # pragma: no cover - a build without the compiled module
        from ._frame_path_py import FramePath

IMPLEMENTATION: str = "c" if FramePath.__module__.endswith("_c") else "py"
