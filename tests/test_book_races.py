"""A 74-market book subscribe against a simulator that races updates past their snapshots,
as the live exchange does: the Stream's books need no resync and equal the truth.

Every test runs with both book keepers (and so both order books) inside the Stream.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, eventually, running
from twins import compiled, twin_params

from maicoin.ws import BookResync, Channel, Stream, Subscription
from maicoin.ws import stream as stream_module
from maicoin.ws._frames import _book_py
from maicoin.ws.testing import MaxSimulator, SimConnection

_book_c = compiled("_frames._book_c")

MARKETS = ["btcusdt", "ethusdt", "btctwd", "ethtwd", "usdttwd", "maxtwd", "ethbtc"] + [
    f"c{n:02d}usdt" for n in range(67)
]
DEPTH = 10


@pytest.fixture(params=twin_params(_book_c, _book_py, reason="compiled book not built"))
def book_impl(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    """74 markets, stepped by the test only. Every ``sub`` request of 5 books or more races
    3 to 5 of them, so the subscribe races however the stream splits it into requests; a
    resubscribe of one book never races."""
    async with MaxSimulator(
        markets=MARKETS,
        seed=7,
        update_interval=None,
        private_every=None,
        pool_quota_every=None,
        race_probability=1.0,
        race_min_markets=5,
    ) as simulator:
        simulator.step()  # a market that never stepped has no older book to race with
        yield simulator


def book_stream(sim: MaxSimulator) -> tuple[Stream, list[BookResync]]:
    resyncs: list[BookResync] = []
    stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT, on_book_resync=resyncs.append)
    stream.subscribe([Subscription(channel=Channel.BOOK, market=m, depth=DEPTH) for m in MARKETS])
    return stream, resyncs


async def subscribed(sim: MaxSimulator) -> SimConnection:
    """The stream's connection, once it holds every book (the subscribe may span requests)."""
    await sim.wait_until(
        lambda: len(sim.connections) == 1 and len(sim.connections[0].book_views) == len(MARKETS)
    )
    return sim.connections[0]


def subscribed_books(connection: SimConnection, requests: int = 0) -> list[str]:
    """The book markets of the connection's ``sub`` requests, from the ``requests``-th on."""
    return [
        item["market"]
        for request in connection.requests_with("sub")[requests:]
        if request.message
        for item in request.message["subscriptions"]
    ]


async def all_read(stream: Stream, connection: SimConnection) -> None:
    """Wait until the stream has handled every frame the simulator sent it."""
    await eventually(
        lambda: connection.pending_frames == 0 and stream.stats.messages == connection.frames_sent,
        what="every frame read",
    )


async def step_until_past_the_races(
    sim: MaxSimulator, stream: Stream, connection: SimConnection, raced_at: dict[str, int]
) -> None:
    """Step until every raced book applied an update after the one that overtook it."""
    for _ in range(200):
        await all_read(stream, connection)
        if all(stream.books[m].last_update_id > li for m, li in raced_at.items()):
            return
        sim.step()
    raise AssertionError(f"raced books never moved on: {raced_at}")


def assert_books_equal_the_truth(
    sim: MaxSimulator, stream: Stream, connection: SimConnection
) -> None:
    for market in MARKETS:
        book = stream.books[market]
        assert book.synced, market
        # What the simulator last sent this subscriber, and the true book at that id.
        assert book.last_update_id == connection.book_views[market].last_update_id, market
        truth = sim.book_view(market, DEPTH, update_id=book.last_update_id)
        ours = {
            "asks": [[lvl.price_text, lvl.volume_text] for lvl in book.asks()],
            "bids": [[lvl.price_text, lvl.volume_text] for lvl in book.bids()],
        }
        assert ours == {"asks": truth["asks"], "bids": truth["bids"]}, market


async def test_a_74_market_subscribe_with_races_needs_no_resync(
    sim: MaxSimulator, book_impl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "BookKeeper", book_impl.BookKeeper)
    stream, resyncs = book_stream(sim)
    async with running(stream):
        connection = await subscribed(sim)
        # The early update of a raced book carried the market's id at the subscribe.
        raced_at = {m: sim.current_update_id(m) for m in connection.raced}
        await step_until_past_the_races(sim, stream, connection, raced_at)
        assert_books_equal_the_truth(sim, stream, connection)
    assert len(raced_at) >= 3
    assert resyncs == [] and stream.stats.resyncs == 0
    # No repair: every book was subscribed once and nothing was unsubscribed.
    assert {r.action for r in sim.requests} == {"sub"}
    assert sorted(subscribed_books(connection)) == sorted(MARKETS)
    assert {type(book) for book in stream.books.values()} == {book_impl.OrderBook}


async def test_without_holding_each_raced_book_resyncs_alone(
    sim: MaxSimulator, book_impl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: a keeper that holds nothing (``early_limit=0``, the old behaviour)
    resyncs exactly the raced books, each by resubscribing that one market."""
    monkeypatch.setattr(
        stream_module, "BookKeeper", functools.partial(book_impl.BookKeeper, early_limit=0)
    )
    stream, resyncs = book_stream(sim)
    async with running(stream):
        connection = await subscribed(sim)
        first_subs = len(connection.requests_with("sub"))
        raced = list(connection.raced)
        for _ in range(200):  # each raced book sees its gap at its next update
            await all_read(stream, connection)
            if len(resyncs) == len(raced):
                break
            sim.step()
        repaired = first_subs + len(raced)
        await sim.wait_until(lambda: len(connection.requests_with("sub")) == repaired)
        sim.step()
        await all_read(stream, connection)
        assert_books_equal_the_truth(sim, stream, connection)
    assert sorted(r.market for r in resyncs) == sorted(raced)
    assert {r.reason for r in resyncs} == {"gap"}
    one_book = [[{"channel": "book", "market": m, "depth": DEPTH}] for m in sorted(raced)]
    unsubs = [r.message["subscription"] for r in connection.requests_with("unsub") if r.message]
    subs = [
        r.message["subscriptions"]
        for r in connection.requests_with("sub")[first_subs:]
        if r.message
    ]
    assert sorted(unsubs, key=str) == sorted(subs, key=str) == sorted(one_book, key=str)
