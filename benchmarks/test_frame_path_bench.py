"""Frame path cost per frame with and without the feed lag measured, compiled vs pure.

Each round feeds ``FRAMES_PER_ROUND`` ticker updates (bytes) through one ``FramePath``: count,
decode, measure the lag (or not), dispatch to a no-op. The difference between the
``feed-lag`` and ``no-feed-lag`` rows of one implementation is what measuring costs a frame.

Run: ``.venv/bin/python -m pytest benchmarks/test_frame_path_bench.py``
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from maicoin.ws._frames import _frame_path_c, _frame_path_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.feed_lag import FeedLag
from maicoin.ws.stats import StreamStats

FRAMES_PER_ROUND = 10_000
ROUNDS = 30
IMPLEMENTATIONS = {"c": _frame_path_c, "py": _frame_path_py}
TICKER = (
    b'{"c":"ticker","M":"btcusdt","e":"update","tk":{"M":"btcusdt","O":"1","H":"2","L":"1",'
    b'"C":"2","v":"10","V":"0.1"},"T":' + str(int(time.time() * 1000)).encode() + b"}"
)


def ignore(value: Any) -> None:
    """The dispatcher, book and callbacks of the benchmark: nothing."""


@pytest.mark.parametrize("lag", ["feed-lag", "no-feed-lag"])
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_feed(benchmark: BenchmarkFixture, implementation: str, lag: str) -> None:
    module: ModuleType = IMPLEMENTATIONS[implementation]
    feed_lag = FeedLag() if lag == "feed-lag" else None
    path = module.FramePath(
        decode=make_decoder(raw=True),  # as a stream's frame path decodes
        stats=StreamStats(),
        apply_book=ignore,
        dispatch=ignore,
        request_resync=ignore,
        on_control=ignore,
        feed_lag=feed_lag,
    )
    feed = path.feed
    benchmark.group = "frame path: ticker update"
    benchmark.extra_info["frames_per_round"] = FRAMES_PER_ROUND

    def run() -> None:
        for _ in range(FRAMES_PER_ROUND):
            feed(TICKER)

    pedantic: Any = benchmark.pedantic  # untyped upstream
    pedantic(run, rounds=ROUNDS, warmup_rounds=1)
    if feed_lag is not None:
        # Every frame fed was counted: whole rounds (one, with --benchmark-disable).
        count = feed_lag["ticker"].count
        assert count and count % FRAMES_PER_ROUND == 0
        assert count // FRAMES_PER_ROUND in (1, ROUNDS + 1)
