"""The fan-out benchmark runs end to end (tiny sizes; no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

from redis_server import redis_server

from maicoin.ws.benchmark.fanout import format_fanout, run_fanout


def test_the_fanout_benchmark_measures_and_reports() -> None:
    report = run_fanout(
        consumer_counts=(2,), seconds=3.0, rate=50.0, storm_consumers=3, storm_rounds=2
    )
    (latency,) = report.latency
    assert latency.consumers == 2 and latency.samples > 0 and latency.p50_us <= latency.p99_us
    assert report.storm is not None and report.storm.upstream_connections == 1
    assert report.storm.upstream_requests == 0  # pinned topics: a restart asks nothing upstream
    text = format_fanout(report)
    assert "| websocket | 2 |" in text and "must stay 1) | 1 |" in text


def test_the_fanout_benchmark_measures_the_redis_path(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        report = run_fanout(
            consumer_counts=(),
            seconds=3.0,
            rate=50.0,
            storm_consumers=2,
            storm_rounds=1,
            redis_url=url,
            redis_readers=(1,),
            redis_frames=1_000,
        )
    (latency,) = report.latency
    assert latency.path == "redis" and latency.samples > 0
    assert report.redis is not None and report.redis.frames == 1_000
    assert "read back by one transport" in format_fanout(report)
