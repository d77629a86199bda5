"""Pick the order book: the compiled one unless opted out or unavailable, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._extensions import NO_EXTENSIONS

__all__ = ("IMPLEMENTATION", "BookKeeper", "OrderBook")

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._book_py import BookKeeper, OrderBook
else:
    try:
        from ._book_c import BookKeeper, OrderBook
    except ImportError:  # pragma: no cover - a build without the compiled module
        from ._book_py import BookKeeper, OrderBook

IMPLEMENTATION: str = "c" if OrderBook.__module__.endswith("_c") else "py"
"""``"c"`` when the compiled book is in use, ``"py"`` for the pure-Python twin."""
