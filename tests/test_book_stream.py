"""The Stream's local order books against the simulator's true book, through every fault.

After every book frame a handler compares the client's book with the simulator's book at
the same update id, so any divergence, even a transient one, fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, eventually, running
from twins import compiled, twin_params

from maicoin.ws import BookResync, Channel, Response, Stream, Subscription
from maicoin.ws import stream as stream_module
from maicoin.ws._frames import _book_py
from maicoin.ws.testing import MaxSimulator

_book_c = compiled("_frames._book_c")

DEPTHS = {"btcusdt": 50, "ethusdt": 5}


@pytest.fixture(
    params=twin_params(_book_c, _book_py, reason="compiled book not built"), autouse=True
)
def book_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run every test with both book keepers (and so both order books) inside the Stream."""
    module = request.param
    monkeypatch.setattr(stream_module, "BookKeeper", module.BookKeeper)
    return module


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.005, seed=3, private_every=None) as simulator:
        yield simulator


class TruthChecker:
    """After each book frame, the client's book must equal the simulator's at that id."""

    def __init__(self, stream: Stream, sim: MaxSimulator) -> None:
        self.stream, self.sim = stream, sim
        self.checked = 0
        self.mismatches: list[str] = []

    def __call__(self, response: Response) -> None:
        if response.channel != Channel.BOOK or response.market is None:
            return
        book = self.stream.books[response.market]
        if not book.synced:
            return
        truth = self.sim.book_view(
            response.market, DEPTHS[response.market], update_id=book.last_update_id
        )
        # Versions are checked separately: a version bump between two steps belongs to
        # neither id, so the truth at an id cannot say which one a snapshot carried.
        del truth["version"]
        ours = {
            "asks": [[lvl.price_text, lvl.volume_text] for lvl in book.asks()],
            "bids": [[lvl.price_text, lvl.volume_text] for lvl in book.bids()],
            "last_update_id": book.last_update_id,
        }
        self.checked += 1
        if ours != truth:
            self.mismatches.append(f"{response.market} at li={book.last_update_id}")


def book_stream(sim: MaxSimulator, **kwargs: Any) -> tuple[Stream, TruthChecker, list[BookResync]]:
    resyncs: list[BookResync] = []
    stream = Stream(
        uri=sim.uri, reconnect_policy=FAST_RECONNECT, on_book_resync=resyncs.append, **kwargs
    )
    stream.subscribe(
        [Subscription(channel=Channel.BOOK, market=m, depth=d) for m, d in DEPTHS.items()]
    )
    checker = TruthChecker(stream, sim)
    stream.add_handler(checker)
    return stream, checker, resyncs


async def synced_for_a_while(stream: Stream, checker: TruthChecker, frames: int = 20) -> None:
    await eventually(lambda: all(b.synced for b in stream.books.values()), what="books synced")
    target = checker.checked + frames
    await eventually(lambda: checker.checked >= target, what=f"{frames} more checked frames")


async def test_books_follow_the_true_book(sim: MaxSimulator) -> None:
    stream, checker, resyncs = book_stream(sim)
    async with running(stream):
        await synced_for_a_while(stream, checker, frames=200)
    assert checker.mismatches == [] and resyncs == []
    btc = stream.books["btcusdt"]
    assert len(btc.bids(50)) == 50 and btc.best_bid is not None and btc.best_ask is not None
    assert btc.best_bid.price < btc.best_ask.price
    assert btc.spread == pytest.approx(btc.best_ask.price - btc.best_bid.price)
    assert btc.mid == pytest.approx((btc.best_ask.price + btc.best_bid.price) / 2)
    assert len(stream.books["ethusdt"].asks()) == 5


@pytest.mark.parametrize("fault", ["gap", "version_change"])
async def test_sequence_faults_resync_one_book(sim: MaxSimulator, fault: str) -> None:
    stream, checker, resyncs = book_stream(sim)
    async with running(stream):
        await synced_for_a_while(stream, checker)
        before = len([r for r in sim.requests if r.action == "sub"])
        if fault == "gap":
            sim.inject_gap("btcusdt")
        else:
            sim.bump_version("btcusdt")
        await eventually(lambda: resyncs, what="resync callback")
        await synced_for_a_while(stream, checker)
    reason = "gap" if fault == "gap" else "version_changed"
    assert [(r.market, r.reason) for r in resyncs] == [("btcusdt", reason)]
    assert stream.stats.resyncs == 1 and stream.stats.connections == 1
    unsubs = [r.message for r in sim.requests if r.action == "unsub"]
    subs = [r.message for r in sim.requests if r.action == "sub"][before:]
    # Only the broken book was resubscribed: unsub then sub of btcusdt alone.
    assert unsubs == [unsubs[0]] and unsubs[0] is not None
    assert unsubs[0]["subscription"] == [{"channel": "book", "market": "btcusdt", "depth": 50}]
    assert [s["subscriptions"] for s in subs if s] == [
        [{"channel": "book", "market": "btcusdt", "depth": 50}]
    ]
    assert checker.mismatches == []
    if fault == "version_change":
        assert stream.books["btcusdt"].version == sim.book_version("btcusdt")


async def test_empty_snapshot_clears_then_waits_for_the_next(sim: MaxSimulator) -> None:
    stream, checker, resyncs = book_stream(sim)
    states: list[tuple[bool, int]] = []
    stream.add_handler(
        lambda r: (
            states.append((stream.books["btcusdt"].synced, len(stream.books["btcusdt"])))
            if r.market == "btcusdt" and r.channel == Channel.BOOK
            else None
        )
    )
    async with running(stream):
        await synced_for_a_while(stream, checker)
        mark = len(states)
        sim.send_empty_snapshot("btcusdt")
        await eventually(lambda: (False, 0) in states[mark:], what="cleared book")
        await synced_for_a_while(stream, checker)
    assert resyncs == [] and checker.mismatches == []
    assert stream.books["btcusdt"].synced


async def test_reconnect_marks_books_unsynced_until_snapshot(sim: MaxSimulator) -> None:
    stream, checker, resyncs = book_stream(sim)
    seen_unsynced: list[str] = []
    stream.on_connected = lambda _: seen_unsynced.extend(
        m for m, b in stream.books.items() if not b.synced
    )
    async with running(stream):
        await synced_for_a_while(stream, checker)
        sim.connections[0].abort()
        await eventually(lambda: stream.stats.connections == 2, what="reconnected")
        await synced_for_a_while(stream, checker)
    assert sorted(seen_unsynced) == ["btcusdt", "btcusdt", "ethusdt", "ethusdt"]
    assert checker.mismatches == [] and resyncs == []


async def test_many_faults_in_a_row_never_diverge(sim: MaxSimulator, book_impl: Any) -> None:
    stream, checker, resyncs = book_stream(sim)
    async with running(stream):
        for fault in ("gap", "version", "empty", "abort", "gap", "version"):
            await synced_for_a_while(stream, checker, frames=10)
            if fault == "gap":
                sim.inject_gap("ethusdt")
            elif fault == "version":
                sim.bump_version("btcusdt")
            elif fault == "empty":
                sim.send_empty_snapshot("ethusdt")
            else:
                sim.connections[0].abort()
        await synced_for_a_while(stream, checker, frames=10)
    assert checker.mismatches == []
    assert stream.stats.resyncs == len(resyncs) == 4
    # The fixture's keeper really ran inside the Stream: it made the books of its twin.
    assert {type(book) for book in stream.books.values()} == {book_impl.OrderBook}
