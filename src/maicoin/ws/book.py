"""The local order books and their keeper: compiled unless extensions are disabled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maicoin.ws._extensions import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from maicoin.ws import _book_py as _impl
else:
    try:
        from maicoin.ws import _book_c as _impl
    except ImportError:  # pragma: no cover - a build without the extension
        from maicoin.ws import _book_py as _impl

IMPLEMENTATION = "c" if _impl.__name__.endswith("_c") else "py"
"""``"c"`` when the compiled book is in use, ``"py"`` for the pure-Python twin."""

OrderBook = _impl.OrderBook
BookKeeper = _impl.BookKeeper
BookResync = _impl.BookResync
Level = _impl.Level
APPLIED, STALE, GAP = _impl.APPLIED, _impl.STALE, _impl.GAP
VERSION_CHANGED, CLEARED, IGNORED = _impl.VERSION_CHANGED, _impl.CLEARED, _impl.IGNORED

__all__ = (
    "APPLIED",
    "CLEARED",
    "GAP",
    "IGNORED",
    "STALE",
    "VERSION_CHANGED",
    "BookKeeper",
    "BookResync",
    "Level",
    "OrderBook",
)
