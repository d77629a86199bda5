"""One book subscription's view: the top N levels the client was last told, and diffs from it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from . import frames
from .book import Level
from .market import Market

REMOVED = "0"
"""The volume string that removes a level."""


@dataclass(frozen=True, slots=True)
class WireStyle:
    """How book frames lay out their levels. The defaults are the tidy documented layout:
    both sides best first, update levels sorted, one spelling per price."""

    bids_ascending: bool = False
    """Snapshot bids worst first (ascending), as the live exchange sends them."""
    shuffle: bool = False
    """Update levels in a random order (from the view's seeded generator), not sorted."""
    respell: float = 0.0
    """Probability that a level an update removes is spelt the other way ("60000.10" as
    "60000.1", "60000.12" as "60000.120"): the same number, another string."""


def respelt(text: str) -> str:
    """The same decimal written differently: trailing fraction zeros dropped, else one added."""
    whole, dot, fraction = text.partition(".")
    if not dot:
        return f"{text}.0"
    if fraction.endswith("0"):
        fraction = fraction.rstrip("0")
        return f"{whole}.{fraction}" if fraction else whole
    return f"{text}0"


class BookView:
    """What one subscriber of ``market`` at ``depth`` believes the book is.

    Each update carries the difference between that belief and the true top N, with
    ``fi``/``li`` covering every update id since the last frame sent to this subscriber.
    ``style`` lays the levels out; ``rng`` drives its shuffles and respellings.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "_rng",
        "depth",
        "last_update_id",
        "market",
        "needs_snapshot",
        "skip",
        "style",
    )

    def __init__(
        self,
        market: Market,
        depth: int,
        *,
        style: WireStyle | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.market = market
        self.depth = depth
        self.style = WireStyle() if style is None else style
        self._rng = random.Random(market.spec.name) if rng is None else rng
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
            self._levels(bids[::-1] if self.style.bids_ascending else bids),
            first_update_id=li,
            last_update_id=li,
            version=book.version,
            now_ms=now_ms,
        )

    def racing_snapshot(self, now_ms: int) -> list[dict[str, Any]] | None:
        """A subscribe race, as the live exchange has them on large subscribes: the update of
        the latest id, then a snapshot one id older. The next update then starts two past the
        snapshot's ``li``. None when the book one id back is not known or is empty.
        """
        market, book = self.market, self.market.book
        li = book.update_id
        if li - 1 < book.oldest_update_id():
            return None
        before = book.state_at(li - 1)
        if not before.asks or not before.bids:
            return None
        old_asks, old_bids = before.asks[: self.depth], before.bids[: self.depth]
        asks, bids = book.top(self.depth)
        new_asks, new_bids = dict(asks), dict(bids)
        update = frames.book(
            "update",
            market.spec.name,
            self._changes(dict(old_asks), new_asks, descending=False),
            self._changes(dict(old_bids), new_bids, descending=True),
            first_update_id=li,
            last_update_id=li,
            version=book.version,
            now_ms=now_ms,
        )
        snapshot = frames.book(
            "snapshot",
            market.spec.name,
            self._levels(old_asks),
            self._levels(old_bids[::-1] if self.style.bids_ascending else old_bids),
            first_update_id=li - 1,
            last_update_id=li - 1,
            version=before.version,
            now_ms=now_ms,
        )
        self._asks, self._bids, self.last_update_id = new_asks, new_bids, li
        self.needs_snapshot = False
        return [update, snapshot]

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
        style, rng = self.style, self._rng
        if style.shuffle:
            changed.sort()  # a set order first, so the shuffle depends on the seed only
            rng.shuffle(changed)
        else:
            changed.sort(reverse=descending)
        fmt_price, fmt_volume = self.market.format_price, self.market.format_volume
        levels = []
        for price in changed:
            text = fmt_price(price)
            if price in new:
                levels.append([text, fmt_volume(new[price])])
            else:
                if style.respell and rng.random() < style.respell:
                    text = respelt(text)
                levels.append([text, REMOVED])
        return levels
