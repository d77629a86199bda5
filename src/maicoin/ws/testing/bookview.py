"""One book subscription's view: the top N levels the client was last told, and diffs from it."""

from __future__ import annotations

from typing import Any

from . import frames
from .book import Level
from .market import Market

REMOVED = "0"
"""The volume string that removes a level."""


class BookView:
    """What one subscriber of ``market`` at ``depth`` believes the book is.

    Each update carries the difference between that belief and the true top N, with
    ``fi``/``li`` covering every update id since the last frame sent to this subscriber.
    """

    __slots__ = ("_asks", "_bids", "depth", "last_update_id", "market", "needs_snapshot", "skip")

    def __init__(self, market: Market, depth: int) -> None:
        self.market = market
        self.depth = depth
        self._asks: dict[int, int] = {}
        self._bids: dict[int, int] = {}
        self.last_update_id = 0
        self.needs_snapshot = True
        self.skip = False

    def snapshot(self, now_ms: int, *, empty: bool = False) -> dict[str, Any]:
        """A snapshot of the current top N (or an empty one, after which a full one follows)."""
        market, book = self.market, self.market.book
        li = book.update_id
        if empty:
            self._asks, self._bids = {}, {}
            self.needs_snapshot = True
            return frames.book(
                "snapshot",
                market.spec.name,
                [],
                [],
                first_update_id=li,
                last_update_id=li,
                version=book.version,
                now_ms=now_ms,
            )
        asks, bids = book.top(self.depth)
        self._asks, self._bids = dict(asks), dict(bids)
        self.last_update_id = li
        self.needs_snapshot = False
        return frames.book(
            "snapshot",
            market.spec.name,
            self._levels(asks),
            self._levels(bids),
            first_update_id=li,
            last_update_id=li,
            version=book.version,
            now_ms=now_ms,
        )

    def update(self, now_ms: int) -> dict[str, Any] | None:
        """The next frame for this subscriber, or None when its top N did not change.

        With ``skip`` set, the changes are taken as sent without sending them: the client
        sees the following update start past its last id, a sequence gap.
        """
        if self.needs_snapshot:
            return self.snapshot(now_ms)
        market, book = self.market, self.market.book
        if book.update_id == self.last_update_id:
            return None
        asks, bids = book.top(self.depth)
        new_asks, new_bids = dict(asks), dict(bids)
        ask_changes = self._changes(self._asks, new_asks, descending=False)
        bid_changes = self._changes(self._bids, new_bids, descending=True)
        if not ask_changes and not bid_changes and not self.skip:
            return None  # nothing to tell: the next frame's fi..li will cover these ids too
        first_update_id = self.last_update_id + 1
        self._asks, self._bids, self.last_update_id = new_asks, new_bids, book.update_id
        if self.skip:
            self.skip = False
            return None
        return frames.book(
            "update",
            market.spec.name,
            ask_changes,
            bid_changes,
            first_update_id=first_update_id,
            last_update_id=book.update_id,
            version=book.version,
            now_ms=now_ms,
        )

    def _levels(self, levels: list[Level]) -> list[list[str]]:
        fmt_price, fmt_volume = self.market.format_price, self.market.format_volume
        return [[fmt_price(price), fmt_volume(volume)] for price, volume in levels]

    def _changes(
        self, old: dict[int, int], new: dict[int, int], *, descending: bool
    ) -> list[list[str]]:
        changed = [price for price, volume in new.items() if old.get(price) != volume]
        changed += [price for price in old if price not in new]
        if not changed:
            return []
        changed.sort(reverse=descending)
        fmt_price, fmt_volume = self.market.format_price, self.market.format_volume
        return [
            [fmt_price(price), fmt_volume(new[price]) if price in new else REMOVED]
            for price in changed
        ]
