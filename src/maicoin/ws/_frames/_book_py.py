"""Pure-Python twin of the compiled order book (``_book_c``): same behaviour, bisect on lists.

Each side keeps two parallel lists sorted by an ascending key with the best level last, so
the levels that change most often (near the top) are the cheapest to insert and remove:
bids use the price as key, asks the negated price. :class:`BookKeeper` holds the stream's
books and feeds them every book frame.
"""

from __future__ import annotations

import math
import operator
import re
from bisect import bisect_left
from typing import TYPE_CHECKING, NoReturn

from ..channel import Channel
from .rules import (
    APPLIED,
    CLEARED,
    EARLY_UPDATE_LIMIT,
    GAP,
    IGNORED,
    RESYNC_REASONS,
    SNAPSHOT_EVENTS,
    STALE,
    VERSION_CHANGED,
    BookResync,
    Level,
    checked_early_limit,
    early_overflow,
    malformed_frame,
    out_of_sequence,
)

if TYPE_CHECKING:
    from ..response import Response
    from ..stats import StreamStats
    from ..subscription import Subscription

__all__ = [
    "APPLIED",
    "CLEARED",
    "EARLY_UPDATE_LIMIT",
    "GAP",
    "IGNORED",
    "STALE",
    "VERSION_CHANGED",
    "BookKeeper",
    "BookResync",
    "Level",
    "OrderBook",
]

# A plain non-negative decimal as MAX sends it ("5337.30", "0.0001", "1e-8"). The other
# spellings float() accepts (whitespace, signs, "nan", "1_0") are refused; ``_book_c``
# parses exactly this grammar.
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _parse_decimal(text: object) -> float | None:
    # Exact str only, as JSON decoding gives: the compiled twin refuses subclasses, whose
    # finalizers could run Python code while a side is being rearranged.
    if type(text) is not str or _DECIMAL.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


class _Side:
    """One side of the book: keys ascending (best last) and the Level for each key."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.keys: list[float] = []
        self.levels: list[Level] = []

    def clear(self) -> None:
        self.keys.clear()
        self.levels.clear()

    def upsert(self, price: float, volume: float, price_text: str, volume_text: str) -> None:
        key = price * self.sign
        keys = self.keys
        index = bisect_left(keys, key)
        found = index < len(keys) and keys[index] == key
        if volume == 0.0:
            if found:
                del keys[index]
                del self.levels[index]
        elif found:
            self.levels[index] = Level(price, volume, price_text, volume_text)
        else:
            keys.insert(index, key)
            self.levels.insert(index, Level(price, volume, price_text, volume_text))

    def best_first(self, depth: int | None) -> list[Level]:
        if depth is None:
            return self.levels[::-1]
        depth = operator.index(depth)
        if depth < 0:
            raise ValueError(f"depth must be >= 0 or None, got {depth!r}")
        return self.levels[: -depth - 1 : -1] if depth else []


class OrderBook:
    """The local order book of one market, kept in sequence by the exchange's documented rules.

    Feed it the ``a``/``b``/``fi``/``li``/``v`` fields of ``book`` snapshots and updates;
    each call returns one of the result constants. While not synced (before the first
    snapshot, after a gap, a version change, an empty snapshot or :meth:`invalidate`) the
    book holds no levels and updates are ignored until the next snapshot.

    Levels are ``[price, volume]`` lists (or tuples) of ``str`` exactly as decoded from JSON:
    plain non-negative decimals such as ``"5337.30"`` or ``"1e-8"``; a volume of zero removes
    the level. A malformed level raises ``ValueError`` naming the market, the side and the
    value, and leaves the book invalidated rather than half-applied; so does an id or version
    that does not fit in 64 bits (a non-integer one is a ``TypeError``, the book untouched).
    """

    __slots__ = ("_asks", "_bids", "_last_update_id", "_market", "_synced", "_version")

    def __init__(self, market: str) -> None:
        if not isinstance(market, str):
            raise TypeError(f"market must be a str, got {type(market).__name__}")
        self._market = market
        self._synced = False
        self._last_update_id = 0
        self._version = 0
        self._asks = _Side(-1.0)
        self._bids = _Side(1.0)

    @property
    def market(self) -> str:
        """The market this book belongs to."""
        return self._market

    @property
    def synced(self) -> bool:
        """True between a non-empty snapshot and the next gap, version change or invalidation."""
        return self._synced

    @property
    def last_update_id(self) -> int:
        """The ``li`` of the last snapshot or update applied."""
        return self._last_update_id

    @property
    def version(self) -> int:
        """The ``v`` of the last snapshot applied."""
        return self._version

    def apply_snapshot(
        self,
        asks: list[list[str]] | None,
        bids: list[list[str]] | None,
        last_update_id: int,
        version: int,
    ) -> int:
        """Replace the whole book; return APPLIED, or CLEARED when the snapshot is empty."""
        last_update_id = self._update_id(last_update_id, "last_update_id")
        version = self._update_id(version, "version")
        self.invalidate()
        self._load("asks", self._asks, asks)
        self._load("bids", self._bids, bids)
        self._last_update_id = last_update_id
        self._version = version
        if not self._asks.keys and not self._bids.keys:
            return CLEARED
        self._synced = True
        return APPLIED

    def apply_update(
        self,
        asks: list[list[str]] | None,
        bids: list[list[str]] | None,
        first_update_id: int,
        last_update_id: int,
        version: int,
    ) -> int:
        """Apply one delta if it is next in sequence; return the result constant.

        Levels are only examined when the update is applied (not when it is ignored,
        stale, a gap or of another version).
        """
        first_update_id = self._update_id(first_update_id, "first_update_id")
        last_update_id = self._update_id(last_update_id, "last_update_id")
        version = self._update_id(version, "version")
        if not self._synced:
            return IGNORED
        if version != self._version:
            self.invalidate()
            return VERSION_CHANGED
        if last_update_id <= self._last_update_id:
            return STALE
        if first_update_id > self._last_update_id + 1:
            self.invalidate()
            return GAP
        self._load("asks", self._asks, asks)
        self._load("bids", self._bids, bids)
        self._last_update_id = last_update_id
        return APPLIED

    def invalidate(self) -> None:
        """Mark the book unsynced and drop its levels until the next snapshot."""
        self._synced = False
        self._asks.clear()
        self._bids.clear()

    def _update_id(self, value: int, name: str) -> int:
        """An id or version as int64, refusing floats (TypeError) like the compiled twin."""
        value = operator.index(value)
        if not -(2**63) <= value < 2**63:
            self._reject(f"{name} {value} does not fit in 64 bits")
        return value

    def _load(self, side_name: str, side: _Side, levels: list[list[str]] | None) -> None:
        if levels is None:
            return
        if not isinstance(levels, (list, tuple)):
            self._reject(f"expected a list of levels, got {levels!r}", side_name)
        for level in levels:
            if not isinstance(level, (list, tuple)) or len(level) != 2:
                self._reject(f"level {level!r} is not a [price, volume] pair", side_name)
            price_text, volume_text = level
            price = _parse_decimal(price_text)
            if price is None:
                self._reject(f"price {price_text!r} is not a valid decimal string", side_name)
            volume = _parse_decimal(volume_text)
            if volume is None:
                self._reject(f"volume {volume_text!r} is not a valid decimal string", side_name)
            side.upsert(price, volume, price_text, volume_text)

    def _reject(self, problem: str, side_name: str | None = None) -> NoReturn:
        self.invalidate()
        where = self._market if side_name is None else f"{self._market} {side_name}"
        raise ValueError(f"{where}: {problem}")

    def __len__(self) -> int:
        return len(self._asks.keys) + len(self._bids.keys)

    @property
    def bid_count(self) -> int:
        """Number of bid levels."""
        return len(self._bids.keys)

    @property
    def ask_count(self) -> int:
        """Number of ask levels."""
        return len(self._asks.keys)

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None when there is none."""
        levels = self._bids.levels
        return levels[-1] if levels else None

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None when there is none."""
        levels = self._asks.levels
        return levels[-1] if levels else None

    @property
    def best_bid_price(self) -> float | None:
        """The highest bid price, or None."""
        keys = self._bids.keys
        return keys[-1] if keys else None

    @property
    def best_ask_price(self) -> float | None:
        """The lowest ask price, or None."""
        keys = self._asks.keys
        return -keys[-1] if keys else None

    def bids(self, depth: int | None = None) -> list[Level]:
        """The best ``depth`` bids (all when None), best first, as a new list (a copy)."""
        return self._bids.best_first(depth)

    def asks(self, depth: int | None = None) -> list[Level]:
        """The best ``depth`` asks (all when None), best first, as a new list (a copy)."""
        return self._asks.best_first(depth)

    @property
    def spread(self) -> float | None:
        """Best ask minus best bid, or None when a side is empty."""
        bids, asks = self._bids.keys, self._asks.keys
        return -asks[-1] - bids[-1] if bids and asks else None

    @property
    def mid(self) -> float | None:
        """Midpoint of best bid and best ask, or None when a side is empty."""
        bids, asks = self._bids.keys, self._asks.keys
        return (bids[-1] - asks[-1]) / 2.0 if bids and asks else None

    def __repr__(self) -> str:
        return (
            f"OrderBook(market={self._market!r}, synced={self._synced}, "
            f"li={self._last_update_id}, v={self._version}, "
            f"best_bid={_describe(self.best_bid)}, best_ask={_describe(self.best_ask)})"
        )


def _describe(level: Level | None) -> str:
    return "None" if level is None else f"{level.price_text} x {level.volume_text}"


class BookKeeper:
    """One ``OrderBook`` per subscribed book market, fed with every book frame.

    An update for a book that waits for its snapshot (before the first one, after a
    reconnect, a resync or an empty snapshot) is held, up to ``early_limit`` per market:
    on large subscribes the exchange can send a market's update before its snapshot. When
    the snapshot comes, the held updates it covers (``li`` <= its ``li``) are dropped and
    the rest applied by the sequencing rule, so such a race needs no resync. One update
    more than the limit drops the held ones and asks for a resync (``"early_overflow"``).
    Holding changes only the book: the stream hands every frame to its handlers as it
    arrives, a held update included.
    """

    __slots__ = ("_early_limit", "_held", "_stats", "books")

    def __init__(self, stats: StreamStats, early_limit: int = EARLY_UPDATE_LIMIT) -> None:
        self.books: dict[str, OrderBook] = {}
        self._stats = stats
        self._early_limit = checked_early_limit(early_limit)
        self._held: dict[str, list[Response]] = {}

    @property
    def early_limit(self) -> int:
        """Updates held per market while its book waits for a snapshot."""
        return self._early_limit

    def held(self, market: str) -> int:
        """How many updates of ``market`` wait for its snapshot."""
        held = self._held.get(market)
        return 0 if held is None else len(held)

    def track(self, sub: Subscription) -> None:
        """Keep a book for a ``book`` subscription's market (an existing one stays)."""
        if sub.channel == Channel.BOOK and sub.market and sub.market not in self.books:
            self.books[sub.market] = OrderBook(sub.market)

    def untrack(self, sub: Subscription) -> None:
        """Drop the book of a ``book`` subscription's market, and its held updates."""
        if sub.channel == Channel.BOOK and sub.market:
            self.books.pop(sub.market, None)
            self._held.pop(sub.market, None)

    def invalidate_all(self) -> None:
        """A new connection: every book waits for its new snapshot; held updates go."""
        self._held.clear()
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
                if not book.synced:
                    return self._hold(market, response, last)
                result = book.apply_update(
                    response.asks,
                    response.bids,
                    response.first_update_id or 0,
                    response.last_update_id or 0,
                    response.version or 0,
                )
            elif response.event in SNAPSHOT_EVENTS:
                book.apply_snapshot(
                    response.asks,
                    response.bids,
                    response.last_update_id or 0,
                    response.version or 0,
                )
                return self._replay(market, book) if market in self._held else None
            else:
                return None
        except ValueError as exc:
            return malformed_frame(self._stats, market, last, exc)
        reason = RESYNC_REASONS.get(result)
        if reason is None:
            return None
        return out_of_sequence(self._stats, market, reason, last, response)

    def _hold(self, market: str, response: Response, last: int) -> BookResync | None:
        """Keep an update that came before its book's snapshot."""
        limit = self._early_limit
        if not limit:
            return None
        held = self._held.get(market)
        if held is None:
            self._held[market] = [response]
            return None
        if len(held) < limit:
            held.append(response)
            return None
        del self._held[market]
        return early_overflow(self._stats, market, len(held), last, response)

    def _replay(self, market: str, book: OrderBook) -> BookResync | None:
        """After a snapshot: drop the held updates it covers, apply the rest in order."""
        snapshot_li = book.last_update_id
        # Dropped before the sequencing rule, which would check their version first.
        held = [r for r in self._held.pop(market) if (r.last_update_id or 0) > snapshot_li]
        if not book.synced:  # an empty snapshot: keep what it does not cover for the next
            if held:
                self._held[market] = held
            return None
        for response in held:
            last = book.last_update_id
            try:
                result = book.apply_update(
                    response.asks,
                    response.bids,
                    response.first_update_id or 0,
                    response.last_update_id or 0,
                    response.version or 0,
                )
            except ValueError as exc:
                return malformed_frame(self._stats, market, last, exc)
            reason = RESYNC_REASONS.get(result)
            if reason is not None:
                return out_of_sequence(self._stats, market, reason, last, response)
        return None
