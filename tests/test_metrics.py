"""Prometheus metrics: scraped over HTTP on loopback from streams connected to the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from streamkit import FAST_RECONNECT, eventually

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing import Faults, MaxSimulator
from maicoin.ws.testing.pytest_plugin import SimulatorFactory

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from maicoin.ws.metrics import (  # noqa: E402
    COUNTERS,
    register_stream,
    serve_metrics,
    unregister_stream,
)

BOOK = Subscription(channel=Channel.BOOK, market="btcusdt")
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    """GET ``url`` over HTTP (off the loop, which the streams need) and parse the samples."""

    def get() -> str:
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.status == 200
            return str(reply.read().decode())

    text = await asyncio.to_thread(get)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counter(samples: Samples, field: str, stream: str = "default") -> float:
    return samples[(f"maicoin_ws_{field}_total", frozenset({("stream", stream)}))]


def gauge(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"maicoin_ws_{name}", frozenset(labels.items()))]


async def test_scraped_counters_are_the_streams_stats(
    max_simulator_factory: SimulatorFactory,
) -> None:
    sim = await max_simulator_factory(faults=Faults(malformed_every=10))
    failed_once: list[Response] = []

    def fails_on_the_first_ticker(response: Response) -> None:
        if response.channel == "ticker" and not failed_once:
            failed_once.append(response)
            raise RuntimeError("a handler bug")

    stream = Stream(
        uri=sim.uri,
        reconnect_policy=FAST_RECONNECT,
        on_handler_error=lambda exc, response: None,
    )
    stream.subscribe([BOOK, TICKER])
    stream.add_handler(fails_on_the_first_ticker)
    server = serve_metrics(stream, 0, registry=CollectorRegistry())
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        async with stream:
            await eventually(lambda: stream.books["btcusdt"].synced, within=20, what="a book")
            sim.inject_gap("btcusdt")
            await eventually(lambda: stream.stats.resyncs == 1, within=20, what="a resync")
            for connection in sim.connections:
                connection.abort()
            await eventually(
                lambda: stream.stats.reconnects == 1 and stream.books["btcusdt"].synced,
                within=20,
                what="a reconnect",
            )
            await eventually(
                lambda: stream.stats.decode_errors > 0 and stream.stats.handler_errors == 1,
                within=20,
                what="a decode error and a handler error",
            )
            live = await scrape(server.url)
            assert gauge(live, "connected", stream="default") == 1
            assert gauge(live, "book_synced", stream="default", market="btcusdt") == 1
            assert gauge(live, "last_receive_timestamp_seconds", stream="default") > 0
            for field in COUNTERS:
                assert 0 < counter(live, field) <= getattr(stream.stats, field), field
        final = await scrape(server.url)  # stopped: the counters no longer move
        stats = stream.stats
        for field in COUNTERS:
            assert counter(final, field) == getattr(stats, field), field
        assert gauge(final, "connected", stream="default") == 0
        assert stats.last_receive_time is not None
        assert gauge(final, "last_receive_timestamp_seconds", stream="default") == pytest.approx(
            stats.last_receive_time
        )
    finally:
        server.close()


async def test_several_streams_are_told_apart_by_their_label(max_simulator: MaxSimulator) -> None:
    registry = CollectorRegistry()
    btc, eth = Stream(uri=max_simulator.uri), Stream(uri=max_simulator.uri)
    btc.subscribe([BOOK])
    eth.subscribe([Subscription(channel=Channel.BOOK, market="ethusdt")])
    server = serve_metrics({"btc": btc}, 0, registry=registry)
    collector = register_stream(eth, registry, name="eth")
    try:
        with pytest.raises(ValueError, match="eth"):
            register_stream(Stream(uri=max_simulator.uri), registry, name="eth")
        assert collector.names == ["btc", "eth"]
        async with btc, eth:
            await eventually(
                lambda: btc.books["btcusdt"].synced and eth.books["ethusdt"].synced,
                within=20,
                what="both books",
            )
            samples = await scrape(server.url)
        assert gauge(samples, "book_synced", stream="btc", market="btcusdt") == 1
        assert gauge(samples, "book_synced", stream="eth", market="ethusdt") == 1
        btc_eth = frozenset({("stream", "btc"), ("market", "ethusdt")})
        assert ("maicoin_ws_book_synced", btc_eth) not in samples  # each its own books
        assert counter(samples, "messages", "btc") > 0 and counter(samples, "messages", "eth") > 0
        assert unregister_stream(eth, registry)
        assert not unregister_stream(eth, registry)
        remaining = await scrape(server.url)
        assert ("maicoin_ws_messages_total", frozenset({("stream", "eth")})) not in remaining
        assert counter(remaining, "messages", "btc") == btc.stats.messages
    finally:
        server.close()


async def test_serve_metrics_defaults_to_the_global_registry(max_simulator: MaxSimulator) -> None:
    stream = Stream(uri=max_simulator.uri)
    for _ in range(2):  # close() unregisters the stream: the same name can serve again
        server = serve_metrics(stream, 0, name="global")
        try:
            samples = await scrape(server.url)
        finally:
            server.close()
        assert counter(samples, "messages", "global") == 0
        assert any(name == "python_info" for name, _ in samples)  # the global registry's own
    assert "closed" in repr(server)


def test_a_collected_stream_leaves_the_metrics() -> None:
    registry = CollectorRegistry()
    collector = register_stream(Stream(), registry, name="gone")
    gc.collect()
    assert collector.names == []
    exposition = prometheus_client.generate_latest(registry).decode()
    assert 'stream="gone"' not in exposition


def test_every_stats_counter_is_exported() -> None:
    fields = {f.name for f in dataclasses.fields(StreamStats) if f.type in ("int", int)}
    assert set(COUNTERS) == fields


def test_without_prometheus_client_the_error_says_what_to_install() -> None:
    code = """
        import sys
        sys.modules["prometheus_client"] = None  # as if it were not installed
        import maicoin.ws.metrics as metrics  # importing is fine
        from maicoin.ws import Stream
        try:
            metrics.serve_metrics(Stream(), 0)
        except ImportError as exc:
            print(exc)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == (
        "maicoin.ws.metrics needs prometheus-client: pip install 'maicoin-ws[metrics]'"
    )
