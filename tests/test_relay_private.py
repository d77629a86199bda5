"""Private relaying over loopback: a simulator upstream, a relay started private, real
``Stream`` consumers with credentials (run on both twins: normally and with
MAICOIN_WS_NO_EXTENSIONS=1)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import websockets
from accountkit import EVERY_WALLET_FILTER, KEY, SECRET, assert_equals_truth
from streamkit import FAST_RECONNECT, Recorder, eventually, running

from maicoin.ws import AuthenticationError, Channel, Stream, Subscription
from maicoin.ws.relay import Relay
from maicoin.ws.stream import StreamState
from maicoin.ws.testing import MaxSimulator, SimConnection, auth_request

OTHER, OTHER_SECRET = "other-trader", "other-secret-never-logged"
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(
        api_keys={KEY: SECRET, OTHER: OTHER_SECRET},
        seed=5,
        reorder_private=0.2,
        update_interval=None,
        private_every=None,
        pool_quota_every=None,
    ) as simulator:
        yield simulator


@pytest.fixture
async def relay(sim: MaxSimulator) -> AsyncIterator[Relay]:
    private = Relay(
        uri=sim.uri, api_key=KEY, api_secret=SECRET, private=True, reconnect_policy=FAST_RECONNECT
    )
    async with private as started:
        yield started


def consumer(relay: Relay, **options: Any) -> Stream:
    return Stream(KEY, SECRET, uri=relay.uri, reconnect_policy=FAST_RECONNECT, **options)


def upstream_connection(sim: MaxSimulator) -> SimConnection | None:
    found = [c for c in sim.connections if c.authenticated and c.open and not c.aborted]
    return found[-1] if found else None


def relay_synced(relay: Relay) -> bool:
    stream = relay.stream
    caches = (
        stream.orders,
        stream.mwallet_orders,
        stream.balances,
        stream.mwallet_balances,
        stream.trades,
        stream.mwallet_trades,
    )
    return stream.state is StreamState.CONNECTED and all(cache.synced for cache in caches)


async def settled(relay: Relay, sim: MaxSimulator, consumers: list[Stream]) -> SimConnection:
    """Wait until the relay has applied and fanned out every frame the simulator sent it,
    then until every consumer has applied every frame the relay queued for it (each pong
    comes after the frames sent before it on its connection)."""
    for _ in range(20):
        await eventually(
            lambda: relay_synced(relay) and upstream_connection(sim) is not None,
            within=10,
            what="the relay connected, authenticated and synced upstream",
        )
        try:
            await relay.stream.ping(timeout=5)
        except (ConnectionError, TimeoutError):
            continue  # dropped while asking: wait for the next connection
        connection = upstream_connection(sim)
        if connection is not None and relay.stream.connected:
            break
    else:
        raise AssertionError("the relay never stayed connected long enough to answer a ping")
    await eventually(
        lambda: all(stream.orders.synced for stream in consumers), within=10, what="synced"
    )
    for stream in consumers:
        await stream.ping(timeout=5)
    return connection


async def test_consumers_hold_the_truth_after_random_trading_and_upstream_drops(
    sim: MaxSimulator, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(5)
    every_wallet = consumer(relay, auth_filters=EVERY_WALLET_FILTER)
    spot_only = consumer(relay)  # MAX's default filters: order, trade, account
    late = consumer(relay, auth_filters=EVERY_WALLET_FILTER)
    spot_events: list[str] = []
    spot_only.add_handler(lambda r: spot_events.append(str(r.event)) if r.channel else None)
    drops = 0
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(running(every_wallet))
        await stack.enter_async_context(running(spot_only))
        consumers = [every_wallet, spot_only]
        for round_ in range(12):
            connection = await settled(relay, sim, consumers)
            for stream in consumers:
                assert_equals_truth(stream, sim, m_wallet_too=stream is not spot_only)
            if round_ == 4:
                # Joins while the relay is synced: its snapshots come from the caches.
                await stack.enter_async_context(running(late))
                consumers.append(late)
                continue
            sim.simulate_trading(KEY, rng.randint(20, 50))
            drop = rng.choice(("none", "abort", "close"))
            if drop == "abort":
                connection.abort()
            elif drop == "close":
                await connection.close(1001, "going away")
            if drop != "none":
                drops += 1
                # Trading goes on while the relay is away: its fresh snapshots must tell.
                sim.simulate_trading(KEY, rng.randint(1, 15))
        await settled(relay, sim, consumers)
        for stream in consumers:
            assert_equals_truth(stream, sim, m_wallet_too=stream is not spot_only)
    assert drops >= 3 and relay.stream.stats.connections == drops + 1
    # One upstream connection at a time, however many consumers: never a consumer's own.
    assert all(c.api_key == KEY for c in sim.connections if c.authenticated)
    assert not spot_only.mwallet_orders and not spot_only.mwallet_balances.synced
    assert not any(event.startswith("mwallet") for event in spot_events)
    assert relay.stats.private_frames_relayed > 500
    assert SECRET not in caplog.text and SECRET not in repr(relay.upstream.private)
    assert SECRET not in repr(relay.stream)


async def next_frame(ws: Any) -> dict[str, Any]:
    frame = msgspec.json.decode(await ws.recv())
    assert isinstance(frame, dict)
    return frame


async def frames_until_pong(ws: Any) -> list[dict[str, Any]]:
    """Every frame up to the answer of an application ping sent now (bounded)."""
    await ws.send(msgspec.json.encode({"action": "ping", "id": "last"}).decode())
    received: list[dict[str, Any]] = []
    for _ in range(10_000):
        frame = await next_frame(ws)
        if frame.get("e") == "pong":
            return received
        received.append(frame)
    raise AssertionError("no pong within 10,000 frames")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_refused_consumers_get_the_exchanges_errors_and_no_private_frame(
    sim: MaxSimulator, relay: Relay
) -> None:
    await settled(relay, sim, [])
    nonce = now_ms()
    async with websockets.connect(relay.uri) as good, websockets.connect(relay.uri) as refused:
        await good.send(msgspec.json.encode(auth_request(KEY, SECRET, nonce)).decode())
        assert (await next_frame(good))["e"] == "authenticated"
        attempts = [
            (auth_request(OTHER, OTHER_SECRET, nonce + 1), "E-1007: authentication failed"),
            (auth_request(KEY, "not-the-secret", nonce + 2), "E-1007: authentication failed"),
            (auth_request(KEY, SECRET, nonce - 60_000), "E-1006: invalid nonce"),
            (auth_request(KEY, SECRET, nonce), "E-1012: nonce has already been used"),
            (
                auth_request(KEY, SECRET, nonce + 3, filters=["order", "ad_ratio"]),
                "E-1101: invalid filter: this relay does not carry ad_ratio",
            ),
            (auth_request(KEY, SECRET, nonce + 4, filters=["nope"]), "E-1101: invalid filter"),
        ]
        for request, error in attempts:
            await refused.send(msgspec.json.encode(request).decode())
            frame = await next_frame(refused)
            assert frame["e"] == "error" and frame["i"] == "auth" and frame["co"] == 0
            assert frame["E"][0].startswith(error)
        sim.simulate_trading(KEY, 30)
        await settled(relay, sim, [])
        good_frames = await frames_until_pong(good)
        refused_frames = await frames_until_pong(refused)
    assert {"order_snapshot", "account_snapshot", "order_update"} <= {
        f.get("e") for f in good_frames
    }
    assert refused_frames == []
    assert relay.stats.auth_refused == len(attempts)


async def test_a_stream_with_a_wrong_secret_is_refused(relay: Relay) -> None:
    wrong = Stream(KEY, "wrong-secret", uri=relay.uri, reconnect_policy=FAST_RECONNECT)
    with pytest.raises(AuthenticationError, match="E-1007") as refusal:
        await wrong.arun()
    assert "wrong-secret" not in str(refusal.value)


async def test_a_public_consumer_gets_no_private_frame(sim: MaxSimulator, relay: Relay) -> None:
    public = Stream(uri=relay.uri, reconnect_policy=FAST_RECONNECT)
    public.subscribe([TICKER])
    recorder = Recorder()
    public.add_handler(recorder)
    async with running(public):
        await eventually(
            lambda: any(r.channel == Channel.TICKER for r in recorder.responses),
            within=10,
            what="the ticker snapshot",
        )
        sim.simulate_trading(KEY, 30)
        await settled(relay, sim, [])
        await public.ping(timeout=5)
    assert relay.stats.private_frames_relayed > 0
    assert not any(r.channel == Channel.USER for r in recorder.responses)


def test_private_needs_both_credentials() -> None:
    with pytest.raises(ValueError, match="api_secret missing"):
        Relay(api_key=KEY, private=True)
    with pytest.raises(ValueError, match="only with private=True") as misuse:
        Relay(api_key=KEY, api_secret=SECRET)
    assert SECRET not in str(misuse.value)


async def test_a_consumer_authenticated_before_the_relay_syncs_gets_its_snapshots_then(
    sim: MaxSimulator,
) -> None:
    # Upstream handshakes are refused (retry at once) until the consumer is in.
    sim.refuse_handshakes(None, until=sim.clock() + 3600, retry_after=sim.clock())
    sim.simulate_trading(KEY, 40)
    early_relay = Relay(
        uri=sim.uri, api_key=KEY, api_secret=SECRET, private=True, reconnect_policy=FAST_RECONNECT
    )
    async with early_relay as relay:
        early = consumer(relay, auth_filters=EVERY_WALLET_FILTER)
        feed = relay.upstream.private
        assert feed is not None
        async with running(early):
            await eventually(lambda: len(feed.listeners) == 1, within=10, what="authenticated")
            await early.ping(timeout=5)
            assert not relay.stream.connected and sim.refused_handshakes > 0
            assert not early.orders.synced and not early.balances.synced and not early.trades
            sim.accept_handshakes()
            await settled(relay, sim, [early])
            assert_equals_truth(early, sim)


async def test_a_relay_with_wrong_credentials_stops_without_showing_them(
    sim: MaxSimulator,
) -> None:
    wrong = Relay(
        uri=sim.uri,
        api_key=KEY,
        api_secret="wrong-relay-secret",
        private=True,
        reconnect_policy=FAST_RECONNECT,
    )
    with pytest.raises(AuthenticationError, match="E-1007") as refusal:
        await asyncio.wait_for(wrong.serve_forever(), 10)
    assert "wrong-relay-secret" not in str(refusal.value)
