"""Order book: compiled class vs its pure-Python twin vs the ``order-book`` package.

All three get the same pre-generated replay of a btcusdt-like book: a 50-level snapshot per
side, then realistic 3-level deltas (mostly volume changes near the top, some removals with
volume "0", some new prices). ``order-book`` has no sequencing or string keeping, so it is
driven as a user would drive it: the same sequence checks in Python, prices and volumes
parsed with ``float``, zero levels deleted.

The stream's ``BookKeeper`` is measured on decoded 1-level update frames, against calling
``apply_update`` with the frame's fields from Python.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest benchmarks/test_book_bench.py``
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import order_book
import pytest

from maicoin.ws._frames import _book_c, _book_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.response import Response
from maicoin.ws.stats import StreamStats

DEPTH = 50
UPDATES = 2000
LEVELS_PER_UPDATE = 3
TICK_DIGITS = 1  # prices like "5337.3": integer ticks of 0.1


@dataclass(frozen=True)
class Update:
    asks: list[list[str]]
    bids: list[list[str]]
    first_update_id: int
    last_update_id: int


@dataclass(frozen=True)
class Replay:
    snapshot_asks: list[list[str]]
    snapshot_bids: list[list[str]]
    snapshot_li: int
    updates: list[Update]


def _price(ticks: int) -> str:
    whole, fraction = divmod(ticks, 10**TICK_DIGITS)
    return f"{whole}.{fraction:0{TICK_DIGITS}d}"


def _volume(rng: random.Random) -> str:
    return f"{rng.uniform(0.0001, 3.0):.4f}"


def _make_replay(seed: int = 5) -> Replay:
    """A random walk of the true book, recorded as MAX would send it."""
    rng = random.Random(seed)
    mid = 53373  # 5337.3 in ticks
    asks = {mid + 1 + i: _volume(rng) for i in range(DEPTH)}
    bids = {mid - 1 - i: _volume(rng) for i in range(DEPTH)}
    snapshot_asks = [[_price(t), asks[t]] for t in sorted(asks)]
    snapshot_bids = [[_price(t), bids[t]] for t in sorted(bids, reverse=True)]
    li = 1000
    updates: list[Update] = []
    for _ in range(UPDATES):
        changes: dict[str, list[list[str]]] = {"asks": [], "bids": []}
        for _ in range(LEVELS_PER_UPDATE):
            name = rng.choice(("asks", "bids"))
            side = asks if name == "asks" else bids
            ordered = sorted(side) if name == "asks" else sorted(side, reverse=True)
            # Activity concentrates at the top of the book.
            rank = min(int(rng.expovariate(1 / 6)), len(ordered) - 1)
            roll = rng.random()
            if roll < 0.6 or len(ordered) < DEPTH // 2:
                ticks = ordered[rank]
                side[ticks] = _volume(rng)
                changes[name].append([_price(ticks), side[ticks]])
            elif roll < 0.8:
                ticks = ordered[rank]
                del side[ticks]
                changes[name].append([_price(ticks), "0"])
            else:
                best = ordered[0]
                step = rng.randint(1, 60)
                ticks = best + step if name == "asks" else best - step
                if ticks in side or (ticks in (bids if name == "asks" else asks)):
                    continue
                side[ticks] = _volume(rng)
                changes[name].append([_price(ticks), side[ticks]])
        li += 1
        updates.append(Update(changes["asks"], changes["bids"], li, li))
    return Replay(snapshot_asks, snapshot_bids, 1000, updates)


REPLAY = _make_replay()
DELTA_LEVELS = sum(len(u.asks) + len(u.bids) for u in REPLAY.updates)


def _floats(levels: list[list[str]]) -> list[tuple[float, float]]:
    return [(float(price), float(volume)) for price, volume in levels]


class FloatBook:
    """``order_book.OrderBook`` behind the same sequencing the protocol requires."""

    def __init__(self) -> None:
        self.book = order_book.OrderBook()
        self.last_update_id = 0
        self.version = 0
        self.synced = False

    def apply_snapshot(
        self, asks: list[list[str]], bids: list[list[str]], last_update_id: int, version: int
    ) -> None:
        self.book.asks = {p: v for p, v in _floats(asks) if v}
        self.book.bids = {p: v for p, v in _floats(bids) if v}
        self.last_update_id = last_update_id
        self.version = version
        self.synced = bool(asks or bids)

    def apply_update(
        self,
        asks: list[list[str]],
        bids: list[list[str]],
        first_update_id: int,
        last_update_id: int,
        version: int,
    ) -> None:
        if not self.synced or version != self.version or last_update_id <= self.last_update_id:
            return
        if first_update_id > self.last_update_id + 1:
            self.synced = False
            return
        for side, levels in ((self.book.asks, asks), (self.book.bids, bids)):
            for price_text, volume_text in levels:
                price = float(price_text)
                volume = float(volume_text)
                if volume:
                    side[price] = volume
                elif price in side:
                    del side[price]
        self.last_update_id = last_update_id


class Book(Protocol):
    def apply_snapshot(
        self, asks: list[list[str]], bids: list[list[str]], last_update_id: int, version: int
    ) -> Any: ...

    def apply_update(
        self,
        asks: list[list[str]],
        bids: list[list[str]],
        first_update_id: int,
        last_update_id: int,
        version: int,
    ) -> Any: ...


IMPLEMENTATIONS: dict[str, Callable[[], Book]] = {
    "c": lambda: _book_c.OrderBook("btcusdt"),
    "py": lambda: _book_py.OrderBook("btcusdt"),
    "order-book": FloatBook,
}


def _synced(make: Callable[[], Book]) -> Book:
    book = make()
    book.apply_snapshot(REPLAY.snapshot_asks, REPLAY.snapshot_bids, REPLAY.snapshot_li, 1)
    return book


def _ours_best(book: Any) -> Any:
    return book.best_bid, book.best_ask


def _ours_top_bids(book: Any) -> Any:
    return book.bids(10)


def _float_best(book: Any) -> Any:
    return book.book.bids.index(0), book.book.asks.index(0)


def _float_top_bids(book: Any) -> Any:
    bids = book.book.bids
    return [bids.index(i) for i in range(min(10, len(bids)))]


READ_BEST = {"c": _ours_best, "py": _ours_best, "order-book": _float_best}
READ_TOP_BIDS = {"c": _ours_top_bids, "py": _ours_top_bids, "order-book": _float_top_bids}


class NoBook:
    """Accepts every delta and does nothing: the replay loop's own cost."""

    last_update_id = REPLAY.updates[-1].last_update_id

    def apply_snapshot(
        self, asks: list[list[str]], bids: list[list[str]], last_update_id: int, version: int
    ) -> None:
        pass

    def apply_update(
        self,
        asks: list[list[str]],
        bids: list[list[str]],
        first_update_id: int,
        last_update_id: int,
        version: int,
    ) -> None:
        pass


@pytest.mark.parametrize("impl", [*IMPLEMENTATIONS, "loop-only"])
def test_delta_replay(benchmark: Any, impl: str) -> None:
    """All deltas of the replay in one round; per-level cost = mean / levels."""
    make = IMPLEMENTATIONS.get(impl, NoBook)
    holder: list[Book] = []

    def fresh_book() -> None:
        holder[:] = [_synced(make)]

    def replay() -> None:
        apply = holder[0].apply_update
        for update in REPLAY.updates:
            apply(update.asks, update.bids, update.first_update_id, update.last_update_id, 1)

    benchmark.extra_info["levels"] = DELTA_LEVELS
    benchmark.extra_info["updates"] = len(REPLAY.updates)
    benchmark.pedantic(replay, setup=fresh_book, rounds=10 if impl in ("py", "order-book") else 30)
    book = holder[0]
    assert book.last_update_id == REPLAY.updates[-1].last_update_id  # type: ignore[attr-defined]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_snapshot_50(benchmark: Any, impl: str) -> None:
    book = IMPLEMENTATIONS[impl]()
    asks, bids = REPLAY.snapshot_asks, REPLAY.snapshot_bids
    benchmark(book.apply_snapshot, asks, bids, REPLAY.snapshot_li, 1)
    assert READ_BEST[impl](book)[0] is not None


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_read_best_bid_ask(benchmark: Any, impl: str) -> None:
    book = _synced(IMPLEMENTATIONS[impl])
    bid, ask = benchmark(READ_BEST[impl], book)
    assert bid[0] < ask[0]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_read_10_levels(benchmark: Any, impl: str) -> None:
    book = _synced(IMPLEMENTATIONS[impl])
    levels = benchmark(READ_TOP_BIDS[impl], book)
    assert len(levels) == 10


def test_replays_agree() -> None:
    """The three books end the replay with the same levels (so they did the same work)."""
    books = {impl: _synced(make) for impl, make in IMPLEMENTATIONS.items()}
    for book in books.values():
        for u in REPLAY.updates:
            book.apply_update(u.asks, u.bids, u.first_update_id, u.last_update_id, 1)
    expected = [(level.price, level.volume) for level in books["c"].bids()]  # type: ignore[attr-defined]
    assert [(lv.price, lv.volume) for lv in books["py"].bids()] == expected  # type: ignore[attr-defined]
    float_book = books["order-book"]
    assert isinstance(float_book, FloatBook)
    assert float_book.book.bids.to_list() == expected


def _book_frame(event: str, **keys: Any) -> bytes:
    frame = {"c": "book", "M": "btcusdt", "e": event, "T": 1700000000000, **keys}
    return json.dumps(frame).encode()


def _keeper_frames() -> tuple[Response, list[Response]]:
    """The replay as decoded frames, each update cut to its first level."""
    decode = make_decoder()
    snapshot = decode(
        _book_frame(
            "snapshot",
            a=REPLAY.snapshot_asks,
            b=REPLAY.snapshot_bids,
            li=REPLAY.snapshot_li,
            v=1,
        )
    )
    updates = []
    for u in REPLAY.updates:
        asks, bids = (u.asks[:1], []) if u.asks else ([], u.bids[:1])
        updates.append(
            decode(
                _book_frame(
                    "update", a=asks, b=bids, fi=u.first_update_id, li=u.last_update_id, v=1
                )
            )
        )
    return snapshot, updates


KEEPER_SNAPSHOT, KEEPER_UPDATES = _keeper_frames()

# keeper: BookKeeper.apply(frame); direct: book.apply_update(frame fields) from Python;
# "keeper-py, book-c" is the twin keeper over the compiled book (the stream before the
# keeper was compiled).
KEEPERS = {
    "keeper-c": (_book_c, _book_c),
    "keeper-py": (_book_py, _book_py),
    "keeper-py, book-c": (_book_py, _book_c),
    "direct-c": (None, _book_c),
    "direct-py": (None, _book_py),
}


@pytest.mark.parametrize("case", KEEPERS)
def test_keeper_apply(benchmark: Any, case: str) -> None:
    """Every 1-level update frame of the replay in one round; per update = mean / updates."""
    keeper_module, book_module = KEEPERS[case]
    holder: list[Any] = []

    def fresh_keeper() -> None:
        keeper = (keeper_module or _book_py).BookKeeper(StreamStats())
        keeper.books["btcusdt"] = book_module.OrderBook("btcusdt")
        assert keeper.apply(KEEPER_SNAPSHOT) is None
        holder[:] = [keeper]

    def through_keeper() -> None:
        apply = holder[0].apply
        for frame in KEEPER_UPDATES:
            apply(frame)

    def direct() -> None:
        apply = holder[0].books["btcusdt"].apply_update
        for r in KEEPER_UPDATES:
            apply(r.asks, r.bids, r.first_update_id, r.last_update_id, r.version)

    benchmark.extra_info["updates"] = len(KEEPER_UPDATES)
    rounds = 10 if book_module is _book_py else 30
    benchmark.pedantic(
        direct if keeper_module is None else through_keeper, setup=fresh_keeper, rounds=rounds
    )
    keeper = holder[0]
    assert keeper.books["btcusdt"].last_update_id == KEEPER_UPDATES[-1].last_update_id
    assert keeper.books["btcusdt"].synced
