"""Random snapshot/delta/gap/version sequences: compiled book, twin and a dict model agree;
the two book keepers agree, updates before their snapshot included."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from twins import compiled

from maicoin.ws._frames import _book_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.channel import Channel
from maicoin.ws.stats import StreamStats
from maicoin.ws.subscription import Subscription

_book_c = compiled("_frames._book_c")
pytestmark = pytest.mark.skipif(_book_c is None, reason="compiled module not built")

BAD_TEXTS = ("", "x", "-1", "nan", "1_0", " 1")


class ReferenceBook:
    """MAX's documented book algorithm over dicts: price -> (price_text, volume_text)."""

    def __init__(self) -> None:
        self.asks: dict[float, tuple[str, str]] = {}
        self.bids: dict[float, tuple[str, str]] = {}
        self.synced = False
        self.li = 0
        self.v = 0

    def invalidate(self) -> None:
        self.synced = False
        self.asks.clear()
        self.bids.clear()

    def _apply(self, levels: list[list[str]], side: dict[float, tuple[str, str]]) -> None:
        for price_text, volume_text in levels:
            if price_text in BAD_TEXTS or volume_text in BAD_TEXTS:
                self.invalidate()
                raise ValueError("malformed level")
            price = float(price_text)
            if float(volume_text) == 0:
                side.pop(price, None)
            else:
                side[price] = (price_text, volume_text)

    def snapshot(self, asks: list[list[str]], bids: list[list[str]], li: int, v: int) -> str:
        self.invalidate()
        self._apply(asks, self.asks)
        self._apply(bids, self.bids)
        self.li, self.v = li, v
        if not self.asks and not self.bids:
            return "CLEARED"
        self.synced = True
        return "APPLIED"

    def update(self, asks: list[list[str]], bids: list[list[str]], fi: int, li: int, v: int) -> str:
        if not self.synced:
            return "IGNORED"
        if v != self.v:
            self.invalidate()
            return "VERSION_CHANGED"
        if li <= self.li:
            return "STALE"
        if not fi <= self.li + 1 <= li:
            self.invalidate()
            return "GAP"
        self._apply(asks, self.asks)
        self._apply(bids, self.bids)
        self.li = li
        return "APPLIED"

    def levels(self) -> tuple[list[Any], list[Any]]:
        def rows(side: dict[float, tuple[str, str]], reverse: bool) -> list[Any]:
            return [
                (price, float(side[price][1]), *side[price])
                for price in sorted(side, reverse=reverse)
            ]

        return rows(self.asks, reverse=False), rows(self.bids, reverse=True)


def _text(ticks: int, style: int) -> str:
    """The same price written the ways an exchange might: "12.3", "12.30", "1.23e1"."""
    value = f"{ticks // 10}.{ticks % 10}"
    if style == 1:
        return value + "0"
    if style == 2:
        return f"{ticks}e-1"
    return value


prices = st.builds(_text, st.integers(1, 40), st.integers(0, 2))
volumes = st.sampled_from(["0", "0.0", "1", "0.5", "2.25", "1e-3", "10.000"])
good_level = st.tuples(prices, volumes).map(list)
bad_level = st.one_of(
    st.tuples(st.sampled_from(BAD_TEXTS), volumes).map(list),
    st.tuples(prices, st.sampled_from(BAD_TEXTS)).map(list),
)
levels = st.lists(good_level, max_size=8)
maybe_bad_levels = st.one_of(
    levels, st.tuples(levels, bad_level).map(lambda pair: [*pair[0], pair[1]])
)


class ThreeBooks(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert _book_c is not None
        self.books = [_book_c.OrderBook("btcusdt"), _book_py.OrderBook("btcusdt")]
        self.model = ReferenceBook()

    def _apply(self, name: str, *args: Any) -> None:
        outcomes = []
        for impl, ob in zip((_book_c, _book_py), self.books, strict=True):
            try:
                result = getattr(ob, f"apply_{name}")(*args)
            except ValueError as exc:
                outcomes.append(("error", str(exc)))
            else:
                names = [
                    n
                    for n in ("APPLIED", "STALE", "GAP", "VERSION_CHANGED", "CLEARED", "IGNORED")
                    if getattr(impl, n) == result
                ]
                outcomes.append(("result", names[0]))
        try:
            expected = getattr(self.model, name)(*args)
        except ValueError:
            assert outcomes[0][0] == "error"
            assert outcomes[0] == outcomes[1]
        else:
            assert outcomes == [("result", expected)] * 2

    @rule(
        asks=maybe_bad_levels,
        bids=levels,
        li=st.integers(0, 60),
        v=st.integers(0, 2),
    )
    def snapshot(self, asks: list[list[str]], bids: list[list[str]], li: int, v: int) -> None:
        self._apply("snapshot", asks, bids, li, v)

    @precondition(lambda self: self.model.synced)
    @rule(
        asks=levels,
        bids=maybe_bad_levels,
        start=st.integers(-3, 2),
        length=st.integers(0, 3),
        version_shift=st.sampled_from([0, 0, 0, 0, 1]),
    )
    def update(
        self,
        asks: list[list[str]],
        bids: list[list[str]],
        start: int,
        length: int,
        version_shift: int,
    ) -> None:
        """Mostly in-sequence deltas, with stale ones, gaps and version changes mixed in."""
        fi = self.model.li + start
        self._apply("update", asks, bids, fi, fi + length, self.model.v + version_shift)

    @rule(asks=levels, bids=levels, fi=st.integers(0, 80), li=st.integers(0, 80))
    def unsequenced_update(
        self, asks: list[list[str]], bids: list[list[str]], fi: int, li: int
    ) -> None:
        self._apply("update", asks, bids, fi, li, self.model.v)

    @rule()
    def invalidate(self) -> None:
        self.model.invalidate()
        for ob in self.books:
            ob.invalidate()

    @invariant()
    def books_agree(self) -> None:
        asks, bids = self.model.levels()
        for ob in self.books:
            assert (ob.synced, ob.last_update_id, ob.version) == (
                self.model.synced,
                self.model.li,
                self.model.v,
            )
            assert [tuple(level) for level in ob.asks()] == asks
            assert [tuple(level) for level in ob.bids()] == bids
            assert (len(ob), ob.ask_count, ob.bid_count) == (
                len(asks) + len(bids),
                len(asks),
                len(bids),
            )
            assert ob.best_ask == (ob.asks(1) or [None])[0]
            assert ob.best_bid == (ob.bids(1) or [None])[0]
            if asks and bids:
                assert ob.spread == asks[0][0] - bids[0][0]
                assert ob.mid == (asks[0][0] + bids[0][0]) / 2
            else:
                assert ob.spread is None
        assert repr(self.books[0]) == repr(self.books[1])


TestThreeBooks = ThreeBooks.TestCase
TestThreeBooks.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.eE+-", max_size=12))
def test_decimal_grammar_agrees(text: str) -> None:
    """Any short numeric-looking string: both twins accept it with the same value or refuse it."""
    assert _book_c is not None
    outcomes = []
    for impl in (_book_c, _book_py):
        ob = impl.OrderBook("btcusdt")
        try:
            ob.apply_snapshot([[text, "1"]], None, 1, 1)
        except ValueError as exc:
            outcomes.append(str(exc))
        else:
            outcomes.append(ob.best_ask_price)
    assert outcomes[0] == outcomes[1]


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.sampled_from(["{!r}", "{:.2f}", "{:.8f}", "{:.17e}", "{:.3e}", "{:.25f}"]),
)
def test_compiled_parse_equals_float(value: float, template: str) -> None:
    """Prices written with any number of digits parse to exactly float(text)."""
    assert _book_c is not None
    text = template.format(value).replace("e+", "e")
    assume(math.isfinite(float(text)))  # rounding up to 4 digits can overflow
    ob = _book_c.OrderBook("btcusdt")
    ob.apply_snapshot(None, [[text, "1"]], 1, 1)
    assert ob.best_bid_price == float(text)
    assert ob.best_bid.price_text == text


# -- the two book keepers, early updates included ---------------------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("snapshot"), levels, st.integers(0, 40), st.integers(1, 2)),
        st.tuples(
            st.just("update"),
            maybe_bad_levels,
            st.integers(0, 40),
            st.integers(0, 3),
            st.sampled_from([1, 1, 1, 2]),
        ),
        st.tuples(st.just("empty"), st.integers(0, 40)),
        st.tuples(st.just("reconnect")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_ops, st.integers(0, 4))
def test_keepers_agree_on_every_sequence(ops: list[Any], early_limit: int) -> None:
    """Snapshots, updates before and after them, empty snapshots and reconnects in any
    order: both keepers return the same resyncs, hold the same updates, keep the same book."""
    assert _book_c is not None
    decode = make_decoder()
    sub = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
    keepers, stats = [], []
    for impl in (_book_c, _book_py):
        stats.append(StreamStats())
        keepers.append(impl.BookKeeper(stats[-1], early_limit))
        keepers[-1].track(sub)
    for op in ops:
        raw: dict[str, Any] = {"c": "book", "M": "btcusdt", "T": 1}
        if op[0] == "reconnect":
            for keeper in keepers:
                keeper.invalidate_all()
            continue
        if op[0] == "snapshot":
            raw.update(e="snapshot", a=op[1], b=[["1", "1"]], li=op[2], v=op[3])
        elif op[0] == "empty":
            raw.update(e="snapshot", a=[], b=[], li=op[1], v=1)
        else:
            raw.update(e="update", a=op[1], b=[], fi=op[2], li=op[2] + op[3], v=op[4])
        response = decode(json.dumps(raw))
        results = [keeper.apply(response) for keeper in keepers]
        assert results[0] == results[1]
        books = [keeper.books["btcusdt"] for keeper in keepers]
        assert keepers[0].held("btcusdt") == keepers[1].held("btcusdt") <= early_limit
        assert repr(books[0]) == repr(books[1])
        assert [tuple(x) for x in books[0].asks()] == [tuple(x) for x in books[1].asks()]
        assert stats[0] == stats[1]
