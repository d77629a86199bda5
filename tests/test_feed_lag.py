"""Feed lag: the bucket layout, both frame paths counting alike, and a stream against a
simulator whose clock runs a known offset from ours; the ping's round trip in the stats."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, Recorder, eventually, running
from twins import compiled, twin_fixture

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws._frames import _frame_path_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.feed_lag import (
    BUCKETS,
    CHANNEL_SLOTS,
    MAX_LAG_MS,
    ZERO,
    FeedLag,
    LagSummary,
    bucket_bounds,
    lag_bucket,
)
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing import MaxSimulator

_frame_path_c = compiled("_frames._frame_path_c")
impl = twin_fixture(_frame_path_c, _frame_path_py)

HOUR_MS = 3_600_000


def middle(lag_ms: int) -> float:
    """What a percentile reads for lags in the bucket of ``lag_ms``."""
    low, high = bucket_bounds(lag_bucket(lag_ms))
    return (low + high) / 2


# ---------------------------------------------------------------- the buckets


def test_buckets_tile_every_lag_in_order() -> None:
    previous_high = -MAX_LAG_MS - 1
    for bucket in range(BUCKETS):
        low, high = bucket_bounds(bucket)
        assert low == previous_high + 1 and low <= high
        assert lag_bucket(low) == bucket == lag_bucket(high)
        # Within 1/16 of the lag: a percentile read back is within about 3%.
        assert high - low <= max(abs(low), abs(high)) / 16
        previous_high = high
    assert previous_high == MAX_LAG_MS


def test_small_lags_are_exact_and_huge_ones_clamped() -> None:
    assert [bucket_bounds(lag_bucket(ms)) for ms in (-3, 0, 15)] == [(-3, -3), (0, 0), (15, 15)]
    assert bucket_bounds(ZERO) == (0, 0)
    assert lag_bucket(10 * MAX_LAG_MS) == BUCKETS - 1 and lag_bucket(-10 * MAX_LAG_MS) == 0
    with pytest.raises(ValueError, match=f"bucket must be in 0..{BUCKETS - 1}; got {BUCKETS}"):
        bucket_bounds(BUCKETS)


def test_percentiles_read_the_buckets() -> None:
    lag = FeedLag()
    slot = lag.slot_for(Channel.TRADE)
    for ms, times in ((5, 50), (200, 49), (90_000, 1)):
        lag.counts[slot * BUCKETS + lag_bucket(ms)] += times
    assert lag["trade"] == LagSummary(100, 5.0, middle(200))
    assert lag.percentile("trade", 1.0) == middle(90_000)
    assert list(lag) == ["trade"] and "book" not in lag and len(lag) == 1
    assert lag.as_dict() == {"trade": {"count": 100, "p50_ms": 5.0, "p99_ms": middle(200)}}
    with pytest.raises(KeyError):
        lag["book"]
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]; got 0"):
        lag.percentile("trade", 0)


# ---------------------------------------------------------------- both frame paths


def build_path(impl: ModuleType, feed_lag: FeedLag) -> Any:
    return impl.FramePath(
        decode=make_decoder(),
        stats=StreamStats(),
        apply_book=lambda r: None,
        dispatch=lambda r: None,
        request_resync=lambda r: None,
        on_control=lambda r: None,
        feed_lag=feed_lag,
    )


def frame(channel: str | None, event: str, stamped: object) -> bytes:
    body: dict[str, Any] = {"e": event, "T": stamped, "M": "btcusdt"}
    if channel is not None:
        body["c"] = channel
    return json.dumps(body).encode()


# Lags in the middle of buckets over a second wide: the milliseconds the test takes move
# none of them to another bucket. The last two are beyond MAX_LAG_MS: clamped.
WIDE_LAGS = [
    sign * round(middle(ms))
    for ms in (20_000, 100_000, HOUR_MS, 30 * HOUR_MS, 500 * HOUR_MS, 10**12)
    for sign in (1, -1)
]


def test_both_paths_count_each_lag_in_its_bucket(impl: ModuleType) -> None:
    lag = FeedLag()
    path = build_path(impl, lag)
    for ms in WIDE_LAGS:
        path.feed(frame("ticker", "update", int(time.time() * 1000) - ms))
    expected = [0] * BUCKETS
    for ms in WIDE_LAGS:
        expected[lag_bucket(ms)] += 1
    assert lag.buckets("ticker") == expected


def test_snapshots_lifecycle_frames_and_odd_times_are_not_measured(impl: ModuleType) -> None:
    lag = FeedLag()
    path = build_path(impl, lag)
    now = int(time.time() * 1000)
    for skipped in [
        frame("book", "snapshot", now),
        frame("book", "snaptshot", now),
        frame("user", "order_snapshot", now),
        frame("user", "mwallet_account_snapshot", now),
        frame(None, "pong", now),
        frame("trade", "update", str(now)),  # T as text: no integer to subtract
        frame("trade", "update", float(now)),
    ]:
        path.feed(skipped)
    assert list(lag) == []
    path.feed(frame("user", "order_update", now - HOUR_MS))
    path.feed(frame("book", "update", now - HOUR_MS))
    assert {channel: s.count for channel, s in lag.items()} == {"user": 1, "book": 1}
    assert lag["book"].p50_ms == middle(HOUR_MS)


def test_a_channel_beyond_the_slots_is_not_measured(impl: ModuleType) -> None:
    lag = FeedLag()
    path = build_path(impl, lag)
    names = [f"channel{n}" for n in range(CHANNEL_SLOTS + 1)]
    for name in names:
        path.feed(frame(name, "update", int(time.time() * 1000)))
    assert list(lag) == names[:CHANNEL_SLOTS]
    assert lag.slots[names[-1]] == -1


def test_without_a_feed_lag_nothing_is_measured(impl: ModuleType) -> None:
    seen: list[Response] = []
    path = impl.FramePath(
        decode=make_decoder(),
        stats=StreamStats(),
        apply_book=lambda r: None,
        dispatch=seen.append,
        request_resync=lambda r: None,
        on_control=lambda r: None,
    )
    path.feed(frame("trade", "update", 1))
    assert len(seen) == 1 and path.stats.feed_lag.slots == {}


# ---------------------------------------------------------------- a stream, over loopback


def offset_clock(seconds: float) -> Callable[[], float]:
    """A simulator clock ``seconds`` off ours: every frame's T is that far from now."""
    return lambda: time.time() + seconds


@pytest.mark.parametrize("offset_ms", [-HOUR_MS, HOUR_MS])
async def test_a_stream_measures_each_channel_and_skips_snapshots(offset_ms: int) -> None:
    clock = offset_clock(-offset_ms / 1000)
    # Stepped by hand: once the steps end no frame is on its way, so none can be counted
    # and then not delivered because the stream was stopping.
    async with MaxSimulator(update_interval=None, clock=clock, seed=3) as sim:
        stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)
        stream.subscribe(
            [
                Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
                Subscription(channel=Channel.TRADE, market="btcusdt"),
            ]
        )
        seen = Recorder()
        stream.add_handler(seen)
        lag = stream.stats.feed_lag
        async with running(stream):
            await eventually(
                lambda: seen.having("snapshot", "book"),
                within=20,
                what="the book snapshot",
            )
            for _ in range(2000):
                if len(seen.having("update", "book")) >= 20 and seen.having("update", "trade"):
                    break
                sim.step()
                await asyncio.sleep(0.002)
            else:
                pytest.fail("2,000 steps gave fewer than 20 book updates or no trade")
            await eventually(
                lambda: (
                    lag["book"].count == len(seen.having("update", "book"))
                    and lag["trade"].count == len(seen.having("update", "trade"))
                ),
                within=20,
                what="every update delivered and measured once",
            )
    assert seen.having("snapshot", "book")  # seen, but not measured
    for channel in ("book", "trade"):
        assert lag[channel].p50_ms == lag[channel].p99_ms == middle(offset_ms)
    assert stream.stats.as_dict()["feed_lag"]["book"]["p50_ms"] == middle(offset_ms)


async def test_the_pings_round_trip_is_kept_in_the_stats() -> None:
    async with MaxSimulator(update_interval=None) as sim:
        stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)
        stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
        assert stream.stats.ping_rtt is None
        async with running(stream):
            await eventually(lambda: stream.connected, what="connected")
            first = await stream.ping(timeout=5)
            assert stream.stats.ping_rtt == first
            second = await stream.ping(timeout=5)
            assert stream.stats.ping_rtt == second
    assert stream.stats.as_dict()["ping_rtt"] == second > 0


async def test_prometheus_exports_the_lag_and_the_ping() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    from maicoin.ws.metrics import register_stream

    async with MaxSimulator(update_interval=0.01, clock=offset_clock(-3600)) as sim:
        stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)
        stream.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)])
        registry = prometheus_client.CollectorRegistry()
        register_stream(stream, registry, name="lagged")
        async with running(stream):
            await eventually(lambda: "book" in stream.stats.feed_lag, what="a book update")
            await stream.ping(timeout=5)
    text = prometheus_client.generate_latest(registry).decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    book = {("stream", "lagged"), ("channel", "book")}
    for quantile in ("0.5", "0.99"):
        key = ("maicoin_ws_feed_lag_seconds", frozenset({*book, ("quantile", quantile)}))
        assert samples[key] == middle(HOUR_MS) / 1000
    frames = samples[("maicoin_ws_feed_lag_frames_total", frozenset(book))]
    assert frames == stream.stats.feed_lag["book"].count
    rtt = samples[("maicoin_ws_ping_rtt_seconds", frozenset({("stream", "lagged")}))]
    assert rtt == stream.stats.ping_rtt


def test_feed_lag_costs_no_memory_until_a_frame_path_takes_it() -> None:
    lag = StreamStats().feed_lag
    assert lag._counts is None
    assert len(lag.counts) == BUCKETS * CHANNEL_SLOTS and lag._counts is not None
