"""The stream's book keeper, in both implementations: which frames reach which book, and when
a book asks to be resubscribed."""

from __future__ import annotations

import json
import logging
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from twins import compiled, twin_fixture

from maicoin.ws import book
from maicoin.ws._frames import _book_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.channel import Channel
from maicoin.ws.response import Response
from maicoin.ws.stats import StreamStats
from maicoin.ws.subscription import Subscription

_book_c = compiled("_frames._book_c")

impl = twin_fixture(_book_c, _book_py)

decode = make_decoder()
BTC = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)


def frame(event: str, market: str | None = "btcusdt", **keys: Any) -> Response:
    """A decoded ``book`` frame, as the stream hands it to the keeper."""
    raw: dict[str, Any] = {"c": "book", "e": event, "T": 1700000000000, **keys}
    if market is not None:
        raw["M"] = market
    return decode(json.dumps(raw))


def snapshot(li: int = 10, v: int = 1, event: str = "snapshot") -> Response:
    return frame(event, a=[["101.5", "2"]], b=[["100", "1"]], li=li, v=v)


def update(fi: int, li: int, v: int = 1, asks: list[list[str]] | None = None) -> Response:
    return frame(
        "update", a=asks if asks is not None else [["101.5", "3"]], b=[], fi=fi, li=li, v=v
    )


def synced_keeper(impl: ModuleType) -> tuple[Any, StreamStats]:
    stats = StreamStats()
    keeper = impl.BookKeeper(stats)
    keeper.track(BTC)
    assert keeper.apply(snapshot()) is None
    return keeper, stats


def test_selector_exports_the_keeper_of_the_selected_book() -> None:
    keeper_module = _book_c if book.IMPLEMENTATION == "c" else _book_py
    assert keeper_module is not None
    assert book.BookKeeper is keeper_module.BookKeeper
    assert book.BookResync is _book_py.BookResync


@pytest.mark.skipif(_book_c is None, reason="compiled module not built")
def test_twins_share_one_resync_class() -> None:
    assert _book_c is not None
    assert _book_c.BookResync is _book_py.BookResync


def test_update_in_sequence_is_applied_and_returns_none(impl: ModuleType) -> None:
    keeper, stats = synced_keeper(impl)
    assert keeper.apply(update(11, 12)) is None
    ob = keeper.books["btcusdt"]
    assert type(ob) is impl.OrderBook
    assert (ob.last_update_id, ob.best_ask.volume_text, ob.synced) == (12, "3", True)
    assert (stats.resyncs, stats.decode_errors) == (0, 0)


def test_stale_update_is_dropped_without_resync(impl: ModuleType) -> None:
    keeper, stats = synced_keeper(impl)
    assert keeper.apply(update(5, 10)) is None
    assert keeper.books["btcusdt"].best_ask.volume_text == "2"
    assert stats.resyncs == 0


def test_gap_asks_for_resync(impl: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    keeper, stats = synced_keeper(impl)
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        resync = keeper.apply(update(13, 14))
    assert resync == _book_py.BookResync("btcusdt", "gap", 10, 13)
    assert (stats.resyncs, stats.decode_errors) == (1, 0)
    assert not keeper.books["btcusdt"].synced
    assert caplog.messages == ["book btcusdt: gap at update 13-14 (local 10); resubscribing"]


def test_version_change_asks_for_resync(impl: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    keeper, stats = synced_keeper(impl)
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        resync = keeper.apply(update(11, 11, v=2))
    assert resync == _book_py.BookResync("btcusdt", "version_changed", 10, 11)
    assert stats.resyncs == 1
    assert caplog.messages == [
        "book btcusdt: version_changed at update 11-11 (local 10); resubscribing"
    ]


def test_malformed_level_counts_a_decode_error(
    impl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    keeper, stats = synced_keeper(impl)
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        resync = keeper.apply(update(11, 11, asks=[["abc", "1"]]))
    assert resync == _book_py.BookResync("btcusdt", "invalid_level", 10)
    assert resync.first_update_id is None
    assert (stats.resyncs, stats.decode_errors) == (1, 1)
    assert not keeper.books["btcusdt"].synced
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith("book btcusdt: malformed frame, resyncing: btcusdt asks:")
    assert "'abc'" in caplog.messages[0]


@pytest.mark.parametrize("event", ["snapshot", "snaptshot"])
def test_snapshot_and_its_old_misspelling_replace_the_book(impl: ModuleType, event: str) -> None:
    keeper, _ = synced_keeper(impl)
    keeper.apply(update(11, 11))
    assert keeper.apply(snapshot(li=30, v=4, event=event)) is None
    ob = keeper.books["btcusdt"]
    assert (ob.synced, ob.last_update_id, ob.version, ob.best_ask.volume_text) == (True, 30, 4, "2")


def test_missing_ids_count_as_zero(impl: ModuleType) -> None:
    keeper, stats = synced_keeper(impl)
    assert keeper.apply(frame("snapshot", a=[["1", "1"]], b=[])) is None
    ob = keeper.books["btcusdt"]
    assert (ob.synced, ob.last_update_id, ob.version) == (True, 0, 0)
    assert keeper.apply(frame("update", a=[["1", "5"]], li=1)) is None
    assert (ob.last_update_id, ob.best_ask.volume_text, stats.resyncs) == (1, "5", 0)


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(frame("update", market="ethusdt", a=[], fi=11, li=99, v=1), id="untracked"),
        pytest.param(frame("update", market=None, a=[], fi=11, li=99, v=1), id="no-market"),
        pytest.param(frame("subscribed", s=[]), id="other-event"),
    ],
)
def test_frames_without_a_tracked_book_are_ignored(impl: ModuleType, response: Response) -> None:
    keeper, stats = synced_keeper(impl)
    assert keeper.apply(response) is None
    assert list(keeper.books) == ["btcusdt"]
    assert keeper.books["btcusdt"].last_update_id == 10
    assert stats.resyncs == 0


def test_frames_that_are_not_decoded_responses_are_read_as_attributes(impl: ModuleType) -> None:
    keeper, _ = synced_keeper(impl)
    fields = {"market": "btcusdt", "asks": [["101.5", "7"]], "bids": None, "version": 1}
    applied = SimpleNamespace(event="update", first_update_id=11, last_update_id=11, **fields)
    assert keeper.apply(applied) is None
    assert keeper.books["btcusdt"].best_ask.volume_text == "7"
    gap = SimpleNamespace(event="update", first_update_id=20, last_update_id=20, **fields)
    assert keeper.apply(gap) == _book_py.BookResync("btcusdt", "gap", 11, 20)


def test_a_book_of_the_other_twin_is_driven_through_its_methods(impl: ModuleType) -> None:
    other = _book_c if impl is _book_py else _book_py
    if other is None:
        pytest.skip("compiled module not built")
    keeper = impl.BookKeeper(StreamStats())
    keeper.books["btcusdt"] = other.OrderBook("btcusdt")
    assert keeper.apply(snapshot()) is None
    assert keeper.apply(update(11, 11)) is None
    assert keeper.apply(update(13, 13)) == _book_py.BookResync("btcusdt", "gap", 11, 13)


def test_track_untrack_and_invalidate_all(impl: ModuleType) -> None:
    keeper, _ = synced_keeper(impl)
    first = keeper.books["btcusdt"]
    keeper.track(BTC)
    assert keeper.books["btcusdt"] is first
    keeper.track(Subscription(channel=Channel.TRADE, market="ethusdt"))
    keeper.track(Subscription(channel=Channel.BOOK, market="ethusdt", depth=1))
    assert list(keeper.books) == ["btcusdt", "ethusdt"]
    assert not keeper.books["ethusdt"].synced

    keeper.invalidate_all()
    assert not first.synced and len(first) == 0
    assert keeper.apply(update(11, 11)) is None  # waits for its snapshot
    assert first.last_update_id == 10

    keeper.untrack(Subscription(channel=Channel.TRADE, market="btcusdt"))
    assert "btcusdt" in keeper.books
    keeper.untrack(BTC)
    keeper.untrack(BTC)
    assert list(keeper.books) == ["ethusdt"]


# -- updates that come before their snapshot ---------------------------------------------------


def waiting_keeper(impl: ModuleType, early_limit: int | None = None) -> tuple[Any, StreamStats]:
    """A keeper tracking btcusdt, whose book has had no snapshot yet."""
    stats = StreamStats()
    keeper = impl.BookKeeper(stats) if early_limit is None else impl.BookKeeper(stats, early_limit)
    keeper.track(BTC)
    return keeper, stats


def state(keeper: Any) -> tuple[bool, int, int, list[list[str]]]:
    ob = keeper.books["btcusdt"]
    return (ob.synced, ob.last_update_id, keeper.held("btcusdt"), [list(lvl) for lvl in ob.asks()])


def test_an_update_before_its_snapshot_is_applied_after_it(impl: ModuleType) -> None:
    """The live exchange's subscribe race: snapshot li=10 after the update of id 11, then
    the next update starts at 12, two past the snapshot."""
    keeper, stats = waiting_keeper(impl)
    assert keeper.apply(update(11, 11, asks=[["101.5", "5"], ["102", "1"]])) is None
    assert keeper.held("btcusdt") == 1
    assert not keeper.books["btcusdt"].synced
    assert keeper.apply(snapshot(li=10)) is None
    assert keeper.held("btcusdt") == 0
    assert keeper.apply(update(12, 12, asks=[["102", "0"]])) is None
    assert state(keeper) == (True, 12, 0, [[101.5, 5.0, "101.5", "5"]])
    assert stats.resyncs == 0


def test_held_updates_the_snapshot_covers_are_dropped_whatever_their_version(
    impl: ModuleType,
) -> None:
    keeper, stats = waiting_keeper(impl)
    for fi, li, v in ((5, 8, 1), (9, 10, 1), (10, 11, 2), (12, 13, 2)):
        assert keeper.apply(update(fi, li, v=v, asks=[["101.5", str(li)]])) is None
    assert keeper.held("btcusdt") == 4
    assert keeper.apply(snapshot(li=11, v=2)) is None
    assert state(keeper) == (True, 13, 0, [[101.5, 13.0, "101.5", "13"]])
    assert stats.resyncs == 0


def test_a_held_update_past_the_snapshot_is_a_gap(
    impl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    keeper, stats = waiting_keeper(impl)
    keeper.apply(update(13, 14))
    keeper.apply(update(15, 15))
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        resync = keeper.apply(snapshot(li=10))
    assert resync == _book_py.BookResync("btcusdt", "gap", 10, 13)
    assert caplog.messages == ["book btcusdt: gap at update 13-14 (local 10); resubscribing"]
    assert stats.resyncs == 1
    # The rest went with the invalid book; the next updates wait for the resync's snapshot.
    assert state(keeper) == (False, 10, 0, [])
    assert keeper.apply(update(16, 16)) is None
    assert keeper.held("btcusdt") == 1


def test_a_held_update_of_another_version_past_the_snapshot_resyncs(impl: ModuleType) -> None:
    keeper, stats = waiting_keeper(impl)
    keeper.apply(update(11, 11, v=2))
    assert keeper.apply(snapshot(li=10, v=1)) == _book_py.BookResync(
        "btcusdt", "version_changed", 10, 11
    )
    assert stats.resyncs == 1 and not keeper.books["btcusdt"].synced


def test_a_malformed_held_update_resyncs_when_applied(impl: ModuleType) -> None:
    keeper, stats = waiting_keeper(impl)
    assert keeper.apply(update(11, 11, asks=[["abc", "1"]])) is None  # not read while held
    resync = keeper.apply(snapshot(li=10))
    assert resync == _book_py.BookResync("btcusdt", "invalid_level", 10)
    assert (stats.resyncs, stats.decode_errors) == (1, 1)


def test_updates_after_a_gap_wait_for_the_resync_snapshot(impl: ModuleType) -> None:
    keeper, stats = synced_keeper(impl)
    assert keeper.apply(update(13, 13)) is not None  # a gap: the stream resubscribes
    for li in (14, 15, 16):
        assert keeper.apply(update(li, li, asks=[["101.5", str(li)]])) is None
    assert keeper.held("btcusdt") == 3
    assert keeper.apply(snapshot(li=15)) is None
    assert state(keeper) == (True, 16, 0, [[101.5, 16.0, "101.5", "16"]])
    assert stats.resyncs == 1


def test_an_empty_snapshot_keeps_the_held_updates_it_does_not_cover(impl: ModuleType) -> None:
    keeper, stats = waiting_keeper(impl)
    keeper.apply(update(9, 9))
    keeper.apply(update(11, 11, asks=[["101.5", "11"]]))
    assert keeper.apply(frame("snapshot", a=[], b=[], li=10, v=1)) is None
    assert state(keeper) == (False, 10, 1, [])
    assert keeper.apply(snapshot(li=10)) is None
    assert state(keeper) == (True, 11, 0, [[101.5, 11.0, "101.5", "11"]])
    assert stats.resyncs == 0


def test_one_update_more_than_the_limit_resyncs(
    impl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    keeper, stats = waiting_keeper(impl, early_limit=3)
    assert keeper.early_limit == 3
    for li in (11, 12, 13):
        assert keeper.apply(update(li, li)) is None
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        resync = keeper.apply(update(14, 14))
    assert resync == _book_py.BookResync("btcusdt", "early_overflow", 0, 14)
    assert caplog.messages == [
        "book btcusdt: 4 updates came before its snapshot, more than are held; resubscribing"
    ]
    assert (stats.resyncs, keeper.held("btcusdt")) == (1, 0)
    assert keeper.apply(update(15, 15)) is None  # holding starts over
    assert keeper.held("btcusdt") == 1


def test_the_default_limit_holds_a_few_hundred(impl: ModuleType) -> None:
    keeper, stats = waiting_keeper(impl)
    assert keeper.early_limit == _book_py.EARLY_UPDATE_LIMIT == 256
    for li in range(1, 257):
        assert keeper.apply(update(li, li)) is None
    assert (keeper.held("btcusdt"), stats.resyncs) == (256, 0)
    assert keeper.apply(update(257, 257)) is not None


def test_a_limit_of_zero_ignores_early_updates_as_before(impl: ModuleType) -> None:
    keeper, stats = waiting_keeper(impl, early_limit=0)
    for li in range(11, 20):
        assert keeper.apply(update(li, li)) is None
    assert keeper.held("btcusdt") == 0
    keeper.apply(snapshot(li=10))
    assert keeper.apply(update(12, 12)) == _book_py.BookResync("btcusdt", "gap", 10, 12)
    assert stats.resyncs == 1


@pytest.mark.parametrize("limit", [-1, True, 2.0, "3", None])
def test_the_limit_must_be_a_non_negative_int(impl: ModuleType, limit: Any) -> None:
    with pytest.raises(ValueError, match="early_limit must be an int >= 0"):
        impl.BookKeeper(StreamStats(), limit)


def test_reconnects_and_untracking_drop_held_updates(impl: ModuleType) -> None:
    keeper, _ = waiting_keeper(impl)
    keeper.track(Subscription(channel=Channel.BOOK, market="ethusdt", depth=1))
    keeper.apply(update(11, 11))
    keeper.apply(frame("update", market="ethusdt", a=[], fi=3, li=3, v=1))
    assert (keeper.held("btcusdt"), keeper.held("ethusdt"), keeper.held("nope")) == (1, 1, 0)
    keeper.invalidate_all()
    assert (keeper.held("btcusdt"), keeper.held("ethusdt")) == (0, 0)
    keeper.apply(update(11, 11))
    keeper.untrack(BTC)
    assert keeper.held("btcusdt") == 0
    keeper.track(BTC)
    assert keeper.apply(snapshot(li=10)) is None
    assert keeper.books["btcusdt"].last_update_id == 10


def test_held_frames_that_are_not_decoded_responses_are_read_as_attributes(
    impl: ModuleType,
) -> None:
    keeper, _ = waiting_keeper(impl)
    fields = {"market": "btcusdt", "asks": [["101.5", "7"]], "bids": None, "version": 1}
    assert (
        keeper.apply(
            SimpleNamespace(event="update", first_update_id=11, last_update_id=11, **fields)
        )
        is None
    )
    assert keeper.apply(snapshot(li=10)) is None
    assert state(keeper) == (True, 11, 0, [[101.5, 7.0, "101.5", "7"]])


def test_a_book_of_the_other_twin_holds_early_updates_too(impl: ModuleType) -> None:
    other = _book_c if impl is _book_py else _book_py
    if other is None:
        pytest.skip("compiled module not built")
    keeper = impl.BookKeeper(StreamStats())
    keeper.books["btcusdt"] = other.OrderBook("btcusdt")
    assert keeper.apply(update(11, 11)) is None
    assert keeper.apply(snapshot(li=10)) is None
    assert keeper.books["btcusdt"].last_update_id == 11
    assert keeper.apply(update(13, 13)) == _book_py.BookResync("btcusdt", "gap", 11, 13)
