"""End to end: backpressure of a bounded queue on a blast, and the benchmark runner itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from streamkit import TRANSPORTS, eventually, use_transport

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws.benchmark import (
    Result,
    RunConfig,
    format_memory,
    format_ratios,
    format_stages,
    format_table,
    run_benchmark,
    run_memory,
)
from maicoin.ws.testing.blast import BlastServer, start_blast_server

pytest.importorskip("picows")  # the blast server is a picows server

BLAST_FRAMES = 3_000


@pytest.fixture(scope="module")
def blast() -> Iterator[BlastServer]:
    with start_blast_server(BLAST_FRAMES, depth=50) as server:
        yield server


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bounded_response_queue_holds_the_stream_back(
    blast: BlastServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_transport(transport, monkeypatch)
    queue: asyncio.Queue[Response] = asyncio.Queue(maxsize=8)
    stream = Stream(uri=blast.uri, dispatch="queue", response_queue=queue, reconnect=False)
    stream.subscribe([Subscription(channel=Channel.BOOK, market=blast.market, depth=blast.depth)])
    runner = asyncio.get_running_loop().create_task(stream.arun())
    try:
        await eventually(queue.full, what="a full queue")
        await asyncio.sleep(0.05)
        # Eight queued, one waiting to be put; the rest of the blast waits in the socket.
        assert queue.qsize() == 8 and stream.stats.messages == 9
        received: list[Response] = []
        while len(received) < BLAST_FRAMES + 1:
            received.append(await asyncio.wait_for(queue.get(), 5))
        await asyncio.wait_for(runner, 5)
    finally:
        await stream.aclose()
    assert received[0].event == "subscribed"
    ids = [r.last_update_id or 0 for r in received if r.channel == Channel.BOOK]
    assert ids == sorted(ids)
    assert stream.stats.resyncs == 0 and stream.books[blast.market].synced
    book = stream.books[blast.market]
    assert [[lv.price_text, lv.volume_text] for lv in book.bids(blast.depth)] == (
        blast.final_book["bids"]
    )
    blast.next_result(timeout=5)


def test_the_runner_measures_and_checks_each_configuration() -> None:
    results = run_benchmark(
        2_000,
        transports=["websockets", "picows"],
        loops=["asyncio"],
        modes=["receive", "onepass", "inline"],
        repeat=1,
    )
    assert [(r.transport, r.mode) for r in results] == [
        ("websockets", "receive"),
        ("websockets", "onepass"),
        ("websockets", "inline"),
        ("picows", "receive"),
        ("picows", "onepass"),
        ("picows", "inline"),
    ]
    for result in results:
        assert result.ok, result.problems
        assert result.received == 2_001 and result.seconds > 0 and result.cpu_seconds > 0
    table = format_table(results)
    assert table.count("\n") == 7 and "Stream, inline" in table
    assert "receive + one-pass book" in table


def test_memory_runs_reconnect_and_sample_rss_after_each_connection() -> None:
    (result,) = run_memory(
        3_000, blast_frames=1_000, transports=["picows"], loops=["asyncio"], modes=["queue"]
    )
    assert result.ok, result.problems
    assert result.received == 3 * 1_001 and len(result.rss) == 3
    assert all(rss > 10_000_000 for rss in result.rss)
    assert "| picows | asyncio | queue | 3,003 |" in format_memory([result])


def test_bad_names_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="modes must be chosen from"):
        run_benchmark(1_000, modes=["inline", "turbo"])
    with pytest.raises(ValueError, match="transports must be chosen from"):
        run_benchmark(1_000, transports=["curl"])
    with pytest.raises(ValueError, match="memory runs measure Stream modes only"):
        run_memory(1_000, blast_frames=500, modes=["receive"])
    with pytest.raises(ValueError, match="loop must be one of"):
        RunConfig("picows", "trio", "inline", "ws://x", "btcusdt", 50, 10)
    with pytest.raises(ValueError, match="only Stream modes reconnect"):
        RunConfig("picows", "asyncio", "receive", "ws://x", "btcusdt", 50, 10, connections=2)


def test_config_travels_to_the_child_as_json() -> None:
    config = RunConfig("websockets", "uvloop", "queue", "ws://h:1/ws", "ethusdt", 5, 99, 3)
    assert RunConfig.from_json(config.to_json()) == config
    assert config.subscription == {"channel": "book", "market": "ethusdt", "depth": 5}


def _result(transport: str, mode: str, rate: float, cpu_us: float, **kw: Any) -> Result:
    frames = 1_000_000
    return Result(
        transport, "uvloop", mode, frames, frames, frames / rate, cpu_us * frames / 1e6, **kw
    )


def test_tables_state_the_ratios_stages_and_problems() -> None:
    results = [
        _result("websockets", "receive", 400_000, 2.5),
        _result("websockets", "decode", 320_000, 3.1),
        _result("websockets", "book", 300_000, 3.3),
        _result("websockets", "onepass", 330_000, 3.0),
        _result("websockets", "recv", 250_000, 4.0),
        _result("websockets", "inline", 360_000, 2.8),
        _result("websockets", "queue", 180_000, 5.5, problems=("book not synced",)),
    ]
    table = format_table(results)
    assert "| websockets | uvloop | Stream, inline | 360,000 | 2.80 | 90% | 112% | yes |" in table
    assert "NO: book not synced" in table
    assert "| 2.50 | 0.60 | 0.20 | 0.50 | 1.00 | -1.20 | 2.80 |" in format_stages(results)
    ratios = format_ratios(results)
    assert "inline Stream at 90% of the bare receive loop" in ratios
    assert "queue mode at 50% of inline" in ratios
    memory = _result("picows", "inline", 1, 1, rss=(40_000_000, 45_000_000, 44_000_000))
    assert "| 40.0 | 45.0 | 44.0 | +5.0 | yes |" in format_memory([memory])
