"""Requests, replies, errors and public channels, checked over a real loopback socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import ClientFactory, client_factory, manual_simulator

from maicoin.ws.testing import BOOK_DEPTHS, KLINE_RESOLUTIONS, ManualClock, MaxSimulator

BOOK: dict[str, Any] = {"channel": "book", "market": "btcusdt"}


@pytest.fixture
async def documented(clock: ManualClock) -> AsyncIterator[MaxSimulator]:
    """A simulator wording its errors as the documentation does (``live_errors=False``); the
    live wording, the default, is tested in test_sim_live.py."""
    async with manual_simulator(clock, live_errors=False) as simulator:
        yield simulator


@pytest.fixture
def documented_client(documented: MaxSimulator) -> ClientFactory:
    return client_factory(documented)


async def test_sub_echoes_id_and_subscriptions_then_sends_snapshot(client: ClientFactory) -> None:
    async with client() as c:
        await c.send({"action": "sub", "id": "abc", "subscriptions": [{**BOOK, "depth": 5}]})
        reply, snapshot = await c.recv(), await c.recv()
    assert reply["e"] == "subscribed"
    assert reply["i"] == "abc"
    assert reply["s"] == [{"channel": "book", "market": "btcusdt", "depth": 5}]
    assert isinstance(reply["T"], int)
    assert (snapshot["c"], snapshot["e"], snapshot["M"]) == ("book", "snapshot", "btcusdt")


async def test_sub_with_the_singular_key_is_an_error(documented_client: ClientFactory) -> None:
    async with documented_client() as c:
        await c.send({"action": "sub", "id": 7, "subscription": [BOOK]})
        error = await c.recv()
    assert error["e"] == "error"
    assert error["i"] == 7
    assert error["E"][0].startswith("E-1100: invalid subscription")
    assert "'subscriptions'" in error["E"][0]


async def test_unsub_uses_the_singular_key_and_stops_the_channel(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as c:
        await c.subscribe(BOOK, {"channel": "trade", "market": "btcusdt"})
        await c.recv_until(lambda f: f.get("c") == "trade")
        await c.send({"action": "unsub", "id": "u1", "subscription": [BOOK]})
        reply = (await c.recv_until(lambda f: f["e"] == "unsubscribed"))[-1]
        sim.step(30)
        after = await c.drain()
    assert reply["i"] == "u1"
    assert reply["s"] == [BOOK]
    assert after, "the trade channel should still be live"
    assert {frame["c"] for frame in after} == {"trade"}


async def test_unsub_with_the_plural_key_is_an_error(documented_client: ClientFactory) -> None:
    async with documented_client() as c:
        await c.subscribe(BOOK)
        await c.recv()
        await c.send({"action": "unsub", "id": "u", "subscriptions": [BOOK]})
        error = await c.recv()
    assert error["E"][0].startswith("E-1100")
    assert "'subscription'" in error["E"][0]
    assert error["i"] == "u"


async def test_unknown_action_is_e1004_with_the_id(documented_client: ClientFactory) -> None:
    async with documented_client() as c:
        await c.send({"action": "subscribe", "id": "x1"})
        error = await c.recv()
    assert error == {"e": "error", "E": ["E-1004: invalid action"], "i": "x1", "T": error["T"]}


@pytest.mark.parametrize("text", ["{not json", '{"action": "sub"', "[1, 2]", '"sub"'])
async def test_text_that_is_not_a_json_object_is_e1005(
    documented_client: ClientFactory, text: str
) -> None:
    async with documented_client() as c:
        await c.send(text)
        error = await c.recv()
    assert error["e"] == "error"
    assert error["E"][0].startswith("E-1005: invalid json")
    assert "i" not in error


async def test_every_frame_has_an_integer_time(sim: MaxSimulator, client: ClientFactory) -> None:
    channels: list[dict[str, Any]] = [
        {**BOOK, "depth": 1},
        {"channel": "trade", "market": "btcusdt"},
        {"channel": "ticker", "market": "ethusdt"},
        {"channel": "kline", "market": "btcusdt"},
        {"channel": "market_status"},
        {"channel": "pool_quota", "currency": "usdt"},
    ]
    async with client() as c:
        await c.subscribe(*channels)
        sim.step(20)
        sim.set_pool_quota("usdt", "5")
        received = await c.drain()
    assert {f["c"] for f in received} == {c["channel"] for c in channels}
    assert all(type(f["T"]) is int and f["T"] == 1_750_000_000_000 for f in received)


@pytest.mark.parametrize("depth", BOOK_DEPTHS)
async def test_book_depth_is_honoured(client: ClientFactory, depth: int) -> None:
    async with client() as c:
        await c.subscribe({**BOOK, "depth": depth})
        snapshot = await c.recv()
    assert len(snapshot["a"]) == depth
    assert len(snapshot["b"]) == depth


async def test_book_depth_defaults_to_50(client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe(BOOK)
        snapshot = await c.recv()
    assert (len(snapshot["a"]), len(snapshot["b"])) == (50, 50)


@pytest.mark.parametrize("depth", [0, 3, 100, "5", True, None])
async def test_invalid_depth_is_e1100(documented_client: ClientFactory, depth: object) -> None:
    async with documented_client() as c:
        await c.send({"action": "sub", "id": "d", "subscriptions": [{**BOOK, "depth": depth}]})
        error = await c.recv()
    assert error["e"] == "error"
    assert error["i"] == "d"
    assert error["E"][0].startswith("E-1100: invalid subscription")
    assert "depth" in error["E"][0]


@pytest.mark.parametrize(
    "subscription",
    [
        {"channel": "book", "market": "dogeusdt"},
        {"channel": "book"},
        {"channel": "orders", "market": "btcusdt"},
        {"channel": "pool_quota"},
        {"channel": "pool_quota", "currency": "xyz"},
        {"channel": "kline", "market": "btcusdt", "resolution": "2m"},
        "book",
    ],
)
async def test_unservable_subscription_is_e1100(
    documented_client: ClientFactory, subscription: object
) -> None:
    async with documented_client() as c:
        await c.send({"action": "sub", "id": "s", "subscriptions": [subscription]})
        error = await c.recv()
    assert error["E"][0].startswith("E-1100")


@pytest.mark.parametrize("resolution", ["5m", "1h", "1d"])
async def test_kline_resolution_is_honoured(client: ClientFactory, resolution: str) -> None:
    async with client() as c:
        await c.subscribe({"channel": "kline", "market": "btcusdt", "resolution": resolution})
        snapshot = await c.recv()
    candle = snapshot["k"]
    assert candle["R"] == resolution
    assert candle["ET"] - candle["ST"] + 1 == KLINE_RESOLUTIONS[resolution] * 1000
    assert candle["ST"] % (KLINE_RESOLUTIONS[resolution] * 1000) == 0


async def test_kline_defaults_to_1m_and_closes_at_the_boundary(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    async with client() as c:
        await c.subscribe({"channel": "kline", "market": "btcusdt"})
        first = (await c.recv())["k"]
        clock.advance(60)
        sim.step()
        received = [f["k"] for f in await c.drain()]
    assert first["R"] == "1m"
    assert first["x"] is False
    closed, running = received[0], received[-1]
    assert closed["x"] is True
    assert closed["ST"] == first["ST"]
    assert running["x"] is False
    assert running["ST"] == first["ST"] + 60_000
    assert running["O"] == closed["C"]
    assert set(closed) == {"ST", "ET", "M", "R", "O", "H", "L", "C", "v", "ti", "x"}


async def test_market_status_is_global(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe({"channel": "market_status"})
        snapshot = await c.recv()
        sim.set_market_status("ethusdt", "cancel-only")
        update = await c.recv()
    assert "M" not in snapshot
    assert [entry["M"] for entry in snapshot["ms"]] == ["btcusdt", "ethusdt"]
    entry = snapshot["ms"][0]
    assert set(entry) == {"M", "st", "bu", "bup", "mba", "qu", "qup", "mqa", "mws"}
    assert (entry["st"], entry["bu"], entry["qu"]) == ("active", "btc", "usdt")
    assert isinstance(entry["bup"], int) and isinstance(entry["mba"], float)
    assert update["e"] == "update"
    assert update["ms"] == [{**snapshot["ms"][1], "st": "cancel-only"}]


async def test_pool_quota_is_per_currency(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as usdt, client() as btc:
        await usdt.subscribe({"channel": "pool_quota", "currency": "usdt"})
        await btc.subscribe({"channel": "pool_quota", "currency": "btc"})
        snapshot = await usdt.recv()
        await btc.recv()
        sim.set_pool_quota("usdt", "1234.5")
        update = await usdt.recv()
        btc_frames = await btc.drain()
    assert snapshot["qta"]["cu"] == "usdt"
    assert set(snapshot["qta"]) == {"cu", "av", "TU"}
    assert update["qta"] == {"cu": "usdt", "av": "1234.5", "TU": 1_750_000_000_000}
    assert btc_frames == []


async def test_trade_and_ticker_shapes(sim: MaxSimulator, client: ClientFactory) -> None:
    async with client() as c:
        await c.subscribe(
            {"channel": "trade", "market": "btcusdt"}, {"channel": "ticker", "market": "btcusdt"}
        )
        await c.recv_until(lambda f: f.get("c") == "ticker")
        sim.step(40)
        received = await c.drain()
    trades = [t for f in received if f["c"] == "trade" for t in f["t"]]
    tickers = [f["tk"] for f in received if f["c"] == "ticker"]
    assert trades and tickers
    assert all(set(t) == {"p", "v", "T", "tr"} and t["tr"] in ("up", "down") for t in trades)
    assert all(set(tk) == {"M", "O", "H", "L", "C", "v", "V"} for tk in tickers)
    assert tickers[-1]["C"] == trades[-1]["p"]


async def test_requests_are_recorded_per_connection(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as first, client() as second:
        await first.subscribe(BOOK)
        await second.send("oops")
        await second.recv()
        await first.drain()
    one, two = sim.all_connections
    assert [r.action for r in one.requests] == ["sub", "marker"]
    assert one.requests_with("sub")[0].message == json.loads(one.requests[0].text)
    assert two.request_count == 1 and two.requests[0].message is None
    assert [r.connection_id for r in sim.requests] == [one.id, two.id, one.id]


async def test_other_paths_are_not_found(sim: MaxSimulator) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://127.0.0.1:{sim.port}/other"):
            pass
    assert refused.value.response.status_code == 404
