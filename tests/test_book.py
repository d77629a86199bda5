"""The local order book, in both implementations: sequencing rules, reads and bad input."""

from __future__ import annotations

import gc
from types import ModuleType
from typing import Any

import pytest
from twins import compiled, twin_fixture

from maicoin.ws import book
from maicoin.ws._extensions import NO_EXTENSIONS
from maicoin.ws._frames import _book_py

RESULTS = ("APPLIED", "STALE", "GAP", "VERSION_CHANGED", "CLEARED", "IGNORED")


_book_c = compiled("_frames._book_c")


impl = twin_fixture(
    _book_c, _book_py, reason="compiled module not built (test_book_c_loaded fails)"
)


ASKS = [["5337.30", "0.5"], ["5338.0", "1.25"], ["5340", "3"]]
BIDS = [["5336.9", "2"], ["5336", "0.0001"], ["5300.00", "10"]]


def synced_book(impl: ModuleType, li: int = 10, v: int = 1) -> Any:
    ob = impl.OrderBook("btcusdt")
    assert ob.apply_snapshot(ASKS, BIDS, li, v) == impl.APPLIED
    return ob


def side(levels: list[Any]) -> list[tuple[str, str]]:
    return [(level.price_text, level.volume_text) for level in levels]


# --- the module pair -------------------------------------------------------------------


def test_book_c_loaded() -> None:
    """A normal install uses the compiled book; only an opt-out selects the twin."""
    if NO_EXTENSIONS:
        assert book.IMPLEMENTATION == "py"
        assert book.OrderBook is _book_py.OrderBook
    else:
        assert _book_c is not None, "maicoin.ws._book_c did not build or import"
        assert book.IMPLEMENTATION == "c"
        assert book.OrderBook is _book_c.OrderBook


@pytest.mark.skipif(_book_c is None, reason="compiled module not built")
def test_twins_share_result_constants_and_level() -> None:
    assert _book_c is not None
    values = [getattr(_book_py, name) for name in RESULTS]
    assert [getattr(_book_c, name) for name in RESULTS] == values
    assert [getattr(book, name) for name in RESULTS] == values
    assert len(set(values)) == len(values)
    assert _book_c.Level is _book_py.Level is book.Level


def test_level_fields(impl: ModuleType) -> None:
    assert impl.Level._fields == ("price", "volume", "price_text", "volume_text")


# --- sequencing ------------------------------------------------------------------------


def test_new_book_is_unsynced_and_empty(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    assert (ob.market, ob.synced, ob.last_update_id, ob.version) == ("btcusdt", False, 0, 0)
    assert len(ob) == ob.bid_count == ob.ask_count == 0
    assert ob.best_bid is ob.best_ask is ob.best_bid_price is ob.best_ask_price is None
    assert ob.spread is ob.mid is None
    assert ob.bids() == ob.asks() == []


def test_snapshot_replaces_the_whole_book(impl: ModuleType) -> None:
    ob = synced_book(impl)
    result = ob.apply_snapshot([["6000.1", "1"]], [["5999", "2"]], 42, 7)
    assert result == impl.APPLIED
    assert (ob.synced, ob.last_update_id, ob.version) == (True, 42, 7)
    assert side(ob.asks()) == [("6000.1", "1")]
    assert side(ob.bids()) == [("5999", "2")]


def test_snapshot_sorts_and_keeps_every_side(impl: ModuleType) -> None:
    ob = synced_book(impl)
    assert side(ob.asks()) == [("5337.30", "0.5"), ("5338.0", "1.25"), ("5340", "3")]
    assert side(ob.bids()) == [("5336.9", "2"), ("5336", "0.0001"), ("5300.00", "10")]
    assert (ob.ask_count, ob.bid_count, len(ob)) == (3, 3, 6)


def test_unordered_snapshot_with_repeats_applies_levels_in_order(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    asks = [["3", "1"], ["1", "1"], ["2", "5"], ["1.0", "9"], ["3", "0"]]
    bids = [["0.5", "1"], ["0.7", "2"], ["0.6", "3"]]
    assert ob.apply_snapshot(asks, bids, 5, 1) == impl.APPLIED
    assert side(ob.asks()) == [("1.0", "9"), ("2", "5")]
    assert side(ob.bids()) == [("0.7", "2"), ("0.6", "3"), ("0.5", "1")]


@pytest.mark.parametrize("order", ["worst-first", "best-first"])
def test_snapshot_sides_sent_in_either_sorted_order(impl: ModuleType, order: str) -> None:
    """MAX sends snapshot bids worst first and asks best first; both orders, with a zero
    volume and a price spelt two ways between the sides, load the same book."""
    asks = [["100.5", "1"], ["101", "2"], ["102.25", "0"], ["103", "3"]]
    bids = [["97", "4"], ["98.0", "0"], ["99", "5"], ["100", "6"]]
    if order == "best-first":
        asks, bids = asks[::-1], bids[::-1]
    ob = impl.OrderBook("btcusdt")
    assert ob.apply_snapshot(asks, bids, 5, 1) == impl.APPLIED
    assert side(ob.asks()) == [("100.5", "1"), ("101", "2"), ("103", "3")]
    assert side(ob.bids()) == [("100", "6"), ("99", "5"), ("97", "4")]
    assert ob.apply_update(None, [["98", "1"], ["100.0", "0"]], 6, 6, 1) == impl.APPLIED
    assert side(ob.bids()) == [("99", "5"), ("98", "1"), ("97", "4")]


def test_snapshot_drops_zero_volume_levels(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    ob.apply_snapshot([["1", "1"], ["2", "0"], ["3", "0.000"]], [["0.5", "0"]], 5, 1)
    assert side(ob.asks()) == [("1", "1")]
    assert ob.bids() == []


@pytest.mark.parametrize(
    ("asks", "bids"),
    [([], []), (None, None), ([], None), ([["1", "0"]], [["0.5", "0.0"]])],
    ids=["empty-lists", "none", "mixed", "only-zero-volumes"],
)
def test_empty_snapshot_clears_and_waits_for_the_next(
    impl: ModuleType, asks: Any, bids: Any
) -> None:
    ob = synced_book(impl)
    assert ob.apply_snapshot(asks, bids, 20, 2) == impl.CLEARED
    assert not ob.synced
    assert len(ob) == 0
    assert (ob.last_update_id, ob.version) == (20, 2)
    assert ob.apply_update([["1", "1"]], None, 21, 21, 2) == impl.IGNORED
    assert len(ob) == 0
    assert ob.apply_snapshot(ASKS, BIDS, 30, 2) == impl.APPLIED
    assert ob.synced


def test_one_sided_snapshot_is_synced(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    assert ob.apply_snapshot(None, [["1", "1"]], 3, 1) == impl.APPLIED
    assert ob.synced
    assert ob.best_ask is None
    assert ob.spread is None


@pytest.mark.parametrize(("fi", "li"), [(5, 10), (10, 10), (1, 3)])
def test_entirely_old_update_is_dropped(impl: ModuleType, fi: int, li: int) -> None:
    ob = synced_book(impl, li=10)
    assert ob.apply_update([["5337.30", "0"]], [["1", "1"]], fi, li, 1) == impl.STALE
    assert ob.synced
    assert ob.last_update_id == 10
    assert side(ob.asks()) == side(synced_book(impl).asks())
    assert ob.bid_count == 3


@pytest.mark.parametrize(("fi", "li"), [(11, 11), (11, 15), (8, 12), (1, 11)])
def test_update_covering_next_id_is_applied(impl: ModuleType, fi: int, li: int) -> None:
    ob = synced_book(impl, li=10)
    assert ob.apply_update([["5337.5", "4"]], None, fi, li, 1) == impl.APPLIED
    assert ob.last_update_id == li
    assert side(ob.asks(2)) == [("5337.30", "0.5"), ("5337.5", "4")]


@pytest.mark.parametrize(("fi", "li"), [(12, 12), (12, 20), (15, 13)])
def test_gap_invalidates(impl: ModuleType, fi: int, li: int) -> None:
    ob = synced_book(impl, li=10)
    assert ob.apply_update([["5337.5", "4"]], None, fi, li, 1) == impl.GAP
    assert not ob.synced
    assert len(ob) == 0
    assert ob.last_update_id == 10
    assert ob.apply_update(None, None, 11, 11, 1) == impl.IGNORED


def test_gap_in_an_ongoing_stream(impl: ModuleType) -> None:
    ob = synced_book(impl, li=10)
    assert ob.apply_update(None, [["5336.95", "1"]], 11, 12, 1) == impl.APPLIED
    assert ob.apply_update(None, [["5336.96", "1"]], 13, 13, 1) == impl.APPLIED
    assert ob.apply_update(None, [["5336.97", "1"]], 15, 16, 1) == impl.GAP
    assert not ob.synced


def test_version_change_invalidates_before_the_stale_check(impl: ModuleType) -> None:
    ob = synced_book(impl, li=10, v=1)
    assert ob.apply_update(None, None, 3, 4, 2) == impl.VERSION_CHANGED
    assert not ob.synced
    assert len(ob) == 0
    assert ob.version == 1


def test_zero_volume_removes_a_level(impl: ModuleType) -> None:
    ob = synced_book(impl)
    assert ob.apply_update([["5337.3", "0"]], [["5300", "0.00"]], 11, 11, 1) == impl.APPLIED
    assert side(ob.asks()) == [("5338.0", "1.25"), ("5340", "3")]
    assert side(ob.bids()) == [("5336.9", "2"), ("5336", "0.0001")]
    assert ob.best_ask_price == 5338.0


def test_removing_an_absent_level_is_fine(impl: ModuleType) -> None:
    ob = synced_book(impl)
    assert ob.apply_update([["5339", "0"]], [["1", "0"]], 11, 11, 1) == impl.APPLIED
    assert ob.synced
    assert len(ob) == 6
    assert ob.last_update_id == 11


def test_update_replaces_volume_and_text_of_the_same_price(impl: ModuleType) -> None:
    ob = synced_book(impl)
    first = ob.best_ask
    ob.apply_update([["5337.3", "0.75"]], None, 11, 11, 1)
    assert ob.best_ask == impl.Level(5337.3, 0.75, "5337.3", "0.75")
    assert first == impl.Level(5337.3, 0.5, "5337.30", "0.5")
    assert ob.ask_count == 3


def test_best_level_follows_inserts_and_removals(impl: ModuleType) -> None:
    ob = synced_book(impl)
    assert ob.best_bid.price_text == "5336.9"
    ob.apply_update(None, [["5337.0", "1"]], 11, 11, 1)
    assert ob.best_bid.price_text == "5337.0"
    ob.apply_update(None, [["5337.0", "0"], ["5336.9", "0"]], 12, 12, 1)
    assert ob.best_bid == impl.Level(5336.0, 0.0001, "5336", "0.0001")


def test_mid_stream_snapshot_rebuilds(impl: ModuleType) -> None:
    ob = synced_book(impl, li=100, v=1)
    ob.apply_update([["5337.4", "1"]], None, 101, 101, 1)
    assert ob.apply_snapshot([["10", "1"]], [["9", "1"]], 5, 3) == impl.APPLIED
    assert (ob.synced, ob.last_update_id, ob.version) == (True, 5, 3)
    assert side(ob.asks()) == [("10", "1")]
    assert ob.apply_update([["11", "2"]], None, 6, 6, 3) == impl.APPLIED
    assert side(ob.asks()) == [("10", "1"), ("11", "2")]


def test_update_ignored_while_unsynced(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    assert ob.apply_update([["1", "1"]], None, 1, 1, 0) == impl.IGNORED
    assert len(ob) == 0
    ob = synced_book(impl, li=10, v=4)
    ob.invalidate()
    assert (ob.synced, len(ob), ob.last_update_id, ob.version) == (False, 0, 10, 4)
    assert ob.apply_update([["1", "1"]], None, 11, 11, 4) == impl.IGNORED
    assert ob.best_ask is None


def test_books_grow_past_fifty_levels(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    asks = [[f"{1000 + i}.5", "1"] for i in range(150)]
    bids = [[f"{999 - i}.5", "2"] for i in range(150)]
    ob.apply_snapshot(asks, bids, 1, 1)
    assert (ob.ask_count, ob.bid_count) == (150, 150)
    inserts = [[f"{2000 + i}", "1"] for i in range(100)]
    ob.apply_update(inserts, None, 2, 2, 1)
    assert ob.ask_count == 250
    assert ob.asks()[-1].price_text == "2099"
    assert ob.bids()[-1].price_text == "850.5"


# --- reads -----------------------------------------------------------------------------


def test_levels_keep_the_exact_strings(impl: ModuleType) -> None:
    ob = synced_book(impl)
    best = ob.best_ask
    assert isinstance(best, impl.Level)
    assert best == (5337.3, 0.5, "5337.30", "0.5")
    assert best.price_text == "5337.30"
    assert ob.bids()[2].price_text == "5300.00"


def test_best_prices_spread_and_mid(impl: ModuleType) -> None:
    ob = synced_book(impl)
    assert ob.best_ask_price == 5337.3
    assert ob.best_bid_price == 5336.9
    assert ob.spread == 5337.3 - 5336.9
    assert ob.mid == (5337.3 + 5336.9) / 2


@pytest.mark.parametrize(("depth", "expected"), [(None, 3), (0, 0), (1, 1), (2, 2), (50, 3)])
def test_depth_limits_the_levels_best_first(
    impl: ModuleType, depth: int | None, expected: int
) -> None:
    ob = synced_book(impl)
    assert ob.bids(depth) == ob.bids()[:expected]
    assert ob.asks(depth) == ob.asks()[:expected]
    assert [level.price for level in ob.bids()] == [5336.9, 5336.0, 5300.0]


def test_depth_must_be_a_non_negative_int(impl: ModuleType) -> None:
    ob = synced_book(impl)
    with pytest.raises(ValueError, match="depth must be >= 0"):
        ob.bids(-1)
    with pytest.raises(TypeError):
        ob.asks(2.0)


def test_level_lists_are_copies(impl: ModuleType) -> None:
    ob = synced_book(impl)
    asks = ob.asks()
    asks.clear()
    assert ob.ask_count == 3
    before = ob.asks()
    ob.apply_update([["5337.30", "0"]], None, 11, 11, 1)
    assert len(before) == 3
    assert before[0].volume_text == "0.5"


def test_repr_names_market_state_and_best_levels(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    assert repr(ob) == (
        "OrderBook(market='btcusdt', synced=False, li=0, v=0, best_bid=None, best_ask=None)"
    )
    ob.apply_snapshot(ASKS, BIDS, 10, 2)
    assert repr(ob) == (
        "OrderBook(market='btcusdt', synced=True, li=10, v=2, "
        "best_bid=5336.9 x 2, best_ask=5337.30 x 0.5)"
    )


def test_properties_are_read_only(impl: ModuleType) -> None:
    ob = synced_book(impl)
    for name in ("market", "synced", "last_update_id", "version", "best_bid", "spread"):
        with pytest.raises(AttributeError):
            setattr(ob, name, None)


# --- input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "5337.30",
        "0",
        ".5",
        "5.",
        "1e-3",
        "1E+2",
        "2.5e1",
        "0.00000001",
        "000123.4500",
        "12345678901234567890.123456789",
        "9007199254740993",
        "9007199254740992",
        "900719925474099.3",
        "1234567890123456789",
        "18446744073709551616",
        "0.0000000000000000000001",
        "1e22",
        "1e23",
        "123456789e-22",
        "1.5e-22",
        "1e-400",
        "3.14159265358979323846",
    ],
)
def test_decimal_strings_parse_like_float(impl: ModuleType, text: str) -> None:
    ob = impl.OrderBook("btcusdt")
    ob.apply_snapshot(None, [[text, "1"]], 1, 1)
    assert ob.best_bid_price == float(text)
    assert ob.best_bid.price_text == text


def test_ids_at_the_int64_limits(impl: ModuleType) -> None:
    top = 2**63 - 1
    ob = impl.OrderBook("btcusdt")
    ob.apply_snapshot([["1", "1"]], None, top - 1, -(2**63))
    assert ob.apply_update(None, None, top, top, -(2**63)) == impl.APPLIED
    assert ob.apply_update(None, None, top, top, -(2**63)) == impl.STALE
    assert ob.last_update_id == top
    ob.apply_snapshot([["1", "1"]], None, -(2**63), 0)
    assert ob.apply_update(None, None, top, top, 0) == impl.GAP


def test_market_must_be_a_str(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="market"):
        impl.OrderBook(None)


def test_ids_must_be_integers(impl: ModuleType) -> None:
    ob = synced_book(impl)
    with pytest.raises(TypeError):
        ob.apply_snapshot([["1", "1"]], None, 1.5, 1)
    with pytest.raises(TypeError):
        ob.apply_update(None, None, 11, "12", 1)
    assert ob.synced
    assert len(ob) == 6


@pytest.mark.parametrize("big", [2**63, -(2**63) - 1, 10**30])
def test_ids_beyond_64_bits_raise_and_invalidate(impl: ModuleType, big: int) -> None:
    ob = synced_book(impl, li=10)
    with pytest.raises(ValueError) as caught:
        ob.apply_update(None, None, 11, big, 1)
    assert str(caught.value) == f"btcusdt: last_update_id {big} does not fit in 64 bits"
    assert (ob.synced, len(ob), ob.last_update_id) == (False, 0, 10)
    with pytest.raises(ValueError, match=r"^btcusdt: version \d+ does not fit"):
        ob.apply_snapshot(ASKS, BIDS, 11, 2**64)


BAD_LEVELS = [
    (["5337.3"], "level ['5337.3'] is not a [price, volume] pair"),
    (["1", "2", "3"], "level ['1', '2', '3'] is not a [price, volume] pair"),
    ("12", "level '12' is not a [price, volume] pair"),
    ({"p": "1"}, "level {'p': '1'} is not a [price, volume] pair"),
    (["abc", "1"], "price 'abc' is not a valid decimal string"),
    (["", "1"], "price '' is not a valid decimal string"),
    (["-1", "1"], "price '-1' is not a valid decimal string"),
    ([" 1", "1"], "price ' 1' is not a valid decimal string"),
    (["nan", "1"], "price 'nan' is not a valid decimal string"),
    (["inf", "1"], "price 'inf' is not a valid decimal string"),
    (["1e400", "1"], "price '1e400' is not a valid decimal string"),
    (["1_0", "1"], "price '1_0' is not a valid decimal string"),
    (["1e", "1"], "price '1e' is not a valid decimal string"),
    ([".", "1"], "price '.' is not a valid decimal string"),
    (["\u0661", "1"], "price '\u0661' is not a valid decimal string"),
    ([5337.3, "1"], "price 5337.3 is not a valid decimal string"),
    (["1", "0x10"], "volume '0x10' is not a valid decimal string"),
    (["1", None], "volume None is not a valid decimal string"),
]


@pytest.mark.parametrize(("level", "problem"), BAD_LEVELS)
def test_malformed_snapshot_level_raises_and_invalidates(
    impl: ModuleType, level: Any, problem: str
) -> None:
    ob = synced_book(impl, li=10)
    with pytest.raises(ValueError) as caught:
        ob.apply_snapshot(ASKS, [["1", "1"], level], 50, 1)
    assert str(caught.value) == f"btcusdt bids: {problem}"
    assert (ob.synced, len(ob), ob.last_update_id) == (False, 0, 10)
    assert ob.apply_update(None, None, 11, 11, 1) == impl.IGNORED


@pytest.mark.parametrize(("level", "problem"), BAD_LEVELS)
def test_malformed_update_level_raises_and_invalidates(
    impl: ModuleType, level: Any, problem: str
) -> None:
    ob = synced_book(impl, li=10)
    with pytest.raises(ValueError) as caught:
        ob.apply_update([["5337.5", "1"], level], None, 11, 11, 1)
    assert str(caught.value) == f"btcusdt asks: {problem}"
    assert (ob.synced, len(ob), ob.last_update_id) == (False, 0, 10)


@pytest.mark.parametrize("levels", ["5337.3", 7, {"5337.3": "1"}])
def test_side_must_be_a_list_of_levels(impl: ModuleType, levels: Any) -> None:
    ob = synced_book(impl)
    with pytest.raises(ValueError, match=r"^btcusdt asks: expected a list of levels, got "):
        ob.apply_update(levels, None, 11, 11, 1)
    assert not ob.synced


def test_levels_may_be_tuples(impl: ModuleType) -> None:
    ob = impl.OrderBook("btcusdt")
    ob.apply_snapshot((("2", "1"), ("3", "1")), [("1", "1")], 1, 1)
    ob.apply_update((("2.5", "4"),), None, 2, 2, 1)
    assert side(ob.asks()) == [("2", "1"), ("2.5", "4"), ("3", "1")]


def test_str_subclasses_are_refused(impl: ModuleType) -> None:
    class Text(str):
        pass

    ob = impl.OrderBook("btcusdt")
    with pytest.raises(ValueError, match="price '1' is not a valid decimal string"):
        ob.apply_snapshot([[Text("1"), "1"]], None, 1, 1)


def test_a_finalizer_changing_the_book_during_a_read_is_safe(impl: ModuleType) -> None:
    """Reads allocate, allocation may run the GC, and a finalizer may touch the book."""
    ob = impl.OrderBook("btcusdt")

    class Wipes:
        def __del__(self) -> None:
            ob.invalidate()

    def arm() -> None:
        ob.apply_snapshot([[f"{100 + i}", "1"] for i in range(40)], [["1", "1"]], 1, 1)
        garbage = Wipes()
        garbage.cycle = garbage  # type: ignore[attr-defined]
        del garbage

    thresholds = gc.get_threshold()
    gc.collect()
    gc.set_threshold(1)  # the next allocation collects the armed garbage
    try:
        arm()
        try:  # not pytest.raises: its allocation would run the collection too early
            levels: object = ob.asks()
        except RuntimeError as exc:
            levels = exc
        # Whether the collection runs inside the read depends on the interpreter's GC
        # (3.13 schedules it differently); either way no torn or dangling state escapes.
        if isinstance(levels, RuntimeError):
            assert impl is _book_c
            assert "changed while its levels were being read" in str(levels)
        else:
            assert isinstance(levels, list)
            if impl is _book_c:
                texts = [level.price_text for level in levels]
                assert texts in ([], [f"{100 + i}" for i in range(40)])
        arm()
        best = ob.best_ask
        assert isinstance(best, impl.Level)
        assert best.price_text == "100"
        gc.collect()
        assert len(ob) == 0
    finally:
        gc.set_threshold(*thresholds)
