"""The true book and what book subscribers receive: replaying frames must give the truth."""

from __future__ import annotations

import pytest
from conftest import ClientFactory
from sim_client import ReferenceBook, SimClient
from websockets.asyncio.client import connect

from maicoin.ws.testing import MaxSimulator

BOOK = {"channel": "book", "market": "btcusdt"}


def assert_matches_truth(sim: MaxSimulator, book: ReferenceBook, depth: int) -> None:
    truth = sim.book_view("btcusdt", depth, update_id=book.last_update_id)
    assert book.levels() == {"asks": truth["asks"], "bids": truth["bids"]}
    assert book.version == truth["version"]


@pytest.mark.parametrize("depth", [1, 5, 50])
async def test_replayed_frames_equal_the_true_top_n(
    sim: MaxSimulator, client: ClientFactory, depth: int
) -> None:
    async with client() as c:
        await c.subscribe({**BOOK, "depth": depth})
        book = ReferenceBook()
        book.apply(await c.recv())
        assert_matches_truth(sim, book, depth)
        for _ in range(5):
            sim.step(40)
            for frame in await c.drain():
                book.apply(frame)
                assert_matches_truth(sim, book, depth)
    assert book.last_update_id > 1000


async def test_depth_limited_updates_may_cover_several_ids(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as c:
        await c.subscribe({**BOOK, "depth": 1})
        await c.recv()
        sim.step(300)
        updates = await c.drain()
    assert any(frame["li"] > frame["fi"] for frame in updates)
    assert len(updates) < 300


async def test_replay_while_the_market_runs_by_itself() -> None:
    async with (
        MaxSimulator(update_interval=0.005, private_every=None) as sim,
        connect(sim.uri) as websocket,
    ):
        c = SimClient(websocket)
        await c.subscribe({**BOOK, "depth": 10})
        book = ReferenceBook()
        for _ in range(30):
            book.apply(await c.recv())
            assert_matches_truth(sim, book, 10)


async def test_true_book_is_full_and_best_first(sim: MaxSimulator) -> None:
    truth = sim.true_book("btcusdt")
    asks = [float(price) for price, _ in truth["asks"]]
    bids = [float(price) for price, _ in truth["bids"]]
    assert len(asks) > 50 and len(bids) > 50
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
    assert bids[0] < asks[0]
    assert truth["last_update_id"] == sim.current_update_id("btcusdt")
    assert truth["version"] == sim.book_version("btcusdt") == 1


async def test_true_book_at_an_old_id_and_its_bound() -> None:
    async with MaxSimulator(update_interval=None, history=10) as sim:
        start = sim.current_update_id("btcusdt")
        before = sim.true_book("btcusdt")
        sim.step(10)
        assert sim.current_update_id("btcusdt") == start + 10
        assert sim.true_book("btcusdt", update_id=start) == before
        assert sim.true_book("btcusdt", update_id=start + 10) == sim.true_book("btcusdt")
        sim.step()
        with pytest.raises(ValueError, match="outside the kept history"):
            sim.true_book("btcusdt", update_id=start)
        with pytest.raises(ValueError, match="outside the kept history"):
            sim.true_book("btcusdt", update_id=start + 12)
        with pytest.raises(ValueError, match="unknown market 'nope'"):
            sim.true_book("nope")


async def test_the_market_evolution_depends_on_the_seed_only() -> None:
    async def book_after(seed: int, steps: int) -> dict[str, object]:
        async with MaxSimulator(update_interval=None, seed=seed) as sim:
            sim.step(steps)
            return sim.true_book("ethusdt")

    assert await book_after(7, 50) == await book_after(7, 50)
    assert await book_after(7, 50) != await book_after(8, 50)


async def test_gap_skips_update_ids(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe(BOOK)
        snapshot = await c.recv()
        sim.inject_gap("btcusdt")
        sim.step(2)
        after_gap = await c.drain()
    assert after_gap[0]["fi"] > snapshot["li"] + 1
    assert after_gap[0]["fi"] == sim.current_update_id("btcusdt")


async def test_version_change_then_resubscribe(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe({**BOOK, "depth": 5})
        assert (await c.recv())["v"] == 1
        assert sim.bump_version("btcusdt") == 2
        sim.step(5)
        updates = await c.drain()
        assert updates and {frame["v"] for frame in updates} == {2}
        await c.subscribe({**BOOK, "depth": 5}, request_id="again")
        snapshot = await c.recv()
        book = ReferenceBook()
        book.apply(snapshot)
        sim.step(20)
        for frame in await c.drain():
            book.apply(frame)
    assert snapshot["e"] == "snapshot" and snapshot["v"] == 2
    assert_matches_truth(sim, book, 5)


async def test_empty_snapshot_is_followed_by_a_full_one(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as c:
        await c.subscribe(BOOK)
        await c.recv()
        sim.send_empty_snapshot("btcusdt")
        empty = await c.recv()
        sim.step()
        full = await c.recv()
    assert (empty["e"], empty["a"], empty["b"]) == ("snapshot", [], [])
    assert empty["li"] == full["li"] - 1
    assert full["e"] == "snapshot" and len(full["a"]) == 50


async def test_removed_levels_carry_volume_zero(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe({**BOOK, "depth": 5})
        await c.recv()
        sim.step(50)
        updates = await c.drain()
    volumes = {volume for f in updates for _, volume in f["a"] + f["b"]}
    assert "0" in volumes


async def test_book_faults_need_a_subscription(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe({"channel": "trade", "market": "btcusdt"})
        await sim.wait_until(lambda: len(sim.connections) == 1)
        with pytest.raises(ValueError, match="no book subscription for 'btcusdt'"):
            sim.connections[0].inject_gap("btcusdt")
