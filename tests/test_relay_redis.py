"""The Redis path against a real redis-server: the relay publishes, ``Stream(uri="redis://...")``
reads, and its books follow the simulator's truth as over a WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis
from redis_server import free_port, redis_server
from relaykit import Consumer, all_checked, book_subscriptions, consumers_running
from streamkit import FAST_RECONNECT, eventually, running

from maicoin.ws import AuthenticationError, Channel, HandshakeError, Stream, Subscription
from maicoin.ws._redis.keys import snapshot_key, stream_key
from maicoin.ws.relay import Relay
from maicoin.ws.relay.redis_publisher import RedisPublisher
from maicoin.ws.testing import MaxSimulator

DEPTHS = {"btcusdt": 50, "ethusdt": 5}
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
MAXLEN = 300
REFRESH_EVERY = 40


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory: Path = tmp_path_factory.mktemp("redis")
    with redis_server(directory) as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.from_url(redis_url)
    await connection.flushdb()
    yield connection
    await connection.aclose()


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(
        update_interval=0.01, seed=5, private_every=None, pool_quota_every=None
    ) as simulator:
        yield simulator


@pytest.fixture
async def relay(sim: MaxSimulator, redis_url: str, client: aioredis.Redis) -> AsyncIterator[Relay]:
    publisher = RedisPublisher(redis_url, maxlen=MAXLEN, refresh_every=REFRESH_EVERY)
    async with Relay(
        [*book_subscriptions(DEPTHS), TICKER],
        uri=sim.uri,
        reconnect_policy=FAST_RECONNECT,
        sinks=[publisher],
    ) as started:
        yield started


def redis_consumer(redis_url: str, sim: MaxSimulator) -> Consumer:
    made = Consumer(redis_url, sim, DEPTHS)
    made.stream.subscribe([*book_subscriptions(DEPTHS), TICKER])
    return made


async def test_redis_consumers_follow_the_truth(
    sim: MaxSimulator, relay: Relay, redis_url: str, client: aioredis.Redis
) -> None:
    consumers = [redis_consumer(redis_url, sim) for _ in range(3)]
    async with consumers_running(consumers):
        await all_checked(consumers, frames=2 * MAXLEN)
        # A consumer that comes late starts from the latest (refresh) snapshot, well inside
        # what trimming kept.
        late = redis_consumer(redis_url, sim)
        async with running(late.stream):
            await all_checked([*consumers, late], frames=50)
    for each in [*consumers, late]:
        assert each.mismatches == [] and each.resyncs == []
        assert each.recorder.events("ticker")[:2] == ["snapshot", "update"]
        assert each.stream.stats.connections == 1
    book = stream_key("maicoin-ws", ("book", "btcusdt", None))
    assert book == "{maicoin-ws}:book:btcusdt"
    # MAXLEN ~ trims whole nodes (100 entries each by default): about MAXLEN kept.
    assert MAXLEN <= await client.xlen(book) <= MAXLEN + 200
    snapshot = await client.hgetall(snapshot_key("maicoin-ws", ("book", "btcusdt", None)))
    assert set(snapshot) == {b"id", b"f"}
    # A ticker's hash follows its every update, as a snapshot: a late reader starts current.
    # Read in one transaction: the relay goes on publishing while the test reads.
    async with client.pipeline(transaction=True) as both:
        both.hgetall(snapshot_key("maicoin-ws", ("ticker", "btcusdt", None)))
        both.xrevrange("{maicoin-ws}:ticker:btcusdt", count=1)
        ticker, [(newest_id, newest)] = await both.execute()
    assert ticker[b"id"] == newest_id and newest[b"k"] == b"u"
    latest, relabelled = msgspec.json.decode(newest[b"f"]), msgspec.json.decode(ticker[b"f"])
    assert latest["e"] == "update" and relabelled == {**latest, "e": "snapshot"}
    assert len(sim.all_connections) == 1


async def test_an_upstream_resync_or_reconnect_reaches_redis_readers_as_a_snapshot(
    sim: MaxSimulator, relay: Relay, redis_url: str
) -> None:
    consumers = [redis_consumer(redis_url, sim) for _ in range(2)]
    async with consumers_running(consumers):
        await all_checked(consumers, frames=20)
        sim.inject_gap("btcusdt")
        await eventually(lambda: relay.stream.stats.resyncs == 1, what="relay resynced")
        await all_checked(consumers, frames=20)
        sim.connections[0].abort()
        await eventually(
            lambda: len(sim.connections) == 1 and relay.stream.connected, what="reconnected"
        )
        await all_checked(consumers, frames=20)
    for each in consumers:
        assert each.mismatches == [] and each.resyncs == []


async def test_a_reader_waits_for_a_book_not_yet_published(
    sim: MaxSimulator, redis_url: str, client: aioredis.Redis
) -> None:
    early = redis_consumer(redis_url, sim)
    async with consumers_running([early]):
        await eventually(lambda: early.recorder.events() == ["subscribed"], what="subscribed")
        publisher = RedisPublisher(redis_url, maxlen=MAXLEN)
        async with Relay([*book_subscriptions(DEPTHS), TICKER], uri=sim.uri, sinks=[publisher]):
            await all_checked([early], frames=20)
    assert early.mismatches == [] and early.resyncs == []


async def test_the_redis_transport_answers_ping_and_refuses_auth(
    redis_url: str, client: aioredis.Redis
) -> None:
    public = Stream(uri=redis_url)
    async with running(public):
        await eventually(lambda: public.connected, what="connected")
        assert await public.ping() >= 0
    private = Stream("key", "secret", uri=redis_url)
    with pytest.raises(AuthenticationError, match="public channels only"):
        await asyncio.wait_for(private.arun(), 10)


def test_a_redis_uri_needs_no_websocket_syntax() -> None:
    stream = Stream(uri="rediss://:secret@redis.example.com:6380/2")
    assert stream.uri.startswith("rediss://")
    with pytest.raises(ValueError, match="not a WebSocket URI"):
        Stream(uri="http://example.com")


async def test_a_password_in_the_url_authenticates_and_is_never_shown(
    sim: MaxSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with redis_server(tmp_path, password="hunter2") as url:
        assert "hunter2" in url
        publisher = RedisPublisher(url, maxlen=MAXLEN)
        async with Relay(book_subscriptions(DEPTHS), uri=sim.uri, sinks=[publisher]):
            reader = redis_consumer(url, sim)
            reader.stream.unsubscribe([TICKER])
            async with consumers_running([reader]):
                await all_checked([reader], frames=10)
            assert reader.mismatches == [] and "hunter2" not in repr(reader.stream)
        # A refused password is never retried: no wait cures it.
        wrong = Stream(uri=url.replace("hunter2", "wrong-pass"))
        with pytest.raises(HandshakeError, match="Redis refused the credentials") as failure:
            await asyncio.wait_for(wrong.arun(), 10)
    assert "wrong-pass" not in str(failure.value) and "wrong-pass" not in repr(wrong)
    assert "hunter2" not in caplog.text and "wrong-pass" not in caplog.text


class _OneBook:
    """Stands in for the relay's upstream: one book topic and its snapshot."""

    key = ("book", "btcusdt", None)
    snapshot = (
        b'{"c":"book","e":"snapshot","M":"btcusdt","a":[["101","1"]],"b":[["99","1"]],'
        b'"T":1,"fi":10,"li":10,"v":1}'
    )

    def __init__(self) -> None:
        self.topics = {self.key: None}

    def start_frame(self, key: object) -> bytes | None:
        return self.snapshot if key == self.key else None


async def test_an_overflowing_queue_is_dropped_counted_and_replaced_by_snapshots(
    redis_url: str, client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = RedisPublisher(redis_url, max_pending=10, refresh_every=1_000)
    upstream = _OneBook()
    publisher.start(upstream)  # type: ignore[arg-type]
    for li in range(11, 31):  # all queued before the writer runs: the queue overflows
        update = b'{"c":"book","e":"update","M":"btcusdt","fi":%d,"li":%d,"v":1}' % (li, li)
        publisher.publish(upstream.key, update, snapshot=False)
    await publisher.aclose()
    assert publisher.frames_dropped == 11
    assert "dropped; a snapshot of every topic follows" in caplog.text
    entries = await client.xrange("{maicoin-ws}:book:btcusdt")
    kinds = [fields.get(b"k") for _, fields in entries]
    # The snapshot that replaced the dropped frames comes first, then the rest in order.
    assert kinds == [b"s"] + [None] * 9
    assert entries[0][1][b"f"] == upstream.snapshot
    assert [
        fields[b"f"].count(b'"li":%d' % li)
        for (_, fields), li in zip(entries[1:], range(22, 31), strict=True)
    ] == [1] * 9
    snapshot = await client.hgetall("{maicoin-ws}:snapshot:book:btcusdt")
    assert snapshot[b"id"] == entries[0][0]


async def test_a_publisher_whose_redis_is_away_counts_and_reports_what_it_could_not_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = RedisPublisher(f"redis://127.0.0.1:{free_port()}/0")
    upstream = _OneBook()
    publisher.start(upstream)  # type: ignore[arg-type]
    publisher.publish(upstream.key, upstream.snapshot, snapshot=True)
    await asyncio.wait_for(publisher.aclose(), 10)
    assert publisher.write_errors >= 1 and publisher.entries_written == 0
    assert "redis publisher: 1 frames not written" in caplog.text
