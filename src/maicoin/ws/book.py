"""The local order book: one per subscribed ``book`` market, read through ``stream.books``.

``OrderBook`` is the compiled book unless extensions are disabled (``IMPLEMENTATION`` says
which); the result constants are what ``apply_snapshot``/``apply_update`` return.
"""

from __future__ import annotations

from ._frames.book import IMPLEMENTATION, BookKeeper, OrderBook
from ._frames.rules import (
    APPLIED,
    CLEARED,
    GAP,
    IGNORED,
    STALE,
    VERSION_CHANGED,
    BookResync,
    Level,
)

__all__ = (
    "APPLIED",
    "CLEARED",
    "GAP",
    "IGNORED",
    "IMPLEMENTATION",
    "STALE",
    "VERSION_CHANGED",
    "BookKeeper",
    "BookResync",
    "Level",
    "OrderBook",
)
