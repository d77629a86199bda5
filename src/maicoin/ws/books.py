"""The stream's local order books: which markets have one, and what to do with a book frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from .book import GAP, VERSION_CHANGED, OrderBook
from .channel import Channel
from .response import Response
from .stats import StreamStats
from .subscription import Subscription

log = logging.getLogger("maicoin.ws")

# The exchange's documentation once spelt the event "snaptshot"; treat it as a snapshot.
_SNAPSHOT_EVENTS: Final = frozenset({"snapshot", "snaptshot"})
_REASONS: Final = {GAP: "gap", VERSION_CHANGED: "version_changed"}


@dataclass(frozen=True, slots=True)
class BookResync:
    """Why a book was resubscribed: passed to ``on_book_resync``."""

    market: str
    reason: str
    """"gap", "version_changed" or "invalid_level"."""
    last_update_id: int
    """The local book's last update id when the problem was seen."""
    first_update_id: int | None = None
    """The offending update's ``fi`` (None for a malformed frame)."""


class BookKeeper:
    """One ``OrderBook`` per subscribed book market, fed with every book frame."""

    def __init__(self, stats: StreamStats) -> None:
        self.books: dict[str, OrderBook] = {}
        self._stats = stats

    def track(self, sub: Subscription) -> None:
        if sub.channel == Channel.BOOK and sub.market and sub.market not in self.books:
            self.books[sub.market] = OrderBook(sub.market)

    def untrack(self, sub: Subscription) -> None:
        if sub.channel == Channel.BOOK and sub.market:
            self.books.pop(sub.market, None)

    def invalidate_all(self) -> None:
        """A new connection: every book waits for its new snapshot."""
        for book in self.books.values():
            book.invalidate()

    def apply(self, response: Response) -> BookResync | None:
        """Apply a book frame; return a resync request when the book became invalid."""
        market = response.market
        if market is None:
            return None
        book = self.books.get(market)
        if book is None:
            return None
        last = book.last_update_id
        try:
            if response.event == "update":
                result = book.apply_update(
                    response.asks,
                    response.bids,
                    response.first_update_id or 0,
                    response.last_update_id or 0,
                    response.version or 0,
                )
            elif response.event in _SNAPSHOT_EVENTS:
                book.apply_snapshot(
                    response.asks,
                    response.bids,
                    response.last_update_id or 0,
                    response.version or 0,
                )
                return None
            else:
                return None
        except ValueError as exc:
            self._stats.decode_errors += 1
            log.warning("book %s: malformed frame, resyncing: %s", market, exc)
            self._stats.resyncs += 1
            return BookResync(market, "invalid_level", last)
        reason = _REASONS.get(result)
        if reason is None:
            return None
        self._stats.resyncs += 1
        log.warning(
            "book %s: %s at update %s-%s (local %d); resubscribing",
            market,
            reason,
            response.first_update_id,
            response.last_update_id,
            last,
        )
        return BookResync(market, reason, last, response.first_update_id)
