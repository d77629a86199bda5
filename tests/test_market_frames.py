"""The compiled frame path's one-pass read of trade and ticker updates.

``_frame_path_c.read_market_update`` builds the ``Response`` of a plain trade or ticker
update from the frame's bytes. What it reads must equal what msgspec decodes from the same
frame in every way a user can look at it; anything else it must decline (None), for the
full decode.
"""

from __future__ import annotations

import copy
import gc
import json
import random
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from frame_checks import assert_references_balanced, assert_same_surface, mutate
from twins import compiled

from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._model import wire_slot
from maicoin.ws.channel import Channel
from maicoin.ws.response import Event, Response
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing.blast_stream import blast_stream
from maicoin.ws.ticker import Ticker
from maicoin.ws.trade import Trade

_frame_path_c = compiled("_frames._frame_path_c")
pytestmark = pytest.mark.skipif(_frame_path_c is None, reason="compiled module not built")

MARKET = "btcusdt"
decode = make_decoder(raw=True)


def read(frame: bytes | str) -> Response | None:
    assert _frame_path_c is not None
    result: Response | None = _frame_path_c.read_market_update(frame)
    return result


def _trade_update(**fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "c": "trade",
        "e": "update",
        "M": MARKET,
        "t": [{"p": "60000.01", "v": "0.087352", "T": 1_700_000_000_003, "tr": "up"}],
        "T": 1_700_000_000_003,
    }
    frame.update(fields)
    return frame


def _ticker() -> dict[str, str]:
    return {
        "M": MARKET,
        "O": "60000.00",
        "H": "60000.01",
        "L": "59999.96",
        "C": "60000.01",
        "v": "0.154203",
        "V": "0.15420303",
    }


def _ticker_update(**fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "c": "ticker",
        "e": "update",
        "M": MARKET,
        "tk": _ticker(),
        "T": 1_700_000_000_007,
    }
    frame.update(fields)
    return frame


def assert_same_response(taken: Response, decoded: Response) -> None:
    """Everything a user can ask of a Response, both ways round, down to each value's type."""
    assert_same_surface(taken, decoded)
    assert msgspec.json.encode(taken) == msgspec.json.encode(decoded)
    assert taken.channel is decoded.channel and taken.event is decoded.event
    for name in Response.__struct_fields__:
        assert type(getattr(taken, name)) is type(getattr(decoded, name)), name
    for ours, theirs in zip(taken.trades or [], decoded.trades or [], strict=True):
        assert type(ours) is Trade
        for name in Trade.__struct_fields__:
            assert getattr(ours, name) == getattr(theirs, name), name
            assert type(getattr(ours, name)) is type(getattr(theirs, name)), name
    if decoded.ticker is not None:
        assert type(taken.ticker) is Ticker
        assert all(type(getattr(taken.ticker, name)) is str for name in Ticker.__struct_fields__)


def assert_read_as_decoded(text: str | bytes) -> Response:
    taken = read(text)
    assert taken is not None, text
    assert_same_response(taken, decode(text))
    return taken


def test_a_trade_update_is_read_as_msgspec_decodes_it() -> None:
    taken = assert_read_as_decoded(json.dumps(_trade_update()).encode())
    assert taken.channel is Channel.TRADE and taken.event is Event.UPDATE
    assert taken.trades is not None and taken.trades[0].price == "60000.01"
    assert taken.created_at == taken.trades[0].created_at


def test_a_ticker_update_is_read_as_msgspec_decodes_it() -> None:
    taken = assert_read_as_decoded(json.dumps(_ticker_update()).encode())
    assert taken.channel is Channel.TICKER and taken.ticker is not None
    assert taken.ticker.volume_in_btc == "0.15420303"


def test_every_frame_of_the_blast_streams_is_read_or_declined_as_decoded() -> None:
    for market, seed in (("btcusdt", 0), ("ethtwd", 3), ("usdttwd", 9)):
        payloads = blast_stream(3000, market=market, seed=seed).payloads
        read_count = 0
        for payload in payloads:
            taken = read(payload)
            decoded = decode(payload)
            if taken is None:
                assert decoded.channel not in (Channel.TRADE, Channel.TICKER)
                continue
            read_count += 1
            assert_same_response(taken, decoded)
        assert read_count > 500, market


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_trade_update(), indent=2),
        json.dumps({k: _trade_update()[k] for k in ("T", "t", "M", "e", "c")}),
        json.dumps(_trade_update(), separators=(",\t", ":\n")),
        json.dumps(_trade_update(t=[])),
        json.dumps(
            _trade_update(
                t=[
                    {"tr": "down", "T": 5, "v": "1", "p": "2"},
                    {"p": "3", "v": "4", "T": 1_700_000_000_003},
                    {"p": "5", "v": "6", "T": -7, "tr": "sideways"},
                ]
            )
        ),
        json.dumps(_trade_update(t=[{"p": str(i), "v": "1", "T": i} for i in range(32)])),
        json.dumps(_trade_update(M="", T=0)),
        json.dumps(_trade_update(T=253_402_300_799_999)),
        json.dumps(_trade_update(T=-62_135_596_800_000)),
        json.dumps(_ticker_update(), indent=1),
        json.dumps(_ticker_update(tk=dict(reversed(_ticker_update()["tk"].items())))),
        json.dumps(_ticker_update(tk={**_ticker_update()["tk"], "M": "ethusdt"})),
        json.dumps(_ticker_update(tk=dict.fromkeys(_ticker_update()["tk"], "x y"))),
        ' {"c":"trade","e":"update","M":"btcusdt","t":[ ],"T":1} \r\n',
        json.dumps(_trade_update(), separators=(",", ":")),
        json.dumps(_ticker_update(), separators=(",", " :")),
    ],
    ids=[
        "indented",
        "keys-reversed",
        "tabs-and-newlines",
        "no-trades",
        "trades-of-every-shape",
        "32-trades",
        "empty-market",
        "last-instant",
        "first-instant",
        "ticker-indented",
        "ticker-keys-reversed",
        "ticker-of-another-market",
        "ticker-spaces-in-values",
        "spaces-around",
        "compact",
        "ticker-space-before-colons",
    ],
)
def test_every_plain_spelling_is_read_as_decoded(text: str) -> None:
    assert_read_as_decoded(text.encode())
    assert_read_as_decoded(text)  # an ASCII str frame, as a text transport hands it on


def _mutated(frame: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    frame = copy.deepcopy(frame)
    target = frame
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return frame


_DELETE = object()
_TRADE = _trade_update()
_TICKER = _ticker_update()
_COMPACT = json.dumps(_TRADE, separators=(",", ":"))
_TICKER_COMPACT = json.dumps(_TICKER, separators=(",", ":"))
DECLINED = {
    "book update": json.dumps({"c": "book", "e": "update", "M": MARKET, "T": 1}),
    "trade snapshot": json.dumps(_trade_update(e="snapshot")),
    "ticker snapshot": json.dumps(_ticker_update(e="snapshot")),
    "kline": json.dumps({"c": "kline", "e": "update", "M": MARKET, "T": 1, "k": {}}),
    "an unknown key": json.dumps(_trade_update(x=1)),
    "an unknown trade key": json.dumps(_mutated(_TRADE, ("t", 0, "M"), MARKET)),
    "an unknown ticker key": json.dumps(_mutated(_TICKER, ("tk", "x"), "1")),
    "no market": json.dumps(_mutated(_TRADE, ("M",), _DELETE)),
    "no T": json.dumps(_mutated(_TRADE, ("T",), _DELETE)),
    "no trade price": json.dumps(_mutated(_TRADE, ("t", 0, "p"), _DELETE)),
    "no trade T": json.dumps(_mutated(_TRADE, ("t", 0, "T"), _DELETE)),
    "no ticker close": json.dumps(_mutated(_TICKER, ("tk", "C"), _DELETE)),
    "no trades key": json.dumps(_mutated(_TRADE, ("t",), _DELETE)),
    "a trade frame with a ticker": json.dumps(_trade_update(tk=_TICKER["tk"])),
    "a ticker frame with trades": json.dumps(_ticker_update(t=[])),
    "null trend": json.dumps(_mutated(_TRADE, ("t", 0, "tr"), None)),
    "null market": json.dumps(_trade_update(M=None)),
    "T as text": json.dumps(_trade_update(T="1700000000003")),
    "T with a fraction": json.dumps(_trade_update(T=1.5)),
    "T past the last instant": json.dumps(_trade_update(T=253_402_300_800_000)),
    "T before the first instant": json.dumps(_trade_update(T=-62_135_596_800_001)),
    "trade T past the last instant": json.dumps(
        _mutated(_TRADE, ("t", 0, "T"), 253_402_300_800_000)
    ),
    "a price as a number": json.dumps(_mutated(_TRADE, ("t", 0, "p"), 60000.01)),
    "a ticker value as a number": json.dumps(_mutated(_TICKER, ("tk", "O"), 1)),
    "33 trades": json.dumps(_trade_update(t=[{"p": "1", "v": "1", "T": 1}] * 33)),
    "a trade that is a list": json.dumps(_trade_update(t=[["1", "1"]])),
    "trades as an object": json.dumps(_trade_update(t={"p": "1"})),
    "an escape": json.dumps(_trade_update(M="btc\\usdt")),
    "a non-ASCII market": json.dumps(_trade_update(M="btc€"), ensure_ascii=False),
    "a key given twice": json.dumps(_trade_update())[:-1] + ',"M":"ethusdt"}',
    "a trade key given twice": json.dumps(_trade_update()).replace('"tr"', '"p":"1","tr"'),
    "a ticker key given twice": json.dumps(_ticker_update()).replace('"O"', '"H":"1","O"'),
    "trailing text": json.dumps(_trade_update()) + " x",
    "two documents": json.dumps(_trade_update()) * 2,
    "truncated": json.dumps(_trade_update())[:-1],
    "cut inside a trade": json.dumps(_trade_update())[: json.dumps(_trade_update()).index("up")],
    "NUL in a price": json.dumps(_trade_update()).replace('"60000.01"', '"60000.01\x00"'),
    "NUL after the document": json.dumps(_trade_update()) + "\x00",
    "not an object": json.dumps([_trade_update()]),
    "a trailing comma": json.dumps(_trade_update())[:-1] + ",}",
    # MAX's compact spelling, whose short keys are read at fixed places: cut or grown there.
    "cut inside a short key": _COMPACT[: _COMPACT.index('"tr"') + 2],
    "cut before a short key's colon": _COMPACT[: _COMPACT.index('"tr"') + 4],
    "cut after a short key": _COMPACT[: _COMPACT.index('"tr"') + 5],
    "three-character key": _COMPACT.replace('"tr":', '"trr":'),
    "short key unclosed": _COMPACT.replace('"M":', '"M:'),
    # The exchange's heads ({"c":"trade","e":"update","M":" and the ticker's, each read in
    # one compare): what follows must still be a plain market and the rest of the update.
    "head, escape in the market": _COMPACT.replace("btcusdt", "btc\\u0075sdt"),
    "head, market unclosed": _COMPACT[: _COMPACT.index("btcusdt") + 3],
    "head alone": _COMPACT[: _COMPACT.index("btcusdt")],
    "head, closed after the market": _COMPACT[: _COMPACT.index("btcusdt") + 8] + "}",
    "head, c given again": _COMPACT[:-1] + ',"c":"trade"}',
    "ticker head, trades": _TICKER_COMPACT.replace('"tk":', '"t":[],"tk":'),
    "ticker head, e given again": _TICKER_COMPACT[:-1] + ',"e":"update"}',
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_anything_else_is_declined_for_the_full_decode(text: str) -> None:
    assert read(text.encode("utf-8", "surrogatepass")) is None
    assert read(text) is None


def test_frames_of_other_types_are_declined() -> None:
    for frame in (bytearray(json.dumps(_trade_update()).encode()), memoryview(b"{}"), 5, None):
        assert read(frame) is None  # type: ignore[arg-type]


def test_byte_mutations_never_raise_and_whatever_is_read_decodes_the_same() -> None:
    """Random edits of a valid trade and ticker update, each spaced and compact: the read
    never raises, and every mutant it reads msgspec decodes to an equal Response."""
    frames = [
        _trade_update(
            t=[
                {"p": "60000.01", "v": "0.5", "T": 1_700_000_000_003, "tr": "up"},
                {"p": "59999.5", "v": "1.25", "T": 1_700_000_000_004, "tr": "down"},
            ]
        ),
        _ticker_update(),
    ]
    # Spaced, and the exchange's compact spelling, whose head is read in one compare.
    spellings = ((", ", ": "), (",", ":"))
    bases = [json.dumps(frame, separators=s).encode() for s in spellings for frame in frames]
    rng = random.Random(16)
    alphabet = b' ",:[]{}0123456789.-eE\\ctkpvTMOHLCVru\x00\xe2\x82\xac'
    read_count = 0
    for attempt in range(8000):
        frame = mutate(bases[attempt % len(bases)], rng, alphabet)
        taken = read(frame)
        if taken is None:
            continue
        read_count += 1
        assert_same_response(taken, decode(frame))
    assert read_count > 300  # spacing and digit edits keep many mutants plain


def test_each_response_is_its_own_and_leaves_the_next_untouched() -> None:
    """Responses start as copies of one prototype each: changing one changes no other."""
    frame = json.dumps(_trade_update()).encode()
    first, second = read(frame), read(frame)
    assert first is not None and second is not None and first.trades and second.trades
    assert first.trades is not second.trades and first.trades[0] is not second.trades[0]
    first.trades.append(first.trades[0])
    first.trades[0].price = "1"
    first.market = "ethusdt"
    third = read(frame)
    assert_same_response(second, decode(frame))
    assert third is not None
    assert_same_response(third, decode(frame))
    ticker_frame = json.dumps(_ticker_update()).encode()
    ticker = read(ticker_frame)
    assert ticker is not None and ticker.ticker is not None
    ticker.ticker.close = "0"
    again = read(ticker_frame)
    assert again is not None
    assert_same_response(again, decode(ticker_frame))


def test_every_copy_holds_and_returns_its_own_references() -> None:
    trade_frame = json.dumps(_trade_update(t=[{"p": "1", "v": "2", "T": 1_700_000_000_003}]))
    ticker_frame = json.dumps(_ticker_update()).encode()
    # The module keeps the last Response of each kind for reuse: one of each is held here
    # (so never renewed) and the last one built is kept. A trade without "tr": its trend is
    # the prototype's None, as are the other fields.
    held = read(trade_frame), read(ticker_frame)
    assert_references_balanced(lambda: read(trade_frame), (Channel.TRADE, Event.UPDATE), kept=1)
    assert_references_balanced(lambda: read(ticker_frame), (Channel.TICKER, Event.UPDATE), kept=1)
    del held
    trade = read(trade_frame)
    assert trade is not None and trade.trades and trade.trades[0].trend is None
    assert_same_response(trade, decode(trade_frame))


def test_a_response_let_go_is_renewed_for_the_next_frame_of_its_kind() -> None:
    """The last trade and ticker Response are each renewed when nothing else holds them:
    the same object, equal to the next frame's decode, whatever a handler wrote into it."""
    trade_frames = [
        json.dumps(_trade_update(T=created_at, t=[{"p": price, "v": "1", "T": created_at}]))
        for created_at, price in ((1_700_000_000_010, "1"), (1_700_000_000_011, "2"))
    ]
    ticker_frame = json.dumps(_ticker_update(T=1_700_000_000_012))
    taken = read(trade_frames[0])
    assert taken is not None and taken.trades
    address = id(taken)
    # A handler may set any field of the (mutable) Response it was given, then let it go.
    taken.trades[0].price = "written by a handler"
    taken.ticker = decode(ticker_frame).ticker
    taken.market = "ethusdt"
    taken.created_at = 5
    del taken
    ticker = read(ticker_frame)  # a ticker has a spare of its own
    assert ticker is not None
    assert_same_response(ticker, decode(ticker_frame))
    renewed = read(trade_frames[1])
    assert renewed is not None and id(renewed) == address
    assert_same_response(renewed, decode(trade_frames[1]))


def test_a_time_someone_holds_never_changes_when_its_response_is_renewed() -> None:
    """A trade shares its frame's int of T with the Response; the Response's int is renewed
    in place only once nothing else holds it."""
    wire_time = wire_slot(Response, "created_at")
    trade_wire_time = wire_slot(Trade, "created_at")
    times = [1_700_000_000_020 + n for n in range(4)] + [2**30, 300, 7]
    frames = [json.dumps(_trade_update(T=at, t=[{"p": "1", "v": "1", "T": at}])) for at in times]
    kept_trades = []
    for index, (frame, created_at) in enumerate(zip(frames, times, strict=True)):
        taken = read(frame)
        assert taken is not None and taken.trades
        assert_same_response(taken, decode(frame))
        assert wire_time.__get__(taken, Response) == created_at
        if created_at <= 256:
            assert wire_time.__get__(taken, Response) is int(str(created_at))  # CPython's
        if index % 2:
            kept_trades.append((taken.trades[0], created_at))
        del taken
    assert all(trade_wire_time.__get__(trade, Trade) == at for trade, at in kept_trades)
    frame = json.dumps(_ticker_update(T=1_700_000_000_030))
    taken = read(frame)
    assert taken is not None
    address = id(wire_time.__get__(taken, Response))
    del taken
    renewed = read(json.dumps(_ticker_update(T=1_700_000_000_031)))
    assert renewed is not None
    assert wire_time.__get__(renewed, Response) == 1_700_000_000_031
    assert id(wire_time.__get__(renewed, Response)) == address  # changed in place


def _one_trade(created_at: int, price: str, **trade: Any) -> str:
    return json.dumps(
        _trade_update(T=created_at, t=[{"p": price, "v": "1", "T": created_at, **trade}])
    )


@pytest.fixture
def allocations() -> Iterator[Callable[[object], object]]:
    """Where an object was allocated (tracemalloc's traceback): an object renewed keeps
    the one of its first allocation, while a new one, even at a freed one's address, has
    its own (which ``id`` cannot tell)."""
    tracemalloc.start(4)
    try:
        yield tracemalloc.get_object_traceback
    finally:
        tracemalloc.stop()


def test_the_trades_of_a_renewed_update_are_renewed_whatever_a_handler_wrote(
    allocations: Callable[[object], object],
) -> None:
    """A renewed trade update's list and Trades are the last frame's, each reset and given
    the new frame's values, when nothing but the Response holds them; its time's int is
    still changed in place (the old trades let it go first)."""
    wire_time = wire_slot(Response, "created_at")
    held = read(_one_trade(1_700_000_000_039, "1"))  # the spare: the next one is made anew
    taken = read(_one_trade(1_700_000_000_040, "1", tr="up"))
    del held
    assert taken is not None and taken.trades
    # (A list comes from CPython's free list, never traced: its Trade is, and is renewed
    # only through it.)
    made = allocations(taken.trades[0])
    time_int = id(wire_time.__get__(taken))
    assert made is not None
    # Whatever a handler sets in a Trade goes: every field but the ones a trade frame sends.
    written = taken.trades[0]
    written.id, written.market, written.fee, written.maker = 7, "ethusdt", "0.1", True
    written.trend, written.funds, written.order_id = "sideways", "9", 8
    del written, taken
    for at, price, trend in ((1_700_000_000_041, "2", None), (1_700_000_000_042, "3", "down")):
        frame = _one_trade(at, price, **({} if trend is None else {"tr": trend}))
        renewed = read(frame)
        assert renewed is not None and renewed.trades
        assert allocations(renewed.trades[0]) == made
        assert id(wire_time.__get__(renewed)) == time_int
        assert_same_response(renewed, decode(frame))
        assert renewed.trades[0].trend == trend
        del renewed


@pytest.mark.parametrize("holder", ["list", "trade", "twice", "other count", "not a trade"])
def test_trades_anyone_else_holds_are_never_renewed(
    holder: str, allocations: Callable[[object], object]
) -> None:
    """The list and its Trades are renewed only when the Response alone holds the list and
    the list alone each Trade, and it holds as many Trades as the frame has: else the new
    frame gets new ones, and whatever is held keeps its values."""
    first = json.dumps(
        _trade_update(
            T=1_700_000_000_050,
            t=[
                {"p": "5", "v": "6", "T": 1_700_000_000_050, "tr": "up"},
                {"p": "7", "v": "8", "T": 1_700_000_000_049},
            ],
        )
    )
    held = read(first)  # the spare: the next one is made anew
    taken = read(first)
    del held
    assert taken is not None and taken.trades and len(taken.trades) == 2
    made = [allocations(trade) for trade in taken.trades]
    assert None not in made
    kept: object = None
    if holder == "list":
        kept = taken.trades
    elif holder == "trade":
        kept = taken.trades[1]
    elif holder == "twice":
        taken.trades[1] = taken.trades[0]
    elif holder == "other count":
        taken.trades.pop()
    else:
        taken.trades[0] = {"p": "5"}  # type: ignore[call-overload]
    del taken
    frame = json.dumps(
        _trade_update(
            T=1_700_000_000_051,
            t=[
                {"p": "1", "v": "2", "T": 1_700_000_000_051},
                {"p": "3", "v": "4", "T": 1_700_000_000_052, "tr": "down"},
            ],
        )
    )
    renewed = read(frame)
    assert renewed is not None and renewed.trades
    assert_same_response(renewed, decode(frame))
    now = [allocations(trade) for trade in renewed.trades]
    assert all(a != b for a, b in zip(now, made, strict=True)), holder
    if holder == "list":
        assert kept == decode(first).trades
    elif holder == "trade":
        assert kept == decode(first).trades[1]  # type: ignore[index]


def test_a_ticker_is_renewed_only_when_nothing_else_holds_it(
    allocations: Callable[[object], object],
) -> None:
    """A renewed ticker update's Ticker takes the new frame's values (each of its fields is
    one the frame sends), whatever a handler wrote; one someone holds keeps its own."""
    frames = [
        json.dumps(_ticker_update(T=1_700_000_000_060 + n, tk={**_ticker(), "C": close}))
        for n, close in enumerate(("1.5", "2.25", "3", "4.125"))
    ]
    held = read(frames[0])  # the spare: the next one is made anew
    taken = read(frames[1])
    del held
    assert taken is not None and taken.ticker is not None
    made = allocations(taken.ticker)
    assert made is not None
    taken.ticker.open, taken.ticker.market = "written by a handler", "ethusdt"
    del taken
    renewed = read(frames[2])
    assert renewed is not None and allocations(renewed.ticker) == made
    assert_same_response(renewed, decode(frames[2]))
    kept = renewed.ticker
    del renewed
    again = read(frames[3])
    assert again is not None and allocations(again.ticker) != made
    assert_same_response(again, decode(frames[3]))
    assert kept == decode(frames[2]).ticker


def _priced_trade(created_at: int, price: str, volume: str) -> str:
    return json.dumps(
        _trade_update(T=created_at, t=[{"p": price, "v": volume, "T": created_at, "tr": "up"}])
    )


def test_a_text_only_a_renewed_trade_holds_takes_the_next_frame_s_characters(
    allocations: Callable[[object], object],
) -> None:
    """A renewed Trade's price and volume strs, when nothing else refers to them and the
    new texts are as long, are the same objects given the new characters (a new str for a
    text of another length); the values are the new frame's either way."""
    # Texts no code object holds as a constant (so none is interned or shared).
    texts = [(f"{60_000 + n}.{10 + n}", f"0.{123_456 + n}") for n in range(3)]
    frames = [_priced_trade(1_700_000_000_070 + n, *texts[n]) for n in range(3)]
    held = read(frames[0])
    taken = read(frames[0])
    del held
    assert taken is not None and taken.trades
    price, volume = taken.trades[0].price, taken.trades[0].volume
    made = allocations(price), allocations(volume)
    assert None not in made
    del price, volume, taken
    renewed = read(frames[1])
    assert renewed is not None and renewed.trades
    assert_same_response(renewed, decode(frames[1]))
    trade = renewed.trades[0]
    assert (trade.price, trade.volume) == texts[1]
    assert (allocations(trade.price), allocations(trade.volume)) == made
    assert hash(trade.price) == hash(texts[1][0])  # its hash is the new text's
    del trade, renewed
    longer = _priced_trade(1_700_000_000_080, "60000.125", "0.5")
    renewed = read(longer)
    assert renewed is not None and renewed.trades
    assert_same_response(renewed, decode(longer))
    assert allocations(renewed.trades[0].price) != made[0]


@pytest.mark.parametrize("holder", ["held", "hashed", "interned"])
def test_a_text_anyone_may_still_see_never_changes(
    holder: str, allocations: Callable[[object], object]
) -> None:
    """A price str that something else holds, that was hashed (a dict may have seen it) or
    that is interned keeps its characters when its Trade is renewed: the new frame's price
    is a new str."""
    price = f"{61_000 + len(holder)}.25"
    first = _priced_trade(1_700_000_000_090, price, "1.5")
    then = _priced_trade(1_700_000_000_091, f"{62_000 + len(holder)}.75", "2.5")
    held = read(first)
    taken = read(first)
    del held
    assert taken is not None and taken.trades
    kept: object = None
    if holder == "held":
        kept = taken.trades[0].price
    elif holder == "hashed":
        hash(taken.trades[0].price)
    else:
        assert sys.intern(taken.trades[0].price) is taken.trades[0].price
    made = allocations(taken.trades[0].price)
    del taken
    renewed = read(then)
    assert renewed is not None and renewed.trades
    assert_same_response(renewed, decode(then))
    assert allocations(renewed.trades[0].price) != made
    if holder == "held":
        assert kept == price
    elif holder == "interned":
        assert sys.intern(price) == price


def test_the_texts_of_a_renewed_ticker_are_the_new_frame_s() -> None:
    """A renewed Ticker's strs are given the new characters in place when only it holds
    them; one a handler kept keeps its own."""
    closes = [f"{63_000 + n}.5" for n in range(3)]
    frames = [
        json.dumps(_ticker_update(T=1_700_000_000_100 + n, tk={**_ticker(), "C": close}))
        for n, close in enumerate(closes)
    ]
    held = read(frames[0])
    taken = read(frames[0])
    del held
    assert taken is not None and taken.ticker is not None
    close_id = id(taken.ticker.close)
    del taken
    renewed = read(frames[1])
    assert renewed is not None and renewed.ticker is not None
    assert_same_response(renewed, decode(frames[1]))
    assert renewed.ticker.close == closes[1] and id(renewed.ticker.close) == close_id
    kept = renewed.ticker.close
    del renewed
    again = read(frames[2])
    assert again is not None and again.ticker is not None
    assert_same_response(again, decode(frames[2]))
    assert kept == closes[1] and again.ticker.close == closes[2]


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="3.12 made interned str immortal: their counts never move"
)
def test_trades_give_back_their_references_when_renewed_or_let_go() -> None:
    # "up" is the module's own str of that trend: each trade that has it holds a reference.
    up = json.dumps(_trade_update(t=[{"p": "1", "v": "2", "T": 1_700_000_000_003, "tr": "up"}]))
    two = json.dumps(_trade_update(t=[{"p": "1", "v": "2", "T": 5, "tr": "up"}] * 2))
    # One held while counting, so each build makes its own; the last one built is kept.
    held = read(up)
    assert_references_balanced(lambda: read(up), ("up",), kept=1)
    held = read(two)
    assert_references_balanced(lambda: read(two), ("up",), kept=2)
    del held
    read(json.dumps(_trade_update(t=[])))  # the spare now holds no trade
    gc.collect()
    before = sys.getrefcount("up")
    for _ in range(100):
        read(up)  # renewed each time but the first: its "up" let go, then set again
    after = sys.getrefcount("up")  # (pytest's rewritten assert would hold the argument)
    assert after == before + 1


def test_the_market_of_one_frame_is_never_that_of_another() -> None:
    for market in ("btcusdt", "ethusdt", "btcusdt", "eth", "ethusdt0"):
        taken = read(json.dumps(_trade_update(M=market)).encode())
        assert taken is not None and taken.market == market


# -- in the frame path ---------------------------------------------------------------------


def _path(impl: Any, decoder: Any, seen: list[Response], stats: StreamStats) -> Any:
    return impl.FramePath(
        decode=decoder,
        stats=stats,
        apply_book=lambda response: None,
        dispatch=seen.append,
        request_resync=lambda resync: None,
        on_control=lambda response: None,
        feed_lag=stats.feed_lag,
    )


def test_both_frame_paths_hand_on_equal_responses_and_count_alike() -> None:
    """The compiled path reads trades and tickers in one pass, the pure twin decodes them:
    the handler sees equal responses and both count the same frames, lags and errors."""
    frame_path_py = compiled("_frames._frame_path_py")
    assert _frame_path_c is not None and frame_path_py is not None
    payloads = [*blast_stream(2000).payloads, b"{not json", json.dumps(_trade_update(x=1))]
    results = []
    for impl in (_frame_path_c, frame_path_py):
        seen: list[Response] = []
        stats = StreamStats()
        path = _path(impl, decode, seen, stats)
        for payload in payloads:
            assert path.feed(payload) is None
        results.append((seen, stats))
    (ours, our_stats), (theirs, their_stats) = results
    assert len(ours) == len(theirs) == len(payloads) - 1
    for taken, decoded in zip(ours, theirs, strict=True):
        assert_same_response(taken, decoded)
    assert our_stats.decode_errors == their_stats.decode_errors == 1
    assert our_stats.messages == their_stats.messages == len(payloads)
    for channel in ("book", "trade", "ticker"):
        assert our_stats.feed_lag.buckets(channel) == their_stats.feed_lag.buckets(channel)
        assert sum(our_stats.feed_lag.buckets(channel)) > 0


def test_a_decoder_of_its_own_sees_every_frame() -> None:
    """Only msgspec's own Response decoder is passed over: any other decode given to the
    path is called for trades and tickers too."""
    assert _frame_path_c is not None
    calls: list[bytes | str] = []

    def spy(frame: bytes | str) -> Response:
        calls.append(frame)
        return decode(frame)

    frames = [json.dumps(_trade_update()).encode(), json.dumps(_ticker_update()).encode()]
    seen: list[Response] = []
    path = _path(_frame_path_c, spy, seen, StreamStats())
    for frame in frames:
        path.feed(frame)
    assert calls == frames
    assert [response.channel for response in seen] == [Channel.TRADE, Channel.TICKER]
