"""Account caches: the cost of one private event, and what they cost public frames (nothing).

The frames are a simulated trader's day from the simulator's own account model (resting
orders, partial and full fills, cancels, both wallets; every wallet family subscribed, fast
trades included), with a fifth of the updates delivered stale, as ``reorder_private=0.2``
sends them. Each round feeds all of them, in order, to a fresh cache keeper.

- ``keeper``: ``AccountKeeper.apply`` alone on decoded frames (Python in both builds).
- ``path``: the whole per-frame path (decode, caches, a no-op dispatch), compiled frame path
  vs its pure twin, with the caches and without (``apply_private=None``): the difference is
  what the caches add per private event.
- ``public``: a public trade frame through the same paths, with and without the caches:
  public frames never reach them, so the two must match.

Divide a round by ``len(FRAMES)`` (``extra_info["frames"]``) for one event.

Run: ``.venv/bin/python -m pytest benchmarks/test_account_bench.py``
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from maicoin.ws._auth_check import FILTERS
from maicoin.ws._frames import _frame_path_c, _frame_path_py
from maicoin.ws._frames.account import AccountKeeper
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.response import Response
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing import MaxSimulator, frames
from maicoin.ws.testing.private import reordered

ACTIVITY = 2_000
ROUNDS = 20
T0 = 1_750_000_000_000
PUBLIC_TRADE = (
    b'{"c":"trade","e":"update","M":"btcusdt","T":1750000000004,'
    b'"t":[{"p":"60000.1","v":"0.01","T":1750000000004,"tr":"up"}]}'
)
PATHS: dict[str, ModuleType] = {"c": _frame_path_c, "py": _frame_path_py}


def _trading_day() -> list[bytes]:
    """The frames of ``ACTIVITY`` random changes, as one connection with every filter gets
    them (the snapshots first, as after auth)."""
    account = MaxSimulator(seed=4, update_interval=None, private_every=None).account("key")
    rng = random.Random(4)
    events = account.snapshots(FILTERS, T0)
    for _ in range(ACTIVITY):
        events += reordered(account.simulate_activity(T0), rng, 0.2)
    return [frames.encode(frames.user(e.event, e.key, e.value, T0)) for e in events]


FRAMES = _trading_day()
DECODED = [make_decoder()(frame) for frame in FRAMES]


def _no_dispatch(response: Response) -> None:
    """The dispatcher's place, doing nothing: the path's own cost is what is measured."""


def _feeder(
    path_module: ModuleType, apply_private: Callable[[Response], None] | None
) -> Callable[[bytes | str], Any]:
    path = path_module.FramePath(
        decode=make_decoder(raw=True),  # as a stream's frame path decodes
        stats=StreamStats(),
        apply_book=lambda response: None,
        dispatch=_no_dispatch,
        request_resync=lambda resync: None,
        on_control=lambda response: None,
        apply_private=apply_private,
    )
    feed: Callable[[bytes | str], Any] = path.feed
    return feed


def test_keeper_apply(benchmark: BenchmarkFixture) -> None:
    holder: list[AccountKeeper] = []

    def fresh() -> None:
        holder[:] = [AccountKeeper(StreamStats())]

    def replay() -> None:
        apply = holder[0].apply
        for response in DECODED:
            apply(response)

    benchmark.extra_info["frames"] = len(DECODED)
    benchmark.pedantic(replay, setup=fresh, rounds=ROUNDS)
    keeper = holder[0]
    assert keeper.orders.synced and keeper.mwallet_trades.synced
    assert keeper.orders.stale_updates + keeper.balances.stale_updates > 0


@pytest.mark.parametrize("caches", ["with-caches", "without-caches"])
@pytest.mark.parametrize("impl", list(PATHS))
def test_private_event_through_the_frame_path(
    benchmark: BenchmarkFixture, impl: str, caches: str
) -> None:
    holder: list[Callable[[bytes | str], Any]] = []

    def fresh() -> None:
        apply = AccountKeeper(StreamStats()).apply if caches == "with-caches" else None
        holder[:] = [_feeder(PATHS[impl], apply)]

    def replay() -> None:
        feed = holder[0]
        for frame in FRAMES:
            feed(frame)

    benchmark.extra_info["frames"] = len(FRAMES)
    benchmark.pedantic(replay, setup=fresh, rounds=ROUNDS)


@pytest.mark.parametrize("caches", ["with-caches", "without-caches"])
@pytest.mark.parametrize("impl", list(PATHS))
def test_public_frame_through_the_frame_path(
    benchmark: BenchmarkFixture, impl: str, caches: str
) -> None:
    apply = AccountKeeper(StreamStats()).apply if caches == "with-caches" else None
    feed = _feeder(PATHS[impl], apply)
    batch = [PUBLIC_TRADE] * len(FRAMES)

    def replay() -> None:
        for frame in batch:
            feed(frame)

    benchmark.extra_info["frames"] = len(batch)
    benchmark.pedantic(replay, rounds=ROUNDS)
