"""The compiled book's one-pass read of book updates (``BookKeeper.apply_frame``).

What it takes it must take exactly as the full path would (msgspec's decode, then
``BookKeeper.apply``): the same book, the same counters and a ``Response`` equal in every
way a user can look at it. What it does not take it must leave untouched.
"""

from __future__ import annotations

import copy
import gc
import json
import operator
import pickle
import random
import sys
from typing import Any

import msgspec
import pytest
from frame_checks import assert_references_balanced, assert_same_surface, mutate
from hypothesis import given, settings
from hypothesis import strategies as st
from twins import compiled

from maicoin.ws._frames import _book_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._model import wire_slot
from maicoin.ws.channel import Channel
from maicoin.ws.response import Event, Response
from maicoin.ws.stats import StreamStats
from maicoin.ws.subscription import Subscription

_book_c = compiled("_frames._book_c")
pytestmark = pytest.mark.skipif(_book_c is None, reason="compiled module not built")

MARKET = "btcusdt"
decode = make_decoder()


def _keeper(impl: Any, stats: StreamStats | None = None) -> Any:
    keeper = impl.BookKeeper(StreamStats() if stats is None else stats)
    keeper.track(Subscription(channel=Channel.BOOK, market=MARKET, depth=5))
    return keeper


def _synced_keeper(li: int = 10, v: int = 1) -> Any:
    assert _book_c is not None
    keeper = _keeper(_book_c)
    snapshot = {
        "c": "book",
        "e": "snapshot",
        "M": MARKET,
        "T": 1,
        "a": [["101", "1"], ["102", "2"]],
        "b": [["99", "1"], ["100", "3"]],
        "li": li,
        "v": v,
    }
    keeper.apply(decode(json.dumps(snapshot)))
    return keeper


def _update(**fields: Any) -> dict[str, Any]:
    frame = {
        "c": "book",
        "e": "update",
        "M": MARKET,
        "a": [["101.5", "4"]],
        "b": [["100", "0"]],
        "T": 1_700_000_000_123,
        "fi": 11,
        "li": 12,
        "v": 1,
    }
    frame.update(fields)
    return frame


def _state(keeper: Any) -> Any:
    book = keeper.books[MARKET]
    return (
        repr(book),
        [tuple(level) for level in book.asks()],
        [tuple(level) for level in book.bids()],
        keeper.held(MARKET),
    )


def test_an_update_is_applied_and_its_response_equals_the_decoded_one() -> None:
    fast, full = _synced_keeper(), _synced_keeper()
    raw = json.dumps(_update()).encode()
    taken = fast.apply_frame(raw)
    decoded = decode(raw)
    assert full.apply(decoded) is None
    assert taken is not None
    assert_same_surface(taken, decoded)
    assert _state(fast) == _state(full)
    assert fast.books[MARKET].last_update_id == 12
    assert [level.price_text for level in fast.books[MARKET].asks()] == ["101", "101.5", "102"]


def test_ids_and_versions_read_as_their_own_values_from_frame_to_frame() -> None:
    # Past CPython's cached small ints, one id (fi == li) and spans of ids, and a version
    # that a resync changes: every Response still equals the decoded one, field by field.
    big = 10**12
    fast, full = _synced_keeper(li=big, v=7 * big), _synced_keeper(li=big, v=7 * big)
    spans = [(big + 1, big + 1), (big + 2, big + 4), (big + 5, big + 5), (big + 5, big + 6)]
    taken = []
    for fi, li in spans:
        raw = json.dumps(_update(fi=fi, li=li, v=7 * big)).encode()
        response = fast.apply_frame(raw)
        assert response is not None and full.apply(decode(raw)) is None
        assert_same_surface(response, decode(raw))
        taken.append(response)
    assert [(r.first_update_id, r.last_update_id, r.version) for r in taken] == [
        (fi, li, 7 * big) for fi, li in spans
    ]
    snapshot = {"c": "book", "e": "snapshot", "M": MARKET, "T": 2, "li": 3 * big, "v": 9 * big}
    for keeper in (fast, full):
        keeper.apply(decode(json.dumps({**snapshot, "a": [["101", "1"]], "b": [["99", "1"]]})))
    raw = json.dumps(_update(fi=3 * big + 1, li=3 * big + 1, v=9 * big)).encode()
    response = fast.apply_frame(raw)
    assert response is not None and full.apply(decode(raw)) is None
    assert_same_surface(response, decode(raw))
    assert (response.first_update_id, response.last_update_id, response.version) == (
        3 * big + 1,
        3 * big + 1,
        9 * big,
    )
    assert taken[0].version == 7 * big and _state(fast) == _state(full)


def test_frames_are_named_by_their_own_market_whatever_book_holds_them() -> None:
    # The keeper names the next frame's market with the book's own name when the two are
    # equal; a book put in by hand under another market's key must not change the market a
    # Response carries, frame after frame.
    assert _book_c is not None
    fast = _synced_keeper()
    stranger = _book_c.OrderBook("ethusdt")
    assert stranger.apply_snapshot([["101", "1"]], [["99", "1"]], 10, 1) is not None
    fast.books[MARKET] = stranger
    for n in range(3):
        raw = json.dumps(_update(fi=11 + n, li=11 + n)).encode()
        response = fast.apply_frame(raw)
        assert response is not None and response.market == MARKET
    assert stranger.last_update_id == 13


def test_text_frames_are_read_as_well_as_bytes() -> None:
    keeper = _synced_keeper()
    taken = keeper.apply_frame(json.dumps(_update()))
    assert taken is not None and taken.asks == [["101.5", "4"]]


@pytest.mark.parametrize(
    "text",
    [
        # the spacing and key order JSON allows
        json.dumps(_update(), indent=2),
        json.dumps({k: _update()[k] for k in ("v", "li", "fi", "T", "a", "b", "M", "e", "c")}),
        '{ "c" : "book" ,"M":"btcusdt", "e":"update","fi":11,"li":12,"v":1,"T":1,'
        '"a":[ [ "1" , "2" ] ] , "b" : [ ] }\r\n',
        json.dumps(_update(a=[], b=[])),
        json.dumps({k: v for k, v in _update().items() if k != "a"}),
        json.dumps({k: v for k, v in _update().items() if k not in ("a", "b")}),
        json.dumps(_update(a=[["1e2", "0.5E-3"], ["100.0", "7"]])),
        json.dumps(_update(), separators=(",\t", ":\n")),
        json.dumps(_update(), separators=(",", ":")),
        json.dumps(_update(), separators=(",", " :")),
    ],
    ids=[
        "indented",
        "keys-reversed",
        "spaces",
        "empty-sides",
        "no-asks",
        "no-sides",
        "exponents",
        "tabs-and-newlines",
        "compact",
        "space-before-colons",
    ],
)
def test_every_plain_spelling_is_taken_as_the_full_path_would(text: str) -> None:
    fast, full = _synced_keeper(), _synced_keeper()
    taken = fast.apply_frame(text.encode())
    decoded = decode(text)
    full.apply(decoded)
    assert taken is not None, text
    assert_same_surface(taken, decoded)
    assert _state(fast) == _state(full)


@pytest.mark.parametrize(
    "price",
    [
        "9007199254740992",
        "9007199254740993",
        "900719925474099.3",
        "18446744073709551616",
        "12345678901234567890.123456789",
        "0.0000000000000000000001",
        "1e22",
        "1e23",
        "123456789e-22",
        "3.14159265358979323846",
        "5.",
        ".5",
    ],
)
def test_prices_read_from_the_frame_are_the_float_of_their_text(price: str) -> None:
    # The exact fast path (up to 2**53 and 10**22) and CPython's parser past it.
    fast, full = _synced_keeper(), _synced_keeper()
    text = json.dumps(_update(a=[[price, "4"]], b=[]))
    assert fast.apply_frame(text.encode()) is not None
    full.apply(decode(text))
    assert _state(fast) == _state(full)
    assert [level.price for level in fast.books[MARKET].asks() if level.price_text == price] == [
        float(price)
    ]


def test_digit_runs_of_every_length_read_as_their_text() -> None:
    # Digits are read eight at a time: every length across the 8- and 16-digit chunks, as
    # the integer part, the fraction, or an id, must give what the text says.
    rng = random.Random(8)
    for whole in range(0, 21):
        for fraction in (None, *range(0, 21)):
            if whole == 0 and not fraction:
                continue
            digits = "".join(rng.choice("0123456789") for _ in range(whole))
            if whole > 1:
                digits = rng.choice("123456789") + digits[1:]
            price = digits + ("" if fraction is None else "." + "7" * fraction)
            text = json.dumps(_update(a=[[price, "4"]], b=[]))
            fast, full = _synced_keeper(), _synced_keeper()
            taken = fast.apply_frame(text.encode())
            full.apply(decode(text))
            assert taken is not None and _state(fast) == _state(full), price
            assert [lv.price for lv in fast.books[MARKET].asks() if lv.price_text == price] == [
                float(price)
            ], price
    for length in range(2, 21):
        li = int("1" * length)  # past the keeper's li of 10, fi 11 in sequence
        text = json.dumps(_update(fi=11, li=li, T=10**12 + li % 10**12))
        fast = _synced_keeper()
        taken = fast.apply_frame(text.encode())
        # An id of at most 18 digits is read; a longer one is the full decode's business.
        assert (taken is not None) == (length <= 18), length
        if taken is not None:
            assert taken.last_update_id == li and fast.books[MARKET].last_update_id == li
            assert_same_surface(taken, decode(text))


def test_numbers_past_the_exact_path_among_exact_ones_are_each_the_float_of_their_text() -> None:
    # The scanner reads exact numbers as it goes; CPython parses only the others, in place.
    asks = [["1e23", "1"], ["103", "9007199254740993"], ["104.25", "2"]]
    bids = [["99.5", "0.1000000000000000055511151231257827"], ["98", "0"]]
    fast, full = _synced_keeper(), _synced_keeper()
    text = json.dumps(_update(a=asks, b=bids))
    assert fast.apply_frame(text.encode()) is not None
    full.apply(decode(text))
    assert _state(fast) == _state(full)
    kept = {level.price_text: level for level in fast.books[MARKET].asks()}
    assert kept["103"].volume == float("9007199254740993") and kept["1e23"].price == 1e23
    assert [level.volume for level in fast.books[MARKET].bids() if level.price_text == "99.5"] == [
        float("0.1000000000000000055511151231257827")
    ]


def test_unread_levels_take_only_decimal_strings() -> None:
    assert _book_c is not None
    raw = json.dumps(_update(a=[["1", "two"]])).encode()
    with pytest.raises(ValueError, match="span"):
        _book_c.LazyLevels(raw, raw.index(b"[["), raw.index(b"]]") + 2)


_COMPACT = json.dumps(_update(), separators=(",", ":"))
REFUSED = {
    "snapshot": json.dumps(_update(e="snapshot")),
    "other channel": json.dumps(_update(c="trade")),
    "enum spelt otherwise": json.dumps(_update(c="Book")),
    "escape in a price": json.dumps(_update(a=[["10\\u0031", "1"]])).replace("\\\\", "\\"),
    "escape in a key": json.dumps(_update()).replace('"li"', '"l\\u0069"'),
    "non-ASCII market": json.dumps(_update(M="btc€"), ensure_ascii=False),
    "float id": json.dumps(_update(li=12.0)),
    "exponent id": json.dumps(_update()).replace('"li": 12', '"li": 12e0'),
    "19-digit id": json.dumps(_update(li=10**18)),
    "leading zero": json.dumps(_update()).replace('"li": 12', '"li": 012'),
    "string id": json.dumps(_update(li="12")),
    "timestamp too late": json.dumps(_update(T=253_402_300_800_000)),
    "duplicate key": json.dumps(_update())[:-1] + ', "v": 1}',
    "unknown key": json.dumps(_update(x=1)),
    "missing version": json.dumps({k: v for k, v in _update().items() if k != "v"}),
    "bids before asks": json.dumps({"b": [["100", "1"]], **_update()}),
    "three-item level": json.dumps(_update(a=[["1", "2", "3"]])),
    "number volume": json.dumps(_update(a=[["1", 2]])),
    "bad decimal": json.dumps(_update(a=[["1", "2"], ["x", "1"]])),
    "negative volume": json.dumps(_update(a=[["1", "-2"]])),
    "infinite price": json.dumps(_update(a=[["1e400", "1"]])),
    "too many levels": json.dumps(_update(a=[[str(i + 1), "1"] for i in range(65)])),
    "trailing text": json.dumps(_update()) + " x",
    "two documents": json.dumps(_update()) * 2,
    "truncated": json.dumps(_update())[:-1],
    # The scanner stops at the NUL that ends every frame: a NUL or a cut anywhere else is
    # no plain document either.
    "cut inside a string": json.dumps(_update())[: json.dumps(_update()).index("btcusdt") + 3],
    "cut inside a level": json.dumps(_update())[: json.dumps(_update()).index("101.5") + 2],
    "NUL in a price": json.dumps(_update()).replace('"101.5"', '"101.5\x00"'),
    "NUL between tokens": json.dumps(_update()).replace('"li"', '\x00"li"'),
    "NUL after the document": json.dumps(_update()) + "\x00",
    "raw tab in a market": json.dumps(_update()).replace("btcusdt", "btc\tusdt"),
    "not an object": json.dumps([_update()]),
    # MAX's compact spelling, which the scanner reads at fixed places: cut or grown there.
    "cut inside a short key": _COMPACT[: _COMPACT.index('"li"') + 2],
    "cut before a short key's colon": _COMPACT[: _COMPACT.index('"li"') + 4],
    "cut after a short key": _COMPACT[: _COMPACT.index('"li"') + 5],
    "three-character key": _COMPACT.replace('"li":', '"lii":'),
    "short key unclosed": _COMPACT.replace('"li":', '"li:'),
    # The exchange's head ({"c":"book","e":"update","M":" read in one compare): what follows
    # it must still be a plain market and the rest of a plain update.
    "head, escape in the market": _COMPACT.replace("btcusdt", "btc\\u0075sdt"),
    "head, market unclosed": _COMPACT[: _COMPACT.index("btcusdt") + 3],
    "head alone": _COMPACT[: _COMPACT.index("btcusdt")],
    "head, closed after the market": _COMPACT[: _COMPACT.index("btcusdt") + 8] + "}",
    "head, colon after the market": _COMPACT.replace('btcusdt",', 'btcusdt":'),
    "head, c given again": _COMPACT[:-1] + ',"c":"book"}',
    "head, M given again": _COMPACT[:-1] + ',"M":"btcusdt"}',
    "stale": json.dumps(_update(fi=5, li=10)),
    "gap": json.dumps(_update(fi=13, li=14)),
    "other version": json.dumps(_update(v=2)),
    "untracked market": json.dumps(_update(M="ethusdt")),
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_is_left_untouched_for_the_full_path(text: str) -> None:
    keeper = _synced_keeper()
    before = _state(keeper)
    assert keeper.apply_frame(text.encode()) is None
    assert _state(keeper) == before


def test_a_book_that_waits_for_its_snapshot_is_left_to_the_full_path() -> None:
    assert _book_c is not None
    keeper = _keeper(_book_c)
    assert keeper.apply_frame(json.dumps(_update()).encode()) is None
    assert keeper.held(MARKET) == 0  # holding it is the full path's business


def test_other_frame_types_are_left_alone() -> None:
    keeper = _synced_keeper()
    for frame in (bytearray(b"{}"), memoryview(b"{}"), 7, None):
        assert keeper.apply_frame(frame) is None


# -- random streams: one keeper by apply_frame-then-full-path, the twin by the full path ----

_texts = st.sampled_from(["1", "1.5", "2.50", "3e0", "0.4", "12.345", "100"])
_volumes = st.sampled_from(["0", "0.0", "1", "0.5", "2.25", "1e-3", "x", ""])
_levels = st.lists(st.tuples(_texts, _volumes).map(list), max_size=6)
_frames = st.lists(
    st.tuples(
        st.sampled_from(["update", "update", "update", "snapshot"]),
        _levels,
        _levels,
        st.integers(0, 3),  # fi step from the last li
        st.integers(0, 2),  # li - fi
        st.sampled_from([1, 1, 1, 2]),
        st.randoms(use_true_random=False),
    ),
    max_size=30,
)


def _spell(frame: dict[str, Any], rng: random.Random) -> str:
    """One of the ways a frame may be written: key order, spacing, an extra key."""
    items = list(frame.items())
    if rng.random() < 0.3:
        rng.shuffle(items)
    if rng.random() < 0.1:
        items.append(("unexpected", 1))
    separators = rng.choice([(",", ":"), (", ", ": "), (" ,\n", " : ")])
    return json.dumps(dict(items), separators=separators)


@settings(max_examples=300, deadline=None)
@given(_frames)
def test_keepers_agree_whichever_path_takes_a_frame(frames: list[Any]) -> None:
    assert _book_c is not None
    stats = StreamStats(), StreamStats()
    fast, full = _keeper(_book_c, stats[0]), _keeper(_book_py, stats[1])
    li = 0
    for event, asks, bids, step, width, version, rng in frames:
        fi = li + step
        raw: dict[str, Any] = {"c": "book", "e": event, "M": MARKET, "a": asks, "b": bids}
        raw.update(T=1_700_000_000_000 + fi, fi=fi, li=fi + width, v=version)
        li = fi + width
        text = _spell(raw, rng)
        frame: bytes | str = text.encode() if rng.random() < 0.5 else text
        try:
            decoded: Response | None = decode(frame)
        except Exception:
            decoded = None
        taken = fast.apply_frame(frame)
        if taken is not None:
            assert decoded is not None
            assert_same_surface(taken, decoded)
            assert full.apply(decoded) is None
        elif decoded is not None:
            assert fast.apply(decoded) == full.apply(decoded)
        assert _state(fast) == _state(full)
        assert stats[0] == stats[1]


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")], ids=["spaced", "compact"])
def test_byte_mutations_never_raise_and_whatever_is_taken_decodes_the_same(
    separators: tuple[str, str],
) -> None:
    """Random edits of one valid update: apply_frame never raises, and every mutant it takes
    msgspec decodes to an equal Response, applied to an equal book. The compact spelling is
    the exchange's, whose head the scanner reads in one compare: edits inside it go the key
    loop's way, edits after it the head's."""
    update = _update(a=[["101.5", "4"], ["103", "1.25"]], b=[["98.5", "2"]])
    base = json.dumps(update, separators=separators).encode()
    rng = random.Random(16)
    alphabet = b' ",:[]{}0123456789.-eE\\abcMTfilv\x00\xe2\x82\xac'
    taken_count = 0
    for _ in range(5000):
        frame = mutate(base, rng, alphabet)
        fast, full = _synced_keeper(), _synced_keeper()
        taken = fast.apply_frame(frame)
        if taken is None:
            assert _state(fast) == _state(full)
            continue
        taken_count += 1
        decoded = decode(frame)
        assert_same_surface(taken, decoded)
        assert full.apply(decoded) is None
        assert _state(fast) == _state(full)
    assert taken_count > 100  # spacing and digit edits keep many mutants plain


# -- the lazy levels a taken Response carries ------------------------------------------------


def _taken(**fields: Any) -> Response:
    taken = _synced_keeper().apply_frame(json.dumps(_update(**fields)).encode())
    assert taken is not None
    return taken


def test_every_response_holds_and_returns_its_own_references() -> None:
    keeper = _synced_keeper()
    updates = iter(
        json.dumps(_update(a=[["101", str(n + 1)]], b=[], fi=11 + n, li=11 + n)).encode()
        for n in range(2000)
    )
    # The keeper keeps the last Response it made, to reuse for the next frame.
    assert_references_balanced(
        lambda: keeper.apply_frame(next(updates)), (Channel.BOOK, Event.UPDATE), kept=1
    )


def test_the_reused_response_goes_with_its_keeper() -> None:
    keeper = _synced_keeper()
    raw = json.dumps(_update(a=[["101.5", "4"]], b=[])).encode()
    alone = sys.getrefcount(raw)
    assert keeper.apply_frame(raw) is not None
    assert sys.getrefcount(raw) == alone + 2  # its level in the book, the spare's asks
    del keeper
    gc.collect()
    assert sys.getrefcount(raw) == alone


def _frames(count: int, **fields: Any) -> list[bytes]:
    """count in-sequence updates of the synced keeper's book (the first one fi=li=11)."""
    return [
        json.dumps(_update(fi=11 + n, li=11 + n, **fields) | {"a": [["101", str(n + 1)]]}).encode()
        for n in range(count)
    ]


def test_a_response_let_go_is_renewed_for_the_next_frame() -> None:
    keeper = _synced_keeper()
    first, second, third = _frames(3)
    taken = keeper.apply_frame(first)
    assert taken is not None
    address = id(taken)
    del taken
    renewed = keeper.apply_frame(second)
    assert id(renewed) == address  # the same object: no allocation, no copy of its slots
    assert_same_surface(renewed, decode(second))
    assert renewed.first_update_id == 12 and renewed.asks == [["101", "2"]]
    del renewed
    assert_same_surface(keeper.apply_frame(third), decode(third))


def test_a_response_someone_holds_is_never_renewed() -> None:
    keeper = _synced_keeper()
    frames = _frames(50)
    kept = [keeper.apply_frame(frame) for frame in frames]
    assert len({id(response) for response in kept}) == len(frames)
    for response, frame in zip(kept, frames, strict=True):
        assert_same_surface(response, decode(frame))
    # Holding one of its fields is not holding it: the field outlives the renewal.
    asks = kept[-1].asks
    del kept
    later = keeper.apply_frame(json.dumps(_update(fi=61, li=61, a=[["103", "7"]])).encode())
    assert later.asks == [["103", "7"]] and asks == [["101", "50"]]


def test_a_renewed_response_forgets_what_a_handler_wrote_into_the_last_one() -> None:
    keeper = _synced_keeper()
    first, second = _frames(2, b=[])
    taken = keeper.apply_frame(first)
    # A handler may set any field of the (mutable) Response it was given, read its levels
    # (which makes them lists), then let it go.
    taken.trades = ["written by a handler"]
    taken.bids = [["1", "1"]]
    taken.created_at = 5
    assert taken.asks == [["101", "1"]]
    del taken
    renewed = keeper.apply_frame(second)
    assert_same_surface(renewed, decode(second))
    assert renewed.trades is None and renewed.bids == []


# (fi, li, T) of in-sequence updates after the synced keeper's li=10: ids shared (fi == li)
# and not, small ints CPython shares, and values across the one/two-digit line (2**30).
_ID_STEPS = [
    (11, 11, 1_700_000_000_123),
    (12, 14, 1_700_000_000_124),
    (15, 15, 300),
    (16, 300, 5),
    (301, 2**30 - 1, 2**30 - 1),
    (2**30, 2**30, 2**30),
    (2**30 + 1, 2**30 + 7, 1_700_000_000_125),
    (2**30 + 8, 2**30 + 8, 1_700_000_000_126),
]


def test_the_ints_of_a_renewed_response_are_each_the_frame_s_own() -> None:
    """A renewed Response's ids and time are renewed in place when it alone holds them: each
    is the frame's value whatever came before, one someone kept never changes, and small
    values are the ints CPython shares, as msgspec gives them."""
    keeper = _synced_keeper()
    wire_time = wire_slot(Response, "created_at")
    kept: list[tuple[int, int]] = []
    for index, (fi, li, created_at) in enumerate(_ID_STEPS):
        frame = json.dumps(_update(fi=fi, li=li, T=created_at)).encode()
        taken = keeper.apply_frame(frame)
        assert taken is not None
        assert_same_surface(taken, decode(frame))
        values = (taken.first_update_id, taken.last_update_id, wire_time.__get__(taken, Response))
        assert values == (fi, li, created_at)
        # (No name may hold one of them into the next frame: the test would then hold it.)
        assert all(type(value) is int for value in values)
        assert all(value is int(str(value)) for value in values if value <= 256)  # shared
        if index % 3 == 0:
            kept += [(taken.last_update_id, li), (wire_time.__get__(taken, Response), created_at)]
        del taken, values
    assert all(value == expected for value, expected in kept)


def test_an_int_only_the_response_holds_is_renewed_in_place() -> None:
    keeper = _synced_keeper()
    first, second = (
        json.dumps(_update(fi=fi, li=li)).encode() for fi, li in ((11, 1000), (1001, 1002))
    )
    taken = keeper.apply_frame(first)
    assert taken is not None
    address = id(taken.last_update_id)
    del taken
    renewed = keeper.apply_frame(second)
    assert renewed is not None and renewed.last_update_id == 1002
    assert id(renewed.last_update_id) == address


def test_the_levels_of_a_renewed_response_are_each_the_frame_s_own() -> None:
    """Unread levels are renewed over the next frame's text when the Response alone holds
    them; levels someone holds (a copy of the Response, msgspec's asdict) or has read keep
    their own frame's."""
    keeper = _synced_keeper()
    sides = [
        {"a": [["101.5", "4"]], "b": [["100", "2"]]},
        {"a": [["103", "1"], ["104", "2"]], "b": []},
        {"b": [["99.5", "3"]]},  # no asks: the field's default, None
        {"a": [["105", "7"]], "b": [["98", "1"], ["97", "2"]]},
        {"a": [], "b": [["96", "5"]]},
        {"a": [["106", "1"]], "b": [["95", "4"]]},
    ]
    frames = [
        json.dumps({k: v for k, v in _update(fi=11 + n, li=11 + n).items() if k not in "ab"} | s)
        for n, s in enumerate(sides)
    ]
    kept: list[tuple[object, list[list[str]] | None]] = []
    for index, frame in enumerate(frames):
        taken = keeper.apply_frame(frame.encode())
        assert taken is not None
        decoded = decode(frame)
        # The slots as they are (reading the fields would put lists in them): unread levels,
        # their text read into each one's own list, equal to the decode's.
        raw = msgspec.structs.asdict(taken)
        assert (raw["asks"], raw["bids"]) == (decoded.asks, decoded.bids)
        assert [type(raw[side]) for side in ("asks", "bids")] == [
            type(value) if not value else _book_c.LazyLevels
            for value in (decoded.asks, decoded.bids)
        ]
        if index == 1:
            kept.append((copy.copy(taken), decoded.asks))
        if index == 3:
            kept.append((raw["bids"], decoded.bids))
        if index == 4:
            kept.append((taken.bids, decoded.bids))  # read: the slot then holds the list
        del taken, raw
    for held, levels in kept:
        assert (held.asks if isinstance(held, Response) else held) == levels
    last = json.dumps(_update(fi=17, li=17))
    assert_same_surface(keeper.apply_frame(last.encode()), decode(last))


def test_levels_are_built_once_and_then_kept_as_a_plain_list() -> None:
    taken = _taken(a=[["101.5", "4"], ["105", "0"]])
    first = taken.asks
    assert type(first) is list and first == [["101.5", "4"], ["105", "0"]]
    assert taken.asks is first
    first.append(["1", "1"])  # a handler's own list, as a decoded Response's would be
    assert taken.asks[-1] == ["1", "1"]


def test_levels_can_be_assigned_and_deleted_like_any_field() -> None:
    taken = _taken()
    taken.bids = [["1", "2"]]
    assert taken.bids == [["1", "2"]]
    del taken.asks
    with pytest.raises(AttributeError):
        taken.asks  # noqa: B018


def test_copies_behave_as_copies_of_a_decoded_response() -> None:
    taken = _taken()
    shallow = taken.model_copy()
    assert shallow == taken and shallow.asks is taken.asks  # shallow: the same list
    deep = copy.deepcopy(_taken())
    assert deep.asks == [["101.5", "4"]] and type(deep.asks) is list
    assert copy.copy(taken) == taken


def test_unread_levels_compare_and_print_as_their_list() -> None:
    assert _book_c is not None
    raw = json.dumps(_update(a=[["1", "2"]])).encode()
    start = raw.index(b"[[")
    lazy = _book_c.LazyLevels(raw, start, raw.index(b"]]") + 2)
    assert lazy == [["1", "2"]] and operator.eq([["1", "2"]], lazy) and lazy != [["1", "3"]]
    assert repr(lazy) == "[['1', '2']]" and len(lazy) == 1 and list(lazy) == [["1", "2"]]
    assert lazy[0] == ["1", "2"]
    assert pickle.loads(pickle.dumps(lazy)) == [["1", "2"]]
    with pytest.raises(TypeError):
        hash(lazy)
    with pytest.raises(ValueError, match="span"):
        _book_c.LazyLevels(raw, 5, len(raw) + 1)


def test_the_field_is_still_the_field_of_response() -> None:
    assert _book_c is not None
    field = Response.__dict__["asks"]
    assert isinstance(field, _book_c.LevelsField)
    assert Response.asks is field
    with pytest.raises(TypeError):
        field.__get__(object(), object)
    decoded = decode(json.dumps(_update()))
    assert decoded.asks == [["101.5", "4"]]


# -- the texts a book keeps from a frame ------------------------------------------------------


def test_kept_levels_hold_the_frame_and_read_its_texts_after_it_is_dropped() -> None:
    """A level applied from a frame keeps its texts as spans of that frame: the book holds
    the frame (one reference per kept level) and builds the Level's str when it is read."""
    keeper = _synced_keeper()
    raw = json.dumps(_update(a=[["101.5", "4"], ["103", "1.25"]], b=[["100", "0"]])).encode()
    alone = sys.getrefcount(raw)
    taken = keeper.apply_frame(raw)
    assert taken is not None
    del taken  # its unread levels held the frame too
    # Two levels kept, one removed; and the Response the keeper keeps for reuse holds it
    # by its asks and bids until the next frame renews it.
    assert sys.getrefcount(raw) == alone + 2 + 2
    del raw
    gc.collect()
    book = keeper.books[MARKET]
    assert [tuple(level) for level in book.asks()] == [
        (101.0, 1.0, "101", "1"),
        (101.5, 4.0, "101.5", "4"),
        (102.0, 2.0, "102", "2"),
        (103.0, 1.25, "103", "1.25"),
    ]
    assert book.asks()[1] is book.asks()[1]  # the Level is built once, then cached
    assert [level.price_text for level in book.bids()] == ["99"]


def test_a_frame_is_released_when_its_levels_leave_the_book() -> None:
    keeper = _synced_keeper()
    raw = json.dumps(_update(a=[["101.5", "4"]], b=[["98", "2"]])).encode()
    alone = sys.getrefcount(raw)
    assert keeper.apply_frame(raw) is not None
    assert sys.getrefcount(raw) == alone + 2 + 2  # and the reused Response's asks and bids
    # One level replaced by a later frame, the other removed by it, the Response renewed:
    # nothing holds raw.
    later = _update(fi=13, li=13, a=[["101.5", "5"]], b=[["98", "0"]])
    assert keeper.apply_frame(json.dumps(later).encode()) is not None
    assert sys.getrefcount(raw) == alone
    assert keeper.apply_frame(json.dumps(_update(fi=14, li=14, b=[["97", "1"]]))) is not None
    kept = json.dumps(_update(fi=15, li=15, a=[], b=[["96", "1"]])).encode()
    alone = sys.getrefcount(kept)
    assert keeper.apply_frame(kept) is not None
    assert sys.getrefcount(kept) == alone + 1 + 1  # its bid, and the reused Response's bids
    keeper.invalidate_all()  # a new connection clears the book and drops the spare Response
    keeper.apply(decode(json.dumps({**_update(), "e": "snapshot", "a": [], "b": [["1", "1"]]})))
    assert sys.getrefcount(kept) == alone


# -- in the frame path ---------------------------------------------------------------------


@pytest.mark.parametrize("path_impl", ["_frames._frame_path_c", "_frames._frame_path_py"])
def test_the_frame_path_applies_each_update_once_and_hands_on_an_equal_response(
    path_impl: str,
) -> None:
    """Both frame-path twins offered apply_frame: no update applied twice (which would be
    stale and ask for a resync), the book as the full path keeps it, equal responses."""
    frame_path = compiled(path_impl)
    if frame_path is None:
        pytest.skip("compiled module not built")
    assert _book_c is not None
    stats = StreamStats()
    keeper, reference = _keeper(_book_c, stats), _keeper(_book_py)
    resyncs: list[Any] = []
    seen: list[Response] = []
    path = frame_path.FramePath(
        decode=decode,
        stats=stats,
        apply_book=keeper.apply,
        dispatch=seen.append,
        request_resync=resyncs.append,
        on_control=lambda response: None,
        apply_book_frame=keeper.apply_frame,
    )
    frames = [
        json.dumps(
            {
                "c": "book",
                "e": "snapshot",
                "M": MARKET,
                "T": 1,
                "a": [["101", "1"]],
                "b": [["99", "1"]],
                "li": 10,
                "v": 1,
            }
        ),
        json.dumps(_update(fi=11, li=11)),
        json.dumps({"c": "trade", "e": "update", "M": MARKET, "T": 2, "t": []}),
        json.dumps(_update(fi=12, li=13, a=[["101", "0"]], b=[["98", "2"]])),
        json.dumps(_update(fi=14, li=14, a=[["1.5e2", "1"]])),
        "{not json",
        json.dumps(_update(fi=15, li=15, b=[["97", "3"]])),
    ]
    for text in frames:
        assert path.feed(text.encode()) is None
        try:
            response = decode(text)
        except Exception:
            continue
        if response.channel is Channel.BOOK:  # the frame path's own choice
            reference.apply(response)
    assert resyncs == [] and stats.decode_errors == 1
    assert _state(keeper) == _state(reference)
    expected = [decode(text) for text in frames if text != "{not json"]
    assert seen == expected
    assert keeper.books[MARKET].last_update_id == 15


def test_a_renewal_started_from_a_finalizer_during_a_renewal_gets_its_own_response() -> None:
    """Setting a field back can release what a handler stored there and run its finalizer;
    a frame handled from that finalizer must not reuse the Response being reset."""
    keeper = _synced_keeper()
    first, second, third = _frames(3)
    nested: list[Any] = []

    class ReadsOnRelease:
        def __del__(self) -> None:
            nested.append(keeper.apply_frame(third))

    taken = keeper.apply_frame(first)
    taken.trades = ReadsOnRelease()
    del taken
    outer = keeper.apply_frame(second)
    assert len(nested) == 1 and nested[0] is not outer
    assert_same_surface(outer, decode(second))
    assert_same_surface(nested[0], decode(third))
