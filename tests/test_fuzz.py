"""Fuzzing decode and the whole per-frame path, on both twins.

Valid frames (the corpus of ``frames.py`` and book sequences built with the simulator's own
frame generators) are mutated by hypothesis: truncated, bytes flipped, values nested deep,
fields given wrong types or huge numbers, bytes that are not UTF-8, random bytes. Each
sequence goes through a real FramePath with a real BookKeeper and Dispatcher, compiled and
pure-Python, and:

- ``feed`` never raises;
- every frame is either dispatched or counted in ``decode_errors`` (a book frame whose
  levels the book refuses is both: delivered, counted and resynced);
- a book hit by a frame that does not decode is unchanged; one that asks for a resync is
  no longer synced; a synced book is always well formed (sorted, no empty level);
- both twins agree on all of it.

Deterministic (``derandomize=True``) and bounded, so it runs in seconds and never flakes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import frames
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twins import compiled

from maicoin.ws import Channel, Response, Subscription, ValidationError
from maicoin.ws._frames import _book_py, _dispatch_py, _frame_path_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing import frames as sim_frames

_book_c = compiled("_frames._book_c")
_dispatch_c = compiled("_frames._dispatch_c")
_frame_path_c = compiled("_frames._frame_path_c")

PY = SimpleNamespace(name="pure-python", book=_book_py, dispatch=_dispatch_py, path=_frame_path_py)
C = (
    None
    if _book_c is None or _dispatch_c is None or _frame_path_c is None
    else SimpleNamespace(name="compiled", book=_book_c, dispatch=_dispatch_c, path=_frame_path_c)
)
TWINS = [PY] if C is None else [C, PY]

MARKET = "btcusdt"
FUZZ = settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- valid frames


def book_sequence() -> list[bytes]:
    """A snapshot and updates in sequence, from the simulator's frame generators."""
    out = [
        sim_frames.encode(
            sim_frames.book(
                "snapshot",
                MARKET,
                [["37000.1", "0.5"], ["37000.5", "1.25"], ["37010", "3"]],
                [["36999.9", "0.3"], ["36990", "2"], ["36980.5", "1e-3"]],
                first_update_id=1001,
                last_update_id=1005,
                version=7,
                now_ms=1_700_000_000_123,
            )
        )
    ]
    for n in range(6):
        li = 1006 + n
        out.append(
            sim_frames.encode(
                sim_frames.book(
                    "update",
                    MARKET,
                    [[f"{37000.1 + n:.1f}", "0" if n % 2 else "0.7"]],
                    [[f"{36999.9 - n:.1f}", "0.8"], ["36990", "0"]],
                    first_update_id=li,
                    last_update_id=li,
                    version=7,
                    now_ms=1_700_000_000_200 + n,
                )
            )
        )
    return out


BOOK_FRAMES = book_sequence()
SIM_FRAMES = [
    sim_frames.encode(
        sim_frames.market_data(
            "ticker",
            "update",
            MARKET,
            {"tk": {"M": MARKET, "O": "1", "H": "2", "L": "0.5", "C": "1.5", "v": "10", "V": "1"}},
            1_700_000_000_300,
        )
    ),
    sim_frames.encode(sim_frames.error("E-1004: invalid action", "req-1", 1_700_000_000_301)),
    sim_frames.encode(sim_frames.reply("subscribed", "req-2", 1_700_000_000_302, s=[])),
    sim_frames.encode(
        sim_frames.with_extra_keys(
            sim_frames.market_data(
                "trade",
                "update",
                MARKET,
                {"t": [{"p": "1", "v": "2", "T": 1_700_000_000_303, "tr": "up"}]},
                1_700_000_000_303,
            )
        )
    ),
]
CORPUS = [*BOOK_FRAMES, *SIM_FRAMES, *(text.encode() for text in frames.ALL_FRAMES.values())]

# ---------------------------------------------------------------- mutations

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["", "nan", "-1", "1e400", "1_0", " 1", "0", "37000.1", "\ud800"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)
bad_levels = st.lists(
    st.one_of(
        st.lists(st.sampled_from(["abc", "-1", "nan", "1e400", "", "1", "0", "2.5"]), max_size=3),
        json_values,
    ),
    max_size=3,
)
huge_numbers = st.sampled_from(
    ["1" + "0" * 400, "-" + "9" * 30, "1e999", "-0", "18446744073709551616", "9223372036854775808"]
)


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn) -> bytes | str:
    """One valid frame, mutated one way (or left valid)."""
    # Half the time a book frame: those reach the book as well as the handlers.
    base = draw(st.sampled_from(BOOK_FRAMES) | st.sampled_from(CORPUS))
    how = draw(
        st.sampled_from(
            [
                "valid",
                "truncate",
                "flip",
                "splice",
                "deep",
                "retype",
                "levels",
                "huge",
                "non-utf8",
                "surrogate",
                "random",
                "text",
            ]
        )
    )
    if how == "valid":
        return base
    if how == "truncate":
        return base[: draw(st.integers(0, max(len(base) - 1, 0)))]
    if how == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "splice":
        at = draw(st.integers(0, len(base)))
        return base[:at] + draw(st.binary(max_size=12)) + base[at:]
    if how == "random":
        return draw(st.binary(max_size=64))
    if how == "text":
        return base.decode()
    obj = json.loads(base)
    keys = sorted(obj)
    key = draw(st.sampled_from(keys))
    if how == "deep":
        depth = draw(st.sampled_from([2, 50, 900, 3000, 20_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        text = base.decode()
        marker = json.dumps(key) + ":"
        start = text.index(marker) + len(marker)
        # The key's value nested `depth` times (its closing half dropped sometimes).
        body = opener * depth + "1" + (closer * depth if draw(st.booleans()) else "")
        rest = text[start:]
        value_end = len(json.dumps(obj[key], separators=(",", ":")))
        return text[:start] + body + rest[value_end:]
    if how == "retype":
        obj[key] = draw(json_values)
        return _dump(obj)
    if how == "levels":  # a book frame in sequence whose levels are broken
        obj = json.loads(draw(st.sampled_from(BOOK_FRAMES[1:3])))
        obj[draw(st.sampled_from(["a", "b"]))] = draw(bad_levels)
        return _dump(obj)
    if how == "huge":
        text = _dump({**obj, key: 0}).decode()
        return text.replace(json.dumps(key) + ": 0", json.dumps(key) + ": " + draw(huge_numbers))
    if how == "non-utf8":
        at = draw(st.integers(0, len(base)))
        return (
            base[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"]))
            + base[at:]
        )
    # surrogate: a lone surrogate in a text frame, escaped or raw
    text = base.decode()
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(["\ud800", "\\ud800", "\udfff"])) + text[at:]


sequences = st.lists(mutated(), min_size=1, max_size=12)

# ---------------------------------------------------------------- the path under test


@dataclass
class Run:
    """One twin's whole path: FramePath, BookKeeper and an inline Dispatcher."""

    twin: Any
    stats: StreamStats = field(default_factory=StreamStats)
    dispatched: list[Response] = field(default_factory=list)
    resyncs: list[Any] = field(default_factory=list)
    errors: list[Response] = field(default_factory=list)
    unhandled: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.books = self.twin.book.BookKeeper(self.stats)
        self.books.track(Subscription(channel=Channel.BOOK, market=MARKET, depth=5))
        self.dispatcher = self.twin.dispatch.Dispatcher(
            "inline", [self.dispatched.append], None, None, self.unhandled.append
        )
        self.path = self.twin.path.FramePath(
            decode=make_decoder(),
            stats=self.stats,
            apply_book=self.books.apply,
            dispatch=self.dispatcher.dispatch,
            request_resync=self.resyncs.append,
            on_control=self.errors.append,
        )

    @property
    def book(self) -> Any:
        return self.books.books[MARKET]

    def book_state(self) -> tuple[Any, ...]:
        book = self.book
        return (book.synced, book.last_update_id, book.version, book.bids(), book.asks())

    def feed(self, frame: bytes | str) -> tuple[Any, ...]:
        """Feed one frame, check every rule, and return what it did (for the twin compare)."""
        before = self.book_state()
        messages, decode_errors = self.stats.messages, self.stats.decode_errors
        dispatched, resyncs = len(self.dispatched), len(self.resyncs)
        assert self.path.feed(frame) is None  # sync handler: nothing to await, never raises
        assert self.stats.messages == messages + 1
        new_dispatched = len(self.dispatched) - dispatched
        new_errors = self.stats.decode_errors - decode_errors
        new_resyncs = len(self.resyncs) - resyncs
        assert new_dispatched in (0, 1) and new_errors in (0, 1)
        assert new_dispatched or new_errors, "a frame neither dispatched nor counted"
        if not new_dispatched:
            assert self.book_state() == before, "a frame that does not decode changed the book"
            assert new_resyncs == 0
        elif new_errors:  # delivered, but its levels were refused: the book resyncs
            assert self.dispatched[-1].channel is Channel.BOOK and new_resyncs == 1
        if new_resyncs:
            assert not self.book.synced, "a resync was requested for a book still synced"
        check_well_formed(self.book)
        assert self.unhandled == []
        return (new_dispatched, new_errors, new_resyncs, self.book_state())


def counters(stats: StreamStats) -> dict[str, Any]:
    return {k: v for k, v in stats.as_dict().items() if k != "last_receive_time"}


def check_well_formed(book: Any) -> None:
    bids, asks = book.bids(), book.asks()
    if not book.synced:
        assert bids == [] and asks == []
        return
    for side, descending in ((bids, True), (asks, False)):
        prices = [level.price for level in side]
        assert prices == sorted(prices, reverse=descending)
        assert len(set(prices)) == len(prices)
        for level in side:
            assert math.isfinite(level.price) and level.price >= 0
            assert math.isfinite(level.volume) and level.volume > 0
            assert type(level.price_text) is str and type(level.volume_text) is str


# ---------------------------------------------------------------- the properties


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=256), st.text(max_size=64)))
def test_decode_raises_only_validation_error(frame: bytes | str) -> None:
    decode = make_decoder()
    try:
        decoded = decode(frame)
    except ValidationError as exc:
        assert str(exc).startswith("invalid Response")
        with pytest.raises(ValidationError):
            Response.model_validate_json(frame)
        return
    assert isinstance(decoded, Response)
    assert Response.model_validate_json(frame) == decoded


@FUZZ
@given(sequences)
def test_the_whole_frame_path_survives_any_frames_on_both_twins(
    sequence: list[bytes | str],
) -> None:
    runs = [Run(twin) for twin in TWINS]
    first = runs[0]

    def feed_all(frame: bytes | str) -> None:
        outcomes = [run.feed(frame) for run in runs]
        assert all(outcome == outcomes[0] for outcome in outcomes), (frame[:200], outcomes)

    for frame in [BOOK_FRAMES[0], *sequence]:
        feed_all(frame)
    # A valid snapshot syncs the book, unless updates held while it waited leave a gap after
    # it: then it asks for a resync, and the resync's fresh snapshot syncs it.
    resyncs = len(first.resyncs)
    feed_all(BOOK_FRAMES[0])
    if not first.book.synced:
        assert len(first.resyncs) == resyncs + 1, "a valid snapshot left the book unsynced"
        feed_all(BOOK_FRAMES[0])
    feed_all(BOOK_FRAMES[1])
    assert first.book.synced
    for run in runs[1:]:
        assert counters(run.stats) == counters(first.stats)
        assert run.dispatched == first.dispatched


@pytest.mark.parametrize("twin", TWINS, ids=lambda twin: twin.name)
def test_the_corpus_and_its_known_hard_cases_through_each_twin(twin: SimpleNamespace) -> None:
    run = Run(twin)
    hard: list[bytes | str] = [
        b'{"e":"x","T":1,"z":' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        b'{"c":"book","e":"update","M":"btcusdt","a":' + b"[" * 100_000,
        b'{"c":"book","e":"snapshot","M":"btcusdt","a":[["nan","1"]],"b":[],"li":1,"v":1,"T":1}',
        b'{"c":"book","e":"snapshot","M":"btcusdt","a":[["1e400","1"]],"b":[],"li":1,"v":1,"T":1}',
        b'{"c":"book","e":"update","M":"btcusdt","li":1' + b"0" * 400 + b',"T":1}',
        b"\xff\xfe\x00",
        "\ud800",
        b"",
        b"null",
        b"[]",
    ]
    for frame in [*CORPUS, *hard, *BOOK_FRAMES]:
        run.feed(frame)
    assert run.book.synced and run.stats.decode_errors >= len(hard)
