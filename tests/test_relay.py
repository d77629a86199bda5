"""The relay against the simulator over loopback: many consumers (real Streams), one upstream.

Every consumer checks its books against the simulator's truth after every book frame; the
simulator counts the relay's connections and requests.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import websockets
from relaykit import Consumer, all_checked, book_subscriptions, consumers_running
from streamkit import FAST_RECONNECT, eventually, running

from maicoin.ws import AuthenticationError, Channel, Stream, Subscription, SubscriptionError
from maicoin.ws.relay import SLOW_CONSUMER_CLOSE_CODE, Relay
from maicoin.ws.testing import MaxSimulator

DEPTHS = {"btcusdt": 50, "ethusdt": 5}
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
TRADE = Subscription(channel=Channel.TRADE, market="ethusdt")


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(
        update_interval=0.01, seed=7, private_every=None, pool_quota_every=None
    ) as simulator:
        yield simulator


@pytest.fixture
async def relay(sim: MaxSimulator) -> AsyncIterator[Relay]:
    async with Relay(uri=sim.uri, reconnect_policy=FAST_RECONNECT) as started:
        yield started


def consumer(relay: Relay, sim: MaxSimulator, **kwargs: Any) -> Consumer:
    made = Consumer(relay.uri, sim, DEPTHS, **kwargs)
    made.stream.subscribe([*book_subscriptions(DEPTHS), TICKER, TRADE])
    return made


def sub_requests(sim: MaxSimulator) -> list[dict[str, Any]]:
    return [r.message for r in sim.requests if r.message and r.message.get("action") == "sub"]


def upstream_subscribed(sim: MaxSimulator) -> list[Any]:
    return [s for m in sub_requests(sim) for s in m["subscriptions"]]


async def test_twenty_consumers_follow_the_truth_over_one_upstream_connection(
    sim: MaxSimulator, relay: Relay
) -> None:
    for round_number in range(2):  # the second round: every consumer restarted
        consumers = [consumer(relay, sim) for _ in range(20)]
        async with consumers_running(consumers):
            await all_checked(consumers, frames=30)
            # Ticker and trade frames reach every consumer too, each starting from a snapshot.
            for each in consumers:
                assert each.recorder.events("ticker")[:1] == ["snapshot"]
                assert each.recorder.events("trade")[:1] == ["snapshot"]
        for each in consumers:
            assert each.mismatches == [] and each.resyncs == [], round_number
            assert each.stream.stats.connections == 1
        # Nobody listens any more: the relay dropped every topic upstream.
        await eventually(lambda: not relay.upstream.topics, what="topics dropped")
        await eventually(lambda: not relay.stream.subscriptions, what="unsubscribed upstream")
    assert len(sim.all_connections) == 1
    assert relay.stats.consumers_total == 40 and relay.stats.slow_consumers == 0
    # Each round asked for each topic once, however many consumers wanted it.
    keys = [(s["channel"], s.get("market")) for s in upstream_subscribed(sim)]
    assert sorted(keys) == sorted(
        2 * [("book", "btcusdt"), ("book", "ethusdt"), ("ticker", "btcusdt"), ("trade", "ethusdt")]
    )


async def test_a_held_topic_is_served_without_an_upstream_request(sim: MaxSimulator) -> None:
    pinned = book_subscriptions(DEPTHS)
    async with Relay(pinned, uri=sim.uri, reconnect_policy=FAST_RECONNECT) as relay:
        await eventually(lambda: all(b.synced for b in relay.books.values()), what="relay synced")
        requests_before = len(sim.requests)
        consumers = [Consumer(relay.uri, sim, DEPTHS) for _ in range(3)]
        for each in consumers:
            each.stream.subscribe(book_subscriptions(DEPTHS))
        async with consumers_running(consumers):
            await all_checked(consumers, frames=20)
        await asyncio.sleep(0)  # the reconcile after the last consumer left
        assert len(sim.requests) == requests_before  # pinned: nothing sent, nothing dropped
        assert all(c.mismatches == [] and c.resyncs == [] for c in consumers)


async def test_a_slow_consumer_is_cut_off_without_delaying_the_others() -> None:
    async with (
        MaxSimulator(update_interval=None, seed=11, private_every=None) as sim,
        Relay(
            book_subscriptions(DEPTHS), uri=sim.uri, max_buffer=64 * 1024, close_timeout=10.0
        ) as relay,
    ):
        await eventually(lambda: all(b.synced for b in relay.books.values()), what="synced")
        fast = [Consumer(relay.uri, sim, DEPTHS) for _ in range(5)]
        for each in fast:
            each.stream.subscribe(book_subscriptions(DEPTHS))
        # A consumer that subscribes and then stops reading (its transport paused, small
        # socket buffers at both ends), so the relay's outbox has to hold what is not taken.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", relay.port))
        async with (
            websockets.connect(relay.uri, sock=raw, compression=None, ping_interval=None) as slow,
            consumers_running(fast),
        ):
            subscribe = {
                "action": "sub",
                "id": "slow",
                "subscriptions": [
                    {"channel": "book", "market": m, "depth": d} for m, d in DEPTHS.items()
                ],
            }
            await slow.send(msgspec.json.encode(subscribe).decode())
            await eventually(lambda: all(c.synced() for c in fast), what="fast synced")
            await eventually(lambda: len(relay.sessions) == 6, what="six consumers")
            slow.transport.pause_reading()
            port = raw.getsockname()[1]
            (slow_session,) = [
                s for s in relay.sessions if s.outbox.connection.remote_address[1] == port
            ]
            relay_end = slow_session.outbox.connection.transport.get_extra_info("socket")
            relay_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            steps = 0
            while slow_session.outbox.cut_off_reason is None:
                assert steps < 20_000, "the slow consumer was never cut off"
                sim.step(10)
                steps += 10
                # Every step reaches every fast consumer while the slow one is stuck.
                await eventually(lambda: all(c.caught_up() for c in fast), what="fast kept up")
            # The slow consumer reads again and finds the close frame after its backlog.
            slow.transport.resume_reading()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await slow.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == SLOW_CONSUMER_CLOSE_CODE
            assert "consumer too slow" in closed.value.rcvd.reason
            await eventually(lambda: relay.stats.slow_consumers == 1, what="counted")
            sim.step(5)
            await eventually(lambda: all(c.caught_up() for c in fast), what="fast go on")
        assert all(c.mismatches == [] and c.resyncs == [] for c in fast)
        assert len(sim.all_connections) == 1


async def test_an_upstream_resync_or_reconnect_reaches_consumers_as_a_snapshot(
    sim: MaxSimulator, relay: Relay
) -> None:
    consumers = [consumer(relay, sim) for _ in range(3)]
    async with consumers_running(consumers):
        await all_checked(consumers, frames=20)
        snapshots = [len(c.recorder.having("snapshot", "book")) for c in consumers]
        sim.inject_gap("btcusdt")
        await eventually(lambda: relay.stream.stats.resyncs == 1, what="relay resynced")
        await all_checked(consumers, frames=20)
        sim.bump_version("ethusdt")
        await eventually(lambda: relay.stream.stats.resyncs == 2, what="relay resynced again")
        await all_checked(consumers, frames=20)
        sim.connections[0].abort()
        await eventually(
            lambda: len(sim.connections) == 1 and relay.stream.connected, what="relay reconnected"
        )
        await all_checked(consumers, frames=20)
    for before, each in zip(snapshots, consumers, strict=True):
        assert each.mismatches == [] and each.resyncs == []
        # One fresh snapshot per resync (two) and two for the reconnect (both books).
        assert len(each.recorder.having("snapshot", "book")) == before + 4
        assert each.stream.stats.connections == 1
    assert len(sim.all_connections) == 2


async def test_refusals_reach_the_consumer_as_error_frames(sim: MaxSimulator, relay: Relay) -> None:
    first = consumer(relay, sim)
    refusals: list[SubscriptionError] = []
    second = Stream(uri=relay.uri, on_subscription_error=refusals.append)
    second.subscribe(
        [
            Subscription(channel=Channel.BOOK, market="btcusdt", depth=10),  # relay holds 50
            Subscription(channel=Channel.BOOK, market="nopeusdt", depth=5),  # unknown upstream
            Subscription(channel=Channel.TICKER, market="ethusdt"),
        ]
    )
    async with consumers_running([first]):
        await all_checked([first], frames=5)
        async with running(second):
            await eventually(lambda: len(refusals) == 2, what="two refusals")
            await eventually(
                lambda: (
                    second.subscriptions == [Subscription(channel=Channel.TICKER, market="ethusdt")]
                ),
                what="refused forgotten",
            )
            assert await second.ping() >= 0
    reasons = sorted(r.reason for r in refusals)
    assert reasons[0].startswith("depth 10 is not supported: this relay carries")
    assert reasons[1] == "market nopeusdt does not exist"
    assert ("book", "nopeusdt", None) not in relay.upstream.topics


async def test_auth_is_refused_with_a_clear_error(sim: MaxSimulator, relay: Relay) -> None:
    private = Stream("key", "secret", uri=relay.uri, reconnect_policy=FAST_RECONNECT)
    with pytest.raises(AuthenticationError, match="public channels only"):
        await asyncio.wait_for(private.arun(), 10)


async def test_unsubscribe_leaves_the_topic_and_drops_it_upstream(
    sim: MaxSimulator, relay: Relay
) -> None:
    only = consumer(relay, sim)
    async with consumers_running([only]):
        await all_checked([only], frames=5)
        only.stream.unsubscribe([TICKER])
        await eventually(
            lambda: any(r.message and r.message.get("action") == "unsub" for r in sim.requests),
            what="unsub upstream",
        )
        assert ("ticker", "btcusdt", None) not in relay.upstream.topics
        count = len(only.recorder.having("update", "ticker"))
        await all_checked([only], frames=20)
        # At most frames already in flight when the unsub was answered.
        assert len(only.recorder.having("update", "ticker")) <= count + 1
    unsubs = [r.message for r in sim.requests if r.message and r.message.get("action") == "unsub"]
    assert unsubs[0]["subscription"] == [{"channel": "ticker", "market": "btcusdt"}]


async def test_bad_requests_get_the_exchanges_errors(relay: Relay) -> None:
    async with websockets.connect(relay.uri) as raw:
        await raw.send("not json")
        assert msgspec.json.decode(await raw.recv())["E"] == ["E-1005: invalid json"]
        await raw.send('{"action": "dance", "id": "x"}')
        reply = msgspec.json.decode(await raw.recv())
        assert (reply["E"], reply["i"], reply["co"]) == (["E-1004: invalid action"], "x", 0)
        await raw.send('{"action": "ping", "id": "p"}')
        assert msgspec.json.decode(await raw.recv())["e"] == "pong"
        await raw.send('{"action": "sub", "id": "s", "subscriptions": [{"channel": "book"}]}')
        reply = msgspec.json.decode(await raw.recv())
        assert reply["e"] == "error" and "needs a market" in reply["E"][0]


class _Collector:
    """A listener that keeps what it was given."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def deliver(self, frame: bytes) -> None:
        self.frames.append(frame)

    def refused(self, key: object, reason: str) -> None:
        raise AssertionError(f"refused: {reason}")


async def test_each_frame_is_encoded_once_for_every_listener(
    sim: MaxSimulator, relay: Relay
) -> None:
    first, second = _Collector(), _Collector()
    (book,) = book_subscriptions({"btcusdt": 50})
    for listener in (first, second):
        relay.upstream.join(listener, book)
    await eventually(lambda: len(first.frames) >= 20, what="20 frames")
    shared = min(len(first.frames), len(second.frames))
    # The very same bytes objects: one encoding (or the upstream's own bytes) for all.
    assert all(a is b for a, b in zip(first.frames[:shared], second.frames[:shared], strict=True))
    assert msgspec.json.decode(first.frames[0])["e"] == "snapshot"
