"""The latency, GC-pause and snapshot-storm benchmarks: their arithmetic, and quick real runs.

The quick runs measure nothing worth keeping (a fraction of a second each); they check that
every part works end to end: the paced server's send times pair with the client's handler
times, compression is negotiated as the live exchange does, GC pauses are logged, every
book of the storm syncs.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from maicoin.ws.benchmark import ClientPath, format_latency, run_latency
from maicoin.ws.benchmark.config import ORIGINAL
from maicoin.ws.benchmark.gc_pauses import format_gc_pauses, run_gc_pauses, summarize_pauses
from maicoin.ws.benchmark.latency import latencies, percentile
from maicoin.ws.benchmark.storm import STORM_MARKETS, format_storm, run_storm
from maicoin.ws.testing.blast import start_blast_server
from maicoin.ws.testing.paced import (
    DEFLATE_EXTENSION,
    Pace,
    deflate_message,
    inflate_message,
    offers_deflate,
    read_stamps,
)

pytest.importorskip("picows")  # the blast server is a picows server


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 1001)]
    assert percentile(values, 0.5) == 500.0
    assert percentile(values, 0.99) == 990.0
    assert percentile(values, 0.999) == 999.0
    assert percentile([], 0.5) == 0.0


def test_latency_pairs_the_nth_handler_call_with_the_nth_frame_sent() -> None:
    sent = [1_000, 2_000, 3_000, 4_000]
    handled = [500, 1_500, 2_700, 3_100, 9_000]  # the subscribed reply first
    assert latencies(sent, handled, warmup_ns=0) == ([0.1, 0.5, 0.7, 5.0], [])
    assert latencies(sent, handled, warmup_ns=1_500) == ([0.1, 5.0], [])


def test_a_burst_is_drained_when_its_last_frame_is_handled() -> None:
    sent = [1_000, 1_000, 1_000, 4_000, 6_000, 6_000, 6_000]
    handled = [0, 1_500, 1_600, 1_900, 4_500, 6_100, 6_200, 6_400]
    values, drained = latencies(sent, handled, warmup_ns=0, burst=3)
    assert values == [0.1, 0.2, 0.4, 0.5, 0.5, 0.6, 0.9]
    assert drained == [0.4, 0.9]


def test_deflate_messages_round_trip_and_offers_are_read() -> None:
    payload = json.dumps({"c": "book", "e": "update", "a": [["60000.1", "0.5"]] * 20}).encode()
    compressed = deflate_message(payload)
    assert len(compressed) < len(payload)
    assert inflate_message(compressed) == payload
    assert offers_deflate(["permessage-deflate; client_max_window_bits"])
    assert offers_deflate(["x-webkit-deflate-frame, permessage-deflate"])
    assert not offers_deflate([])
    with pytest.raises(ValueError, match="rate must be positive"):
        Pace(0, "/tmp")
    with pytest.raises(ValueError, match="burst must be"):
        Pace(1_000, "/tmp", burst=-1)


async def test_a_paced_server_compresses_for_a_client_that_offers_it(tmp_path: Path) -> None:
    pace = Pace(5_000, str(tmp_path), burst=50, burst_every=0.05, deflate=True)
    with start_blast_server(400, depth=5, pace=pace) as server:
        request = json.dumps(server.subscription_request())
        for compression in ("deflate", None):
            async with connect(server.uri, compression=compression) as connection:
                extensions = connection.response.headers.get("Sec-WebSocket-Extensions")
                await connection.send(request)
                frames = [await asyncio.wait_for(connection.recv(), 10) for _ in range(401)]
            assert extensions == (DEFLATE_EXTENSION if compression else None)
            assert json.loads(frames[0])["e"] == "subscribed"
            assert json.loads(frames[1])["e"] == "snapshot"
            result = server.next_result(timeout=10)
            assert result.frames_sent == 400
            stamps = read_stamps(result.stamps)
            assert len(stamps) == 400 and list(stamps) == sorted(stamps)


def test_a_quick_latency_run_measures_every_path_it_is_given() -> None:
    paths = [ClientPath("websockets", "receive", True), ClientPath("picows", "inline")]
    results = run_latency(
        rates=[2_000], seconds=0.6, burst=100, burst_every=0.2, paths=paths, repeat=1
    )
    assert [r.path for r in results] == paths
    for result in results:
        assert result.ok, result.problems
        assert result.samples > 100
        assert 0 < result.p50 <= result.p99 <= result.p999 <= result.max
        assert 0 < result.burst <= result.max and result.cpu_us > 0
    table = format_latency(results)
    assert "| 2,000/s | websockets, bare recv() loop, deflate |" in table
    assert "| 2,000/s | ours, picows, inline, plain |" in table


def test_gc_pauses_are_summed_per_generation() -> None:
    log = [0, 100_000, 90_000, 0, 300_000, 250_000, 2, 2_000_000, 900_000]
    summary = summarize_pauses("websockets", False, 10, log, [])
    assert summary.counts == (2, 0, 1)
    assert summary.max_ms == 2.0 and summary.max_by_generation == (0.3, 0.0, 2.0)
    assert summary.max_cpu_ms == 0.9 and summary.max_cpu_by_generation == (0.25, 0.0, 0.9)
    assert summary.total_ms == pytest.approx(2.4)
    assert "| websockets | no | 10 | 2 / 0 / 1 | 2.4 |" in format_gc_pauses([summary])


def test_a_gc_run_logs_the_collections_of_the_hot_path() -> None:
    # How many collections a few thousand frames make is the interpreter's business (3.11
    # and 3.12 make some on the websockets path, 3.13 none): the log must agree with itself.
    (result,) = run_gc_pauses(6_000, blast_frames=3_000, transports=["websockets"], freeze=[True])
    assert result.ok, result.problems
    assert result.frames == 2 * 3_001
    assert result.max_ms == max(result.max_by_generation)
    for collections, longest in zip(result.counts, result.max_by_generation, strict=True):
        assert (collections > 0) == (longest > 0)


def test_a_small_storm_syncs_every_book() -> None:
    markets = STORM_MARKETS[:3]
    results = run_storm(
        markets=markets, depth=5, clients=[("picows", False), ("websockets", True)], repeat=1
    )
    assert [(r.transport, r.compression) for r in results] == [
        ("picows", False),
        ("websockets", True),
    ]
    for result in results:
        assert result.ok, result.problems
        assert result.markets == 3 and result.seconds > 0 and result.frames >= 4
    assert "| websockets | deflate | 3 |" in format_storm(results)


@pytest.mark.skipif(
    not os.environ.get("MAICOIN_ORIGINAL_PYTHON"),
    reason="needs MAICOIN_ORIGINAL_PYTHON: a Python with maicoin from PyPI installed",
)
def test_the_original_runs_in_its_own_interpreter() -> None:
    path = ClientPath(ORIGINAL, "inline", True)
    (result,) = run_latency(
        rates=[1_000],
        seconds=0.6,
        burst=50,
        burst_every=0.2,
        paths=[path],
        original_python=os.environ["MAICOIN_ORIGINAL_PYTHON"],
        repeat=1,
    )
    assert result.ok, result.problems
    assert result.samples > 100 and 0 < result.p50 <= result.max


def test_without_the_originals_interpreter_its_rows_are_left_out() -> None:
    paths = [ClientPath(ORIGINAL, "inline"), ClientPath("picows", "receive")]
    results = run_latency(rates=[1_000], seconds=0.3, burst=0, paths=paths, repeat=1)
    assert [r.path for r in results] == [paths[1]]
