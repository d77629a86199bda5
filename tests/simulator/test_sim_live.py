"""What the live exchange does beyond its documentation (probed on the live service), as the
simulator's defaults, each checked over a real loopback socket with a bare WebSocket client,
and each with its switch turned off."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from conftest import ClientFactory, client_factory, manual_simulator
from sim_client import ReferenceBook

from maicoin.ws.testing import ManualClock, MaxSimulator
from maicoin.ws.testing.bookview import respelt

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
    nested = '{"action":"sub","id":"x","subscriptions":' + "[" * 20_000 + "]" * 20_000 + "}"
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


# -- the layout of book frames ------------------------------------------------------------------

CANONICAL_BTC_PRICE = re.compile(r"[0-9]+\.[0-9]{2}")
"""How btcusdt (2 price decimals) spells a price in the true book."""


def prices(levels: list[list[str]]) -> list[Decimal]:
    return [Decimal(price) for price, _ in levels]


async def book_frames(sim: MaxSimulator, steps: int = 300, depth: int = 50) -> list[dict[str, Any]]:
    """The snapshot and the updates of ``steps`` market steps, on a new connection."""
    async with client_factory(sim)() as c:
        await c.subscribe({**BOOK, "depth": depth})
        received = [await c.recv()]
        sim.step(steps)
        received += await c.drain()
    return received


async def test_snapshot_bids_come_worst_first_and_asks_best_first(sim: MaxSimulator) -> None:
    snapshot = (await book_frames(sim, steps=0))[0]
    truth = sim.book_view("btcusdt", 50)
    assert snapshot["b"] == truth["bids"][::-1]
    assert snapshot["a"] == truth["asks"]
    assert prices(snapshot["b"]) == sorted(prices(snapshot["b"]))
    assert prices(snapshot["a"]) == sorted(prices(snapshot["a"]))


async def test_update_levels_are_unsorted_and_depend_on_the_seed_only(
    sim: MaxSimulator, clock: ManualClock
) -> None:
    updates = (await book_frames(sim))[1:]
    async with manual_simulator(clock) as again:
        assert (await book_frames(again))[1:] == updates
    sides = [prices(f[key]) for f in updates for key in ("a", "b") if len(f[key]) > 2]
    unsorted = [side for side in sides if side not in (sorted(side), sorted(side, reverse=True))]
    assert len(unsorted) > len(sides) / 2


async def test_removed_levels_are_sometimes_spelt_another_way(sim: MaxSimulator) -> None:
    received = await book_frames(sim)
    removed = [price for f in received[1:] for price, volume in f["a"] + f["b"] if volume == "0"]
    respelt = [price for price in removed if not CANONICAL_BTC_PRICE.fullmatch(price)]
    kept = [price for f in received for price, volume in f["a"] + f["b"] if volume != "0"]
    assert 0 < len(respelt) < len(removed) / 4
    assert all(CANONICAL_BTC_PRICE.fullmatch(price) for price in kept)
    # A book keyed by numbers follows the truth; one keyed by strings keeps ghost levels.
    by_number, by_string = ReferenceBook(), {"a": {}, "b": {}}
    for frame in received:
        by_number.apply(frame)
        for key in ("a", "b"):
            for price, volume in frame[key]:
                if volume == "0":
                    by_string[key].pop(price, None)
                else:
                    by_string[key][price] = volume
    truth = sim.book_view("btcusdt", 50, update_id=by_number.last_update_id)
    assert by_number.levels() == {"asks": truth["asks"], "bids": truth["bids"]}
    assert len(by_string["a"]) + len(by_string["b"]) > 100


async def test_book_layout_switches_off(clock: ManualClock) -> None:
    options = {"snapshot_bids_ascending": False, "shuffle_updates": False, "respell_prices": 0.0}
    async with manual_simulator(clock, **options) as sim:
        received = await book_frames(sim)
    truth = sim.book_view("btcusdt", 50, update_id=received[0]["li"])
    assert received[0]["b"] == truth["bids"]
    for frame in received[1:]:
        assert prices(frame["a"]) == sorted(prices(frame["a"]))
        assert prices(frame["b"]) == sorted(prices(frame["b"]), reverse=True)
        assert all(CANONICAL_BTC_PRICE.fullmatch(p) for p, _ in frame["a"] + frame["b"])


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_respell_prices_is_a_probability(value: float) -> None:
    with pytest.raises(ValueError, match="respell_prices must be within"):
        MaxSimulator(respell_prices=value)


@pytest.mark.parametrize(
    ("text", "other"),
    [("60000.10", "60000.1"), ("60000.00", "60000"), ("60000.12", "60000.120"), ("7", "7.0")],
)
def test_a_respelt_price_is_the_same_number(text: str, other: str) -> None:
    assert respelt(text) == other and Decimal(other) == Decimal(text)


# -- subscribe races ----------------------------------------------------------------------------

MARKETS = [f"m{n:02d}usdt" for n in range(30)]


async def subscribe_books(sim: MaxSimulator, markets: list[str]) -> list[dict[str, Any]]:
    """Subscribe ``markets`` at depth 5 in one request, then step once: every frame."""
    async with client_factory(sim)() as c:
        await c.subscribe(*[{"channel": "book", "market": m, "depth": 5} for m in markets])
        received = [await c.recv() for _ in markets]
        received += [await c.recv() for _ in sim.connections[0].raced]
        sim.step()
        received += await c.drain()
    return received


async def test_a_large_subscribe_has_updates_that_overtake_their_snapshot(
    clock: ManualClock,
) -> None:
    options = {"race_probability": 1.0, "race_markets": (3, 3)}
    async with manual_simulator(clock, markets=MARKETS[:25], **options) as sim:
        sim.step()
        received = await subscribe_books(sim, MARKETS[:25])
    raced = sim.all_connections[0].raced
    assert len(raced) == 3 and set(raced) <= set(MARKETS[:25])
    for market in MARKETS[:25]:
        frames = [f for f in received if f["M"] == market]
        kinds = [f["e"] for f in frames]
        snapshot = frames[kinds.index("snapshot")]
        after = [f for f in frames[kinds.index("snapshot") + 1 :] if f["e"] == "update"]
        if market not in raced:
            assert kinds[0] == "snapshot"
            assert not after or after[0]["fi"] == snapshot["li"] + 1
            continue
        early = frames[0]
        assert kinds[:2] == ["update", "snapshot"]
        assert early["fi"] == early["li"] == snapshot["li"] + 1
        # The first update after the snapshot skips the id the early update carried.
        assert after and after[0]["fi"] == snapshot["li"] + 2
        # Snapshot, then the early update, then the rest: the truth at every id.
        book = ReferenceBook()
        for frame in [snapshot, early, *after]:
            book.apply(frame)
            truth = sim.book_view(market, 5, update_id=book.last_update_id)
            assert book.levels() == {"asks": truth["asks"], "bids": truth["bids"]}


async def test_no_race_below_the_threshold_or_when_switched_off(clock: ManualClock) -> None:
    async with manual_simulator(
        clock, markets=MARKETS[:19], race_probability=1.0, race_min_markets=20
    ) as small:
        small.step()
        await subscribe_books(small, MARKETS[:19])
    async with manual_simulator(clock, markets=MARKETS, race_min_markets=None) as off:
        off.step()
        await subscribe_books(off, MARKETS)
    assert small.all_connections[0].raced == [] and off.all_connections[0].raced == []


async def test_small_requests_never_race(clock: ManualClock) -> None:
    """Races come with one large request; small ones (a resubscribe) never race, however
    many books the connection already holds."""
    async with (
        manual_simulator(clock, markets=MARKETS[:24], race_probability=1.0) as sim,
        client_factory(sim)() as c,
    ):
        sim.step()
        await c.subscribe(*[{"channel": "book", "market": m} for m in MARKETS[:20]])
        await c.drain()
        raced = list(sim.connections[0].raced)
        for n in range(20, 24):
            await c.subscribe({"channel": "book", "market": MARKETS[n]}, request_id=f"s{n}")
            await c.drain()
        assert sim.connections[0].raced == raced
    assert 3 <= len(raced) <= 5 and set(raced) <= set(MARKETS[:20])


async def test_races_are_seeded(clock: ManualClock) -> None:
    raced = []
    for _ in range(2):
        async with manual_simulator(clock, markets=MARKETS, seed=5) as sim:
            assert (sim.race_min_markets, sim.race_probability, sim.race_markets) == (
                20,
                2 / 3,
                (3, 5),
            )
            sim.step()
            for _ in range(4):
                await subscribe_books(sim, MARKETS)
            raced.append([c.raced for c in sim.all_connections])
    assert raced[0] == raced[1]
    assert any(raced[0]) and all(len(r) <= 5 for r in raced[0])


async def test_a_market_that_never_stepped_cannot_race(clock: ManualClock) -> None:
    """Its book one id back is the empty book before the first fill: a plain snapshot."""
    options = {"race_probability": 1.0, "race_markets": (5, 5)}
    async with manual_simulator(clock, markets=MARKETS[:20], **options) as sim:
        received = await subscribe_books(sim, MARKETS[:20])
    assert sim.all_connections[0].raced == []
    assert [f["e"] for f in received[:20]] == ["snapshot"] * 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"race_probability": 2.0}, "race_probability must be within"),
        ({"race_min_markets": 0}, "race_min_markets must be a positive integer"),
        ({"race_markets": (4, 3)}, "race_markets must be"),
        ({"race_markets": (0, 3)}, "race_markets must be"),
    ],
)
def test_race_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MaxSimulator(**options)


# -- permessage-deflate -------------------------------------------------------------------------

RSV1 = 0x40
"""The first-byte bit that marks a compressed (permessage-deflate) message."""


async def first_wire_byte(sim: MaxSimulator, **connect_options: Any) -> tuple[str | None, int]:
    """The negotiated extensions and the first byte on the wire of the first frame after
    the handshake (the ``subscribed`` reply), read below websockets' decoding."""
    async with client_factory(sim, **connect_options)() as c:
        protocol = c.websocket.protocol
        chunks: list[bytes] = []
        receive_data = protocol.receive_data

        def tap(data: bytes) -> None:
            chunks.append(bytes(data))
            receive_data(data)

        setattr(protocol, "receive_data", tap)  # noqa: B010
        await c.subscribe(BOOK)
        extensions = c.websocket.response.headers.get("Sec-WebSocket-Extensions")
    return extensions, chunks[0][0]


async def test_deflate_is_negotiated_when_the_client_offers_it(sim: MaxSimulator) -> None:
    extensions, first = await first_wire_byte(sim)  # websockets offers it by default
    assert extensions == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    )
    assert first & RSV1


async def test_plain_frames_when_the_client_does_not_offer_deflate(sim: MaxSimulator) -> None:
    extensions, first = await first_wire_byte(sim, compression=None)
    assert extensions is None and not first & RSV1


async def test_compression_switched_off_never_negotiates(clock: ManualClock) -> None:
    async with manual_simulator(clock, compression=False) as sim:
        extensions, first = await first_wire_byte(sim)
    assert extensions is None and not first & RSV1


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
