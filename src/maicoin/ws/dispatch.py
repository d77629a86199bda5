"""Pick the dispatcher: the compiled one unless opted out or unavailable, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._extensions import NO_EXTENSIONS

__all__ = ("DISPATCH_MODES", "IMPLEMENTATION", "Dispatcher")

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._dispatch_py import DISPATCH_MODES, Dispatcher
else:
    try:
        from ._dispatch_c import DISPATCH_MODES, Dispatcher
    except ImportError:  # pragma: no cover - a build without the compiled module
        from ._dispatch_py import DISPATCH_MODES, Dispatcher

IMPLEMENTATION: str = "c" if Dispatcher.__module__.endswith("_c") else "py"
