"""Pick the dispatcher: the compiled one unless opted out or unavailable, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._extensions import NO_EXTENSIONS

__all__ = ("IMPLEMENTATION", "Dispatcher")

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._dispatch_py import Dispatcher
else:
    try:
        from ._dispatch_c import Dispatcher
    except ImportError:  # pragma: no cover - a build without the compiled module
        from ._dispatch_py import Dispatcher

IMPLEMENTATION: str = "c" if Dispatcher.__module__.endswith("_c") else "py"
