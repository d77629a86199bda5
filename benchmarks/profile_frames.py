"""Where a frame's time goes on the picows inline path: ``python benchmarks/profile_frames.py``.

Replays the blast server's realistic btcusdt stream in process (no socket: picows' own
cost per frame is the bare loop's row of e2e.md) through each stage alone and reports ns
per frame by kind. Writes benchmarks/results/frame-profile.md, the measured basis of the
lazy-frame plan. Every stage is the best of ``--repeat`` passes over the whole stream.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from maicoin.ws import Channel, Response, Subscription
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._frames.dispatch import Dispatcher
from maicoin.ws._frames.frame_path import IMPLEMENTATION as FRAMES_IMPLEMENTATION
from maicoin.ws._frames.frame_path import FramePath
from maicoin.ws.book import BookKeeper
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing.blast_stream import blast_stream

RESULTS = Path(__file__).resolve().parent / "results"


class Envelope(msgspec.Struct):
    """The keys every frame has, and nothing else: msgspec skips the rest unbuilt."""

    c: str | None = None
    e: str | None = None
    M: str | None = None
    T: int | None = None


def kind(payload: bytes) -> str:
    frame = msgspec.json.decode(payload)
    if frame["c"] == "book" and frame["e"] == "update":
        levels = len(frame.get("a", [])) + len(frame.get("b", []))
        return "book update, 3 levels" if levels == 3 else "book update, other"
    return f"{frame['c']} {frame['e']}"


def best_ns(run: Callable[[], None], count: int, repeat: int) -> float:
    """ns per item of the fastest of ``repeat`` calls of ``run`` (which handles ``count``)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter_ns()
        run()
        best = min(best, time.perf_counter_ns() - started)
    return best / count


def loop_over(function: Callable[[Any], object], items: Sequence[Any]) -> Callable[[], None]:
    def run() -> None:
        for item in items:
            function(item)

    return run


class BookPass:
    """Apply the whole stream's book frames to a fresh keeper, timing only those at
    ``indexes`` (which the keeper sees in stream order like every other frame)."""

    def __init__(self, responses: Sequence[Response], indexes: Sequence[int]) -> None:
        self.responses = responses
        self.chosen = set(indexes)
        self.spent = 0

    def __call__(self) -> None:
        keeper = BookKeeper(StreamStats())
        keeper.track(Subscription(channel=Channel.BOOK, market="btcusdt", depth=50))
        apply, clock, chosen = keeper.apply, time.perf_counter_ns, self.chosen
        total = 0
        for index, response in enumerate(self.responses):
            if response.channel is not Channel.BOOK:
                continue
            if index in chosen:
                began = clock()
                apply(response)
                total += clock() - began
            else:
                apply(response)
        self.spent = total


def book_ns(responses: Sequence[Response], indexes: Sequence[int], repeat: int) -> float:
    """ns per ``BookKeeper.apply`` of the frames at ``indexes``, best of ``repeat`` passes."""
    run = BookPass(responses, indexes)
    best = float("inf")
    for _ in range(repeat):
        run()
        best = min(best, run.spent)
    # The two clock reads around each call are part of the figure: subtract their cost.
    return max(best / max(len(indexes), 1) - clock_overhead(), 0.0)


class OnePass:
    """Feed the whole stream to a fresh keeper as the frame path does with the compiled
    book (``apply_frame`` first; the full decode and ``apply`` when it declines), timing
    only the frames at ``indexes``: decode and book apply together, by the one-pass read."""

    def __init__(self, payloads: Sequence[bytes], indexes: Sequence[int]) -> None:
        self.payloads = payloads
        self.chosen = set(indexes)
        self.spent = 0
        self.taken = 0

    def __call__(self) -> None:
        keeper = BookKeeper(StreamStats())
        keeper.track(Subscription(channel=Channel.BOOK, market="btcusdt", depth=50))
        apply_frame, apply, decode = keeper.apply_frame, keeper.apply, make_decoder()
        clock, chosen, book = time.perf_counter_ns, self.chosen, Channel.BOOK
        total = taken = 0
        for index, payload in enumerate(self.payloads):
            timed = index in chosen
            began = clock() if timed else 0
            if apply_frame(payload) is not None:
                taken += timed
            else:
                response = decode(payload)
                if response.channel is book:
                    apply(response)
            if timed:
                total += clock() - began
        self.spent, self.taken = total, taken


class InContext:
    """``OnePass`` timing of the frames at ``indexes`` with other company between them:
    ``"book"``, the stream's other book frames only (the one-pass read; the full decode
    and apply for the snapshot), or ``"stream"``, every other frame through a stream's
    ``FramePath.feed`` (one-pass readers, inline dispatch to a handler), each frame a new
    bytes object as a transport hands it over (made outside the timed call)."""

    def __init__(self, payloads: Sequence[bytes], indexes: Sequence[int], between: str) -> None:
        self.payloads = payloads
        self.chosen = set(indexes)
        self.between = between
        self.books = [kind(payload).startswith("book") for payload in payloads]
        self.spent = 0
        self.taken = 0

    def __call__(self) -> None:
        keeper, path = stream_path(one_pass=True)
        apply_frame, feed = keeper.apply_frame, path.feed
        apply, decode = keeper.apply, make_decoder()
        clock, chosen, fresh = time.perf_counter_ns, self.chosen, self.between == "stream"
        books = self.books
        total = taken = 0
        for index, stored in enumerate(self.payloads):
            payload = bytes(memoryview(stored)) if fresh else stored
            if index in chosen:
                began = clock()
                taken += apply_frame(payload) is not None
                total += clock() - began
            elif fresh:
                feed(payload)
            elif books[index] and apply_frame(payload) is None:
                apply(decode(payload))  # the snapshot, and any update it declines
        self.spent, self.taken = total, taken


def in_context_ns(
    payloads: Sequence[bytes], indexes: Sequence[int], between: str, repeat: int
) -> tuple[float, float]:
    """ns per frame at ``indexes`` by ``InContext(between)``, best of ``repeat`` passes, and
    the share ``apply_frame`` took; (nan, 0) with the pure-Python book."""
    if not hasattr(BookKeeper, "apply_frame"):
        return float("nan"), 0.0
    return best_pass_ns(InContext(payloads, indexes, between), len(indexes), repeat)


def best_pass_ns(run: OnePass | InContext, count: int, repeat: int) -> tuple[float, float]:
    """ns per timed frame of the fastest of ``repeat`` passes of ``run`` (which times
    ``count`` frames, one clock read's cost subtracted), and the share it took."""
    best = float("inf")
    for _ in range(repeat):
        run()
        best = min(best, run.spent)
    count = max(count, 1)
    return max(best / count - clock_overhead(), 0.0), run.taken / count


def clock_overhead() -> float:
    """ns of one pair of clock reads around a call, subtracted from per-call timings."""
    clock = time.perf_counter_ns
    started = clock()
    for _ in range(100_000):
        clock()
    return (clock() - started) / 100_000


def one_pass_ns(
    payloads: Sequence[bytes], indexes: Sequence[int], repeat: int
) -> tuple[float, float]:
    """ns per frame at ``indexes`` read and applied the one-pass way, and the share of them
    ``apply_frame`` took; (nan, 0) with the pure-Python book, which has no such read."""
    if not hasattr(BookKeeper, "apply_frame"):
        return float("nan"), 0.0
    return best_pass_ns(OnePass(payloads, indexes), len(indexes), repeat)


def market_pass_ns(chosen: Sequence[bytes], repeat: int) -> tuple[float, float]:
    """ns per trade or ticker frame read the one-pass way (the compiled frame path's
    ``read_market_update``, msgspec's decode for what it declines), and the share it read;
    (nan, 0) with the pure-Python frame path, which has no such read."""
    if FRAMES_IMPLEMENTATION != "c":
        return float("nan"), 0.0
    read = importlib.import_module("maicoin.ws._frames._frame_path_c").read_market_update
    decode = make_decoder(raw=True)

    def run() -> None:
        for payload in chosen:
            if read(payload) is None:
                decode(payload)

    taken = sum(read(payload) is not None for payload in chosen) / max(len(chosen), 1)
    return best_ns(run, len(chosen), repeat), taken


def _unused_hook(kind: type, value: object) -> object:
    raise TypeError(f"no hook for {kind}")  # never called: Response has no custom type


def stream_path(*, one_pass: bool) -> tuple[BookKeeper, FramePath]:
    """A fresh keeper of the blast stream's book and the frame path a stream would build
    around it (inline dispatch to one counting handler); ``one_pass``: as a stream builds
    it, the compiled book's ``apply_frame`` offered each frame first and (compiled frame
    path) trades and tickers read in one pass; else msgspec decodes every frame (a decoder
    with a hook, which the compiled path does not read past)."""
    keeper = BookKeeper(StreamStats())
    keeper.track(Subscription(channel=Channel.BOOK, market="btcusdt", depth=50))
    counted = [0]

    def count(_response: object) -> None:
        counted[0] += 1

    dispatcher = Dispatcher("inline", [count], None, None, lambda error: None)
    path = FramePath(
        decode=(
            make_decoder(raw=True)  # as a stream's frame path decodes
            if one_pass
            else msgspec.json.Decoder(Response, dec_hook=_unused_hook).decode
        ),
        stats=StreamStats(),
        apply_book=keeper.apply,
        dispatch=dispatcher.dispatch,
        request_resync=lambda request: None,
        on_control=lambda response: None,
        apply_book_frame=getattr(keeper, "apply_frame", None) if one_pass else None,
    )
    return keeper, path


def frame_path_pass(payloads: Sequence[bytes], *, one_pass: bool) -> Callable[[], None]:
    """The whole per-frame path (stats, decode, book, inline dispatch) over ``payloads``."""

    def run() -> None:
        feed = stream_path(one_pass=one_pass)[1].feed
        for payload in payloads:
            feed(payload)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "frame-profile.md")
    args = parser.parse_args(argv)

    payloads = blast_stream(args.frames).payloads
    decode = make_decoder()
    responses = [decode(p) for p in payloads]
    kinds = [kind(p) for p in payloads]
    untyped = msgspec.json.Decoder().decode
    envelope = msgspec.json.Decoder(Envelope).decode
    repeat = args.repeat

    rows = []
    for name in sorted(set(kinds), key=lambda k: -kinds.count(k)):
        indexes = [i for i, k in enumerate(kinds) if k == name and i > 0]
        chosen = [payloads[i] for i in indexes]
        if not chosen:
            continue
        rows.append(
            (
                name,
                len(chosen),
                sum(len(p) for p in chosen) / len(chosen),
                best_ns(loop_over(envelope, chosen), len(chosen), repeat),
                best_ns(loop_over(untyped, chosen), len(chosen), repeat),
                best_ns(loop_over(decode, chosen), len(chosen), repeat),
                book_ns(responses, indexes, repeat) if name.startswith("book update") else 0.0,
                *(
                    one_pass_ns(payloads, indexes, repeat)
                    if name.startswith("book update")
                    else market_pass_ns(chosen, repeat)
                ),
            )
        )
    # A book update's one pass again, with other company between (the rows' column has the
    # mix decoded by msgspec between).
    contexts: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row[0].startswith("book update"):
            indexes = [i for i, k in enumerate(kinds) if k == row[0] and i > 0]
            contexts[row[0]] = (
                in_context_ns(payloads, indexes, "book", repeat)[0],
                in_context_ns(payloads, indexes, "stream", repeat)[0],
            )
    everything = list(range(1, len(payloads)))
    mix = [payloads[i] for i in everything]
    mix_decode = best_ns(loop_over(decode, mix), len(mix), repeat)
    mix_envelope = best_ns(loop_over(envelope, mix), len(mix), repeat)
    mix_untyped = best_ns(loop_over(untyped, mix), len(mix), repeat)
    book_frames = [i for i in everything if responses[i].channel is Channel.BOOK]
    mix_book = book_ns(responses, book_frames, repeat) * len(book_frames) / len(mix)
    whole = best_ns(frame_path_pass(payloads, one_pass=False), len(payloads), repeat)
    whole_one_pass = best_ns(frame_path_pass(payloads, one_pass=True), len(payloads), repeat)
    rest = whole - mix_decode - mix_book

    lines = [
        "# Where a frame's time goes: the picows inline path, by stage and kind",
        "",
        f"`python benchmarks/profile_frames.py --frames {args.frames} --repeat {repeat}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}; {platform.machine()}, Python "
        f"{platform.python_version()}, msgspec {msgspec.__version__}, frame path: "
        f"{FRAMES_IMPLEMENTATION}).",
        "",
        "**Shared 2-core VM**: absolute ns move between runs; read the ratios. The blast",
        "server's stream replayed in process, no socket (picows' own cost per frame is the",
        "bare loop row of [e2e.md](e2e.md), about 0.2 µs). Each figure is ns per frame, best",
        f"of {repeat} passes. *envelope* decodes only `c`, `e`, `M`, `T` into a Struct and",
        "lets msgspec skip the rest (the floor of reading a frame's bytes without building",
        "its levels); *untyped* is `msgspec.json.decode` to dicts, lists and str; *Response* is",
        "our decoder (the full `Response`, levels as lists of two `str`); *book* is",
        "`BookKeeper.apply` of the decoded response, frames applied in stream order, each",
        "call timed alone (one clock read's cost subtracted). *one pass*, for a book update,",
        "is the compiled book's `BookKeeper.apply_frame`: the frame read from its bytes and",
        "applied (and the full decode and apply for the frames it declines: *taken* says how",
        "many it took), so it compares with *Response* + *book apply*; for a trade or ticker",
        "it is the compiled frame path's `read_market_update` (msgspec for what it declines),",
        "which compares with *Response*.",
        "",
        "| frame kind | frames | bytes | envelope ns | untyped ns | Response ns "
        "| book apply ns | Response - envelope | one pass ns | taken |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, count, size, env, raw, full, book, single, taken in rows:
        not_book = math.isnan(single)
        single_text = "" if not_book else f"{single:.0f}"
        taken_text = "" if not_book else f"{taken:.0%}"
        lines.append(
            f"| {name} | {count:,} | {size:.0f} | {env:.0f} | {raw:.0f} | {full:.0f} "
            f"| {book:.0f} | {full - env:.0f} | {single_text} | {taken_text} |"
        )
    lines += [
        "",
        "The whole path over the mix (per frame, all kinds):",
        "",
        "| stage | ns per frame | share of the path |",
        "|---|---:|---:|",
        f"| decode to `Response` | {mix_decode:.0f} | {mix_decode / whole:.0%} |",
        f"| of which: the envelope alone | {mix_envelope:.0f} | {mix_envelope / whole:.0%} |",
        f"| (untyped decode, for comparison) | {mix_untyped:.0f} | |",
        f"| book apply (averaged over all frames) | {mix_book:.0f} | {mix_book / whole:.0%} |",
        f"| stats, `FramePath`, inline dispatch, handler call | {rest:.0f} | {rest / whole:.0%} |",
        f"| **`FramePath.feed`, whole** | **{whole:.0f}** | 100% |",
        f"| **`FramePath.feed`, whole, one-pass reads** | **{whole_one_pass:.0f}** "
        f"| {whole_one_pass / whole:.0%} |",
        "",
        "A book update's one pass (`apply_frame`, ns per frame) by what comes between two",
        "timed frames: the stream's other book frames only; the mix with msgspec decoding",
        "the trades and tickers (the *one pass* column above); or a stream's own path, every",
        "other frame through `FramePath.feed` and every frame a new bytes object, as a",
        "transport hands it over (so the book's release of an old frame can free it):",
        "",
        "| frame kind | book frames only | the mix, msgspec between | the stream's path |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        if row[0] in contexts:
            alone, stream = contexts[row[0]]
            lines.append(f"| {row[0]} | {alone:.0f} | {row[7]:.0f} | {stream:.0f} |")
    lines.append("")
    args.out.write_text("\n".join(lines) + plan(rows, whole, contexts))
    print("\n".join(lines))
    return 0


def plan(
    rows: Sequence[tuple[str, int, float, float, float, float, float, float, float]],
    whole: float,
    contexts: dict[str, tuple[float, float]],
) -> str:
    """What the tables say about the one-pass read, with this run's figures."""
    by_kind = {row[0]: row for row in rows}
    three = by_kind.get("book update, 3 levels")
    full = f"{three[5] + three[6]:.0f} ns" if three else "n/a"
    single = f"{three[7]:.0f} ns" if three and not math.isnan(three[7]) else "n/a"
    envelope = f"{three[3]:.0f} ns" if three else "n/a"
    trade = by_kind.get("trade update")
    trade_full = f"{trade[5]:.0f} ns" if trade else "n/a"
    trade_single = f"{trade[7]:.0f} ns" if trade and not math.isnan(trade[7]) else "n/a"
    alone, stream = contexts.get("book update, 3 levels", (math.nan, math.nan))
    return f"""
## Reading the tables

- **Building the `Response` was the largest stage.** Over the mix, decoding to a full
  `Response` is about half of `FramePath.feed` without the one-pass read ({whole:.0f} ns a
  frame here). The typed decode costs about what an untyped `msgspec.json.decode` costs:
  the time is in creating Python objects (a list and two `str` per level), not in
  validation, and skipping fields is no escape (the *envelope* column still scans them).
- **Book updates are now read in one pass** (`BookKeeper.apply_frame`, compiled book
  only). A scanner for the book frame's plain shape reads the keys in any order, parses
  each price and volume from the bytes into the book's keys, applies the sequencing rule
  before touching the book, and makes `str` only of the texts the book keeps. The
  handler's `Response` holds each side as the frame's bytes until `asks`/`bids` is read.
  A 3-level update: {full} by the full decode and apply, {single} by one pass. msgspec's
  envelope alone is {envelope}.
- **What it declines goes the full way.** Any other channel, event or spelling (escapes,
  numbers with fractions or exponents, unknown or repeated keys), a book waiting for its
  snapshot, a gap or a stale update: nothing is touched and the frame is decoded and
  applied as before, so what the one-pass read accepts is exactly what the full path does
  (`tests/test_book_frames.py` checks both against the pure-Python twin).
- **Trades and tickers too** (the compiled frame path, when it decodes with msgspec's
  own `Response` decoder, as a stream does). A scanner reads the plain trade or ticker
  update and builds its `Response`, `Trade`s and `Ticker` as copies of prototypes with the
  frame's values put in their slots: the objects msgspec builds, without its key search
  and the 22 defaults it fills one by one. A trade update: {trade_full} by msgspec,
  {trade_single} by one pass (`tests/test_market_frames.py` checks every value and type
  against msgspec's, also with byte-level mutations).
- **In a stream's path the read costs more.** A 3-level update takes {alone:.0f} ns when
  only book frames come between, {single} with msgspec decoding the rest, and
  {stream:.0f} ns in a stream's own path, where every frame is a new object: the same
  frames read into the same book, so the same work but one, freeing the old frames the
  book let go of. The rest of the difference is what the other frames' code and data
  leave in the caches and branch predictors.
- **What stays.** The stats, `FramePath` and dispatch row (a residual: the whole path
  minus the two stages measured alone) is the floor of any design that calls a Python
  handler per frame; the *whole, one-pass reads* row is a stream's path.
"""


if __name__ == "__main__":
    sys.exit(main())
