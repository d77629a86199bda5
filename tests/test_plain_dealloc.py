"""The compiled readers' deallocator for the models they copy from prototypes.

Once a compiled reader is loaded, ``Response``, ``Trade`` and ``Ticker`` (Structs without
GC whose body is nothing but their fields) are released by one loop over their slots
instead of msgspec's walk of each base's member table. Whichever way an instance was made,
going must give back every reference it held, once.
"""

from __future__ import annotations

import ctypes
import gc
import pickle
import sys
import weakref
from typing import Any

import msgspec
import pytest
from twins import compiled

from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.response import Response
from maicoin.ws.ticker import Ticker
from maicoin.ws.trade import Trade

_book_c = compiled("_frames._book_c")
_frame_path_c = compiled("_frames._frame_path_c")
pytestmark = pytest.mark.skipif(
    _book_c is None or _frame_path_c is None, reason="compiled module not built"
)

PLAIN_MODELS = [Response, Trade, Ticker]
# PyTypeObject's tp_dealloc follows ob_refcnt, ob_type, ob_size, tp_name, tp_basicsize and
# tp_itemsize, each one word, on every CPython this package supports.
TP_DEALLOC_OFFSET = 6 * ctypes.sizeof(ctypes.c_void_p)


def _deallocator(model: type) -> int | None:
    return ctypes.c_void_p.from_address(id(model) + TP_DEALLOC_OFFSET).value


def _msgspec_deallocator() -> int | None:
    return _deallocator(msgspec.defstruct("Probe", [("value", object)], gc=False))


class _Marker:
    """A value only one test holds: its reference count says who else does."""


def _filled(model: type) -> tuple[Any, list[_Marker]]:
    names = model.__struct_fields__  # type: ignore[attr-defined]
    markers = [_Marker() for _ in names]
    # Unvalidated (msgspec's own constructor): every slot holds a marker of its own.
    return model._construct(dict(zip(names, markers, strict=True))), markers  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", PLAIN_MODELS, ids=lambda model: model.__name__)
def test_the_plain_models_are_released_by_the_compiled_loop(model: type) -> None:
    assert _deallocator(model) != _msgspec_deallocator()


@pytest.mark.parametrize("model", PLAIN_MODELS, ids=lambda model: model.__name__)
def test_every_field_is_given_back_once_whichever_way_an_instance_was_made(model: type) -> None:
    instance, markers = _filled(model)
    held = [sys.getrefcount(marker) for marker in markers]
    copies = [instance.__copy__(), msgspec.structs.replace(instance)]
    assert [sys.getrefcount(marker) for marker in markers] == [count + 2 for count in held]
    del copies
    assert [sys.getrefcount(marker) for marker in markers] == held
    clone = pickle.loads(pickle.dumps(instance))
    del instance
    assert [sys.getrefcount(marker) for marker in markers] == [count - 1 for count in held]
    # The unpickled instance holds markers of its own: each goes with it.
    gone = [weakref.ref(value) for value in msgspec.structs.astuple(clone)]
    del clone
    assert [ref() for ref in gone] == [None] * len(gone)


def test_decoded_responses_give_back_their_fields() -> None:
    decode = make_decoder()
    frame = (
        b'{"c":"trade","e":"update","M":"btcusdt","T":1700000000000,'
        b'"t":[{"p":"1.5","v":"2","T":1700000000000,"tr":"up"}]}'
    )
    responses = [decode(frame) for _ in range(100)]
    trades = [response.trades for response in responses]
    # Each list: its Response, the list of lists, the loop's name and getrefcount's argument.
    assert [sys.getrefcount(listed) for listed in trades] == [4] * len(trades)
    del responses
    assert [sys.getrefcount(listed) for listed in trades] == [3] * len(trades)


def _nones(value: Any, seen: set[int]) -> int:
    """How many references to None the fields of value hold, its Structs and lists included
    (each counted once: a copy shares its original's lists and Structs)."""
    if not isinstance(value, msgspec.Struct | list) or id(value) in seen:
        return value is None
    seen.add(id(value))
    items = msgspec.structs.astuple(value) if isinstance(value, msgspec.Struct) else value
    return sum(_nones(item, seen) for item in items)


def _none_counts(frames: list[bytes], decode: Any) -> tuple[int, int, int, int]:
    """None's count grown while responses are read, decoded and copied; the references to
    None their fields hold; how many there are; None's count left once they are gone, but
    for the Nones of the two the reader keeps (the last of each kind, its spares)."""
    assert _frame_path_c is not None
    # A collection while they are built would free other garbage that holds None.
    gc.collect()
    gc.disable()
    try:
        # The reader renews the last Response of each kind when nothing else holds it: read
        # and held here, each spare is one someone holds, and none is renewed while counted.
        held = [_frame_path_c.read_market_update(frame) for frame in frames]
        before = sys.getrefcount(None)
        reads = [_frame_path_c.read_market_update(frame) for frame in frames * 500]
        built = reads + [decode(frame) for frame in frames * 500]
        built += [response.__copy__() for response in built[:100]]
        grown = sys.getrefcount(None) - before
        seen: set[int] = set()
        nones = sum(_nones(response, seen) for response in built)
        kept = sum(_nones(response, set()) for response in reads[-len(frames) :])
        count = len(built)
        del built, reads
        # (3.12 made None immortal: its count never changes, whatever holds it.)
        left = sys.getrefcount(None) - before - (kept if sys.version_info < (3, 12) else 0)
        del held
    finally:
        gc.enable()
    return grown, nones, count, left


def test_none_is_counted_once_for_every_field_that_holds_it() -> None:
    # Before 3.12 the compiled copy and release change None's count once for all the fields
    # that hold it: the total must still be exactly one per field, taken and given back.
    frames = [
        b'{"c":"trade","e":"update","M":"btcusdt","T":1700000000000,'
        b'"t":[{"p":"1.5","v":"2","T":1700000000000,"tr":"up"}]}',
        b'{"c":"ticker","e":"update","M":"btcusdt","T":1700000000000,"tk":{"M":"btcusdt",'
        b'"O":"1","H":"2","L":"0.5","C":"1.5","v":"10","V":"0.1"}}',
    ]
    decode = make_decoder()
    # Measured on the second run: the first fills the readers' caches (the last market's
    # name) and, on 3.11, slots of the interpreter's attribute cache that start out holding
    # None. No checked assert sits inside a run, as its temporaries hold None themselves.
    _none_counts(frames, decode)
    grown, nones, count, left = _none_counts(frames, decode)
    assert nones > 10 * count
    if sys.version_info < (3, 12):  # an immortal None keeps its count whatever holds it
        assert grown == nones
    assert left == 0
