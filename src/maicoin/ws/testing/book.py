"""The simulator's ground truth: one full order book per market, with a bounded undo history."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

ASK = 0
BID = 1

Level = tuple[int, int]
"""A price level as integers: (price, volume) in units of their last decimal place."""
Change = tuple[int, int, int]
"""(side, price, volume): the new volume of one level, 0 removes it."""

DEFAULT_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class BookState:
    """Both sides of a book at one update id, best level first."""

    asks: list[Level]
    bids: list[Level]
    last_update_id: int
    version: int


class TrueBook:
    """The complete book of one market.

    Every ``apply`` is one step with the next update id. The last ``history`` steps can be
    undone on a copy, so the book as it was at any of those ids can be rebuilt.
    """

    __slots__ = (
        "_ask_prices",
        "_base_version",
        "_bid_keys",
        "_history",
        "_pending",
        "_undo",
        "asks",
        "bids",
        "update_id",
        "version",
    )

    def __init__(self, *, first_update_id: int = 0, version: int = 1, history: int) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self.asks: dict[int, int] = {}
        self.bids: dict[int, int] = {}
        self._ask_prices: list[int] = []  # ascending: best ask first
        self._bid_keys: list[int] = []  # negated bid prices, ascending: best bid first
        self.update_id = first_update_id
        self.version = version
        self._history = history
        self._base_version = version
        self._undo: deque[tuple[int, list[Change]]] = deque()
        self._pending: list[Change] = []

    def set_level(self, side: int, price: int, volume: int) -> None:
        """Change one level within the step being built (volume 0 removes it)."""
        levels = self.asks if side == ASK else self.bids
        self._pending.append((side, price, levels.get(price, 0)))
        self._set(side, price, volume)

    def volume(self, side: int, price: int) -> int:
        """The volume at ``price`` (0 when there is no such level)."""
        return (self.asks if side == ASK else self.bids).get(price, 0)

    def commit(self) -> int:
        """Close the step built by ``set_level`` calls and return its (new) update id."""
        if len(self._undo) == self._history:
            self._base_version = self._undo.popleft()[0]
        self._undo.append((self.version, self._pending))
        self._pending = []
        self.update_id += 1
        return self.update_id

    def apply(self, changes: list[Change]) -> int:
        """Apply one whole step of level changes and return its (new) update id."""
        for side, price, volume in changes:
            self.set_level(side, price, volume)
        return self.commit()

    def side_size(self, side: int) -> int:
        """How many levels one side holds."""
        return len(self._ask_prices if side == ASK else self._bid_keys)

    def worst_price(self, side: int) -> int:
        """The deepest price of a non-empty side."""
        return self._ask_prices[-1] if side == ASK else -self._bid_keys[-1]

    def price_at(self, side: int, index: int) -> int:
        """The price of the ``index``-th best level of a side (0 = best)."""
        return self._ask_prices[index] if side == ASK else -self._bid_keys[index]

    def bump_version(self) -> int:
        """Start a new book version; later updates carry it. Returns the new version."""
        self.version += 1
        return self.version

    def best_ask(self) -> int | None:
        return self._ask_prices[0] if self._ask_prices else None

    def best_bid(self) -> int | None:
        return -self._bid_keys[0] if self._bid_keys else None

    def ask_prices(self) -> list[int]:
        """Ask prices, best (lowest) first. The list is the book's own: do not modify it."""
        return self._ask_prices

    def bid_prices(self) -> list[int]:
        """Bid prices, best (highest) first (a new list)."""
        return [-key for key in self._bid_keys]

    def top(self, depth: int | None = None) -> tuple[list[Level], list[Level]]:
        """The best ``depth`` levels of each side (all when None), best first."""
        asks, bids = self.asks, self.bids
        ask_prices = self._ask_prices if depth is None else self._ask_prices[:depth]
        bid_keys = self._bid_keys if depth is None else self._bid_keys[:depth]
        return [(p, asks[p]) for p in ask_prices], [(-k, bids[-k]) for k in bid_keys]

    def oldest_update_id(self) -> int:
        """The oldest update id ``state_at`` can still rebuild."""
        return self.update_id - len(self._undo)

    def state_at(self, update_id: int | None = None) -> BookState:
        """The full book at ``update_id`` (default: now).

        Raises ``ValueError`` for an id in the future or older than the kept history.
        """
        if update_id is None or update_id == self.update_id:
            asks, bids = self.top()
            return BookState(asks, bids, self.update_id, self.version)
        oldest = self.oldest_update_id()
        if not oldest <= update_id <= self.update_id:
            raise ValueError(
                f"update_id {update_id} is outside the kept history [{oldest}, {self.update_id}]"
            )
        asks_at, bids_at = dict(self.asks), dict(self.bids)
        steps_back = self.update_id - update_id
        entries = list(self._undo)
        for _, undo in reversed(entries[len(entries) - steps_back :]):
            for side, price, old in reversed(undo):
                levels = asks_at if side == ASK else bids_at
                if old:
                    levels[price] = old
                else:
                    levels.pop(price, None)
        # The version of a step is the one it was produced under.
        index = len(entries) - steps_back - 1
        version = entries[index][0] if index >= 0 else self._base_version
        return BookState(
            sorted(asks_at.items()),
            sorted(bids_at.items(), reverse=True),
            update_id,
            version,
        )

    def _set(self, side: int, price: int, volume: int) -> None:
        if side == ASK:
            levels, keys, key = self.asks, self._ask_prices, price
        else:
            levels, keys, key = self.bids, self._bid_keys, -price
        if volume:
            if price not in levels:
                insort(keys, key)
            levels[price] = volume
        elif levels.pop(price, None) is not None:
            del keys[bisect_left(keys, key)]
