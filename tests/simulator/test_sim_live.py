"""What the live exchange does beyond its documentation (protocol.md), as the simulator's
defaults, each checked over a real loopback socket with a bare WebSocket client, and each
with its switch turned off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import ClientFactory, client_factory, manual_simulator

from maicoin.ws.testing import ManualClock, MaxSimulator

BOOK: dict[str, Any] = {"channel": "book", "market": "btcusdt"}
NOW_MS = 1_750_000_000_000


async def still_serves(c: Any) -> None:
    """The connection is open and answers: a good subscription gets its reply and snapshot."""
    await c.subscribe({"channel": "ticker", "market": "ethusdt"}, request_id="after")
    snapshot = await c.recv()
    assert (snapshot["c"], snapshot["e"], snapshot["M"]) == ("ticker", "snapshot", "ethusdt")


# -- refusals and error frames ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscription", "reason"),
    [
        ({"channel": "book", "market": "nopeusdt"}, "market nopeusdt does not exist"),
        ({**BOOK, "depth": 30}, "depth 30 is not supported"),
        ({"channel": "nope", "market": "btcusdt"}, "channel nope does not exist"),
        (
            {"channel": "kline", "market": "btcusdt", "resolution": "2m"},
            "resolution 2m is not supported",
        ),
        ({"channel": "pool_quota", "currency": "xyz"}, "currency xyz does not exist"),
        ({"channel": "book"}, "market null does not exist"),
        ({**BOOK, "depth": "5"}, 'depth "5" is not supported'),
        ("book", "subscription book is not an object"),
    ],
)
async def test_a_refused_subscription_gets_a_plain_reason_and_the_socket_stays_open(
    client: ClientFactory, subscription: Any, reason: str
) -> None:
    async with client() as c:
        await c.send({"action": "sub", "id": "r1", "subscriptions": [subscription]})
        error = await c.recv()
        await still_serves(c)
    assert error == {"e": "error", "E": [reason], "i": "r1", "T": NOW_MS, "co": 0}
    assert list(error) == ["e", "E", "i", "T", "co"]


async def test_a_mixed_request_serves_the_good_ones_and_names_the_bad_ones(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    subscriptions = [
        {**BOOK, "depth": 5},
        {"channel": "book", "market": "nopeusdt"},
        {"channel": "trade", "market": "ethusdt"},
        {"channel": "ticker", "market": "btcusdt", "zz": 1},
        {"channel": "nope"},
    ]
    async with client() as c:
        await c.send({"action": "sub", "id": "mix", "subscriptions": subscriptions})
        reply, error, *snapshots = [await c.recv() for _ in range(5)]
    assert reply == {
        "e": "subscribed",
        "s": [
            {**BOOK, "depth": 5},
            {"channel": "trade", "market": "ethusdt"},
            {"channel": "ticker", "market": "btcusdt"},
        ],
        "i": "mix",
        "T": NOW_MS,
    }
    assert error == {
        "e": "error",
        "E": ["market nopeusdt does not exist", "channel nope does not exist"],
        "i": "mix",
        "T": NOW_MS,
        "co": 0,
    }
    assert [(f["c"], f["e"], f["M"]) for f in snapshots] == [
        ("book", "snapshot", "btcusdt"),
        ("trade", "snapshot", "ethusdt"),
        ("ticker", "snapshot", "btcusdt"),
    ]
    assert sorted(sim.connections[0].topics) == [
        ("book", "btcusdt"),
        ("ticker", "btcusdt"),
        ("trade", "ethusdt"),
    ]


async def test_an_unsub_with_a_bad_object_unsubscribes_the_good_ones(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as c:
        await c.subscribe(BOOK)
        await c.recv()
        await c.send({"action": "unsub", "id": "u", "subscription": [BOOK, {"channel": "nope"}]})
        reply, error = await c.recv(), await c.recv()
    assert (reply["e"], reply["i"], reply["s"]) == ("unsubscribed", "u", [BOOK])
    assert (error["E"], error["i"], error["co"]) == (["channel nope does not exist"], "u", 0)
    assert sim.all_connections[0].topics == {}


@pytest.mark.parametrize("text", ["{not json", '{"action": "sub"', "[1, 2]", '"sub"', ""])
async def test_text_that_is_not_a_json_object_is_e1005_with_an_empty_id(
    client: ClientFactory, text: str
) -> None:
    async with client() as c:
        await c.send(text)
        error = await c.recv()
        await still_serves(c)
    assert error == {"e": "error", "E": ["E-1005: invalid json"], "i": "", "T": NOW_MS, "co": 0}


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "subscribe", "id": "x"},
        {"action": "sub", "id": "x", "subscription": [BOOK]},
        {"action": "auth", "id": "x", "apiKey": "key", "nonce": NOW_MS, "signature": "bad"},
        {"action": "auth", "id": "x", "apiKey": "key", "nonce": "soon", "signature": "bad"},
    ],
    ids=["unknown-action", "mis-keyed-list", "bad-signature", "bad-nonce"],
)
async def test_every_error_frame_carries_co_and_the_request_id(
    client: ClientFactory, request_: dict[str, Any]
) -> None:
    async with client() as c:
        await c.send(request_)
        error = await c.recv()
    assert (error["e"], error["i"], error["co"], list(error)) == (
        "error",
        "x",
        0,
        ["e", "E", "i", "T", "co"],
    )


async def test_a_request_without_an_id_gets_an_empty_one(client: ClientFactory) -> None:
    async with client() as c:
        await c.send({"action": "sub", "subscriptions": [{"channel": "nope"}]})
        error = await c.recv()
    assert (error["E"], error["i"]) == (["channel nope does not exist"], "")


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "sub", "id": "x", "subscriptions": [{"channel": ["book"], "market": "btcusdt"}]},
        {"action": "sub", "id": "x", "subscriptions": [{"channel": "book", "market": {"a": 1}}]},
        {"action": "sub", "id": "x", "subscriptions": [{**BOOK, "depth": [5]}]},
        {
            "action": "sub",
            "id": "x",
            "subscriptions": [{"channel": "kline", "market": "btcusdt", "resolution": ["1m"]}],
        },
        {"action": "sub", "id": "x", "subscriptions": [{"channel": "pool_quota", "currency": []}]},
        {"action": ["sub"], "id": "x"},
        {"action": "auth", "id": "x", "apiKey": ["key"], "nonce": NOW_MS, "signature": {}},
        {"action": "auth", "id": "x", "apiKey": "key", "nonce": NOW_MS, "filters": [["order"]]},
        {"action": "sub", "id": [1, {"a": 2}], "subscriptions": "book"},
    ],
    ids=[
        "list-channel",
        "object-market",
        "list-depth",
        "list-resolution",
        "list-currency",
        "list-action",
        "list-api-key",
        "nested-filter",
        "odd-id",
    ],
)
async def test_unhashable_values_get_an_error_frame_not_a_close(
    client: ClientFactory, request_: dict[str, Any]
) -> None:
    async with client() as c:
        await c.send(request_)
        error = await c.recv()
        await still_serves(c)
    assert error["e"] == "error" and error["i"] == request_["id"] and error["co"] == 0


async def test_deep_nesting_is_invalid_json_not_a_close(client: ClientFactory) -> None:
    nested = '{"action":"sub","id":"x","subscriptions":' + "[" * 5000 + "]" * 5000 + "}"
    async with client() as c:
        await c.send(nested)
        error = await c.recv()
        await still_serves(c)
    assert (error["E"], error["i"]) == (["E-1005: invalid json"], "")


async def test_thousands_of_repeated_subscriptions_get_one_prompt_reply(
    client: ClientFactory,
) -> None:
    subscriptions = [BOOK, {"channel": "trade", "market": "ethusdt"}] * 2500
    async with client() as c:
        await c.send({"action": "sub", "id": "many", "subscriptions": subscriptions})
        reply = await c.recv(within=2.0)
        snapshots = [await c.recv(within=2.0) for _ in range(2)]
        await still_serves(c)
    assert reply["s"] == [BOOK, {"channel": "trade", "market": "ethusdt"}]
    assert [f["c"] for f in snapshots] == ["book", "trade"]


# -- idle close -----------------------------------------------------------------------------------


@pytest.fixture
async def idle_sim(clock: ManualClock) -> AsyncIterator[MaxSimulator]:
    async with manual_simulator(clock, idle_timeout=0.3) as simulator:
        yield simulator


async def test_a_silent_connection_is_dropped_without_a_close_frame(
    idle_sim: MaxSimulator,
) -> None:
    async with client_factory(idle_sim, ping_interval=None)() as c:
        await c.subscribe(BOOK)  # a subscription that stays quiet: the market never steps
        await c.recv()
        await asyncio.wait_for(c.websocket.wait_closed(), 5.0)
    assert (c.websocket.close_code, c.websocket.protocol.close_rcvd) == (1006, None)
    connection = idle_sim.all_connections[0]
    assert connection.idle_closed and connection.aborted and connection.close_code is None


async def test_a_quiet_connection_kept_alive_by_protocol_pings_stays_open(
    clock: ManualClock,
) -> None:
    async with (
        manual_simulator(clock, idle_timeout=1.0) as sim,
        client_factory(sim, ping_interval=None)() as c,
    ):
        for _ in range(25):  # 2.5 s of pings, every 0.1 s: far more than the timeout
            await asyncio.wait_for(await c.websocket.ping(), 5.0)
            await asyncio.sleep(0.1)
        await still_serves(c)
        assert not sim.all_connections[0].idle_closed
    assert sim.all_connections[0].pings_received == 25


@pytest.mark.parametrize("traffic", ["protocol-ping", "application-ping", "frame-sent"])
async def test_traffic_either_way_restarts_the_idle_watch(
    sim: MaxSimulator, client: ClientFactory, traffic: str
) -> None:
    async with client() as c:
        await c.subscribe(BOOK)
        await c.recv()
        connection = sim.connections[0]
        before = connection.last_traffic
        await asyncio.sleep(0.01)  # let the loop clock move on
        if traffic == "protocol-ping":
            await asyncio.wait_for(await c.websocket.ping(), 5.0)
        elif traffic == "application-ping":
            await c.send({"action": "ping", "id": "p"})
            await c.recv()
        else:
            sim.step(5)
            await c.recv()
        await sim.wait_until(lambda: connection.last_traffic > before)
    assert sim.idle_timeout == 60.0 and connection.idle_timeout == 60.0
    assert not connection.idle_closed


async def test_idle_timeout_none_never_drops(clock: ManualClock) -> None:
    async with manual_simulator(clock, idle_timeout=None) as sim, client_factory(sim)() as c:
        await asyncio.sleep(0.2)
        await still_serves(c)
    assert sim.all_connections[0].idle_timeout is None


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan")])
def test_idle_timeout_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match="idle_timeout must be positive or None"):
        MaxSimulator(idle_timeout=value)


# -- the application ping -----------------------------------------------------------------------


async def test_the_application_ping_is_answered_with_a_pong(client: ClientFactory) -> None:
    async with client() as c:
        await c.send({"action": "ping", "id": "p1"})
        pong = await c.recv()
    assert pong == {"e": "pong", "i": "p1", "T": NOW_MS}


# -- each switch turned off --------------------------------------------------------------------


@pytest.fixture
async def documented(clock: ManualClock) -> AsyncIterator[MaxSimulator]:
    """Every live behaviour switched off."""
    async with manual_simulator(clock, app_ping=False, live_errors=False) as simulator:
        yield simulator


@pytest.fixture
def documented_client(documented: MaxSimulator) -> ClientFactory:
    return client_factory(documented)


async def test_without_app_ping_a_ping_is_an_invalid_action(
    documented_client: ClientFactory,
) -> None:
    async with documented_client() as c:
        await c.send({"action": "ping", "id": "p1"})
        error = await c.recv()
    assert error == {"e": "error", "E": ["E-1004: invalid action"], "i": "p1", "T": NOW_MS}


async def test_documented_errors_refuse_a_mixed_request_whole(
    documented: MaxSimulator, documented_client: ClientFactory
) -> None:
    subscriptions = [BOOK, {"channel": "book", "market": "nopeusdt"}]
    async with documented_client() as c:
        await c.send({"action": "sub", "id": "mix", "subscriptions": subscriptions})
        error = await c.recv()
        await c.send(json.dumps({"action": "sub", "id": "x", "subscriptions": [[[]]]}))
        unhashable = await c.recv()
    assert error == {
        "e": "error",
        "E": ["E-1100: invalid subscription: subscriptions[1]: unknown market 'nopeusdt'"],
        "i": "mix",
        "T": NOW_MS,
    }
    assert unhashable["E"] == ["E-1100: invalid subscription: subscriptions[0] must be an object"]
    assert documented.all_connections[0].topics == {}
