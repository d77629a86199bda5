"""The per-frame path and the receive loop in both implementations: FramePath, pull_frames
and PushReceiver (each test gets the compiled pair, then the pure-Python pair)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from twins import compiled, twin_fixture
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close, Frame, Opcode

from maicoin.ws import Channel, Event, Response
from maicoin.ws._extensions import NO_EXTENSIONS
from maicoin.ws._frames import _frame_path_py, frame_path
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._io import _receive_py, receive, rules
from maicoin.ws.stats import StreamStats

_frame_path_c = compiled("_frames._frame_path_c")
_receive_c = compiled("_io._receive_c")


def _pair(path_module: ModuleType | None, receive_module: ModuleType | None) -> Any:
    """One implementation of the whole path: its FramePath with its receive loop."""
    if path_module is None or receive_module is None:
        return None
    return SimpleNamespace(
        FramePath=path_module.FramePath,
        PushReceiver=receive_module.PushReceiver,
        pull_frames=receive_module.pull_frames,
    )


BOOK_UPDATE = (
    b'{"c":"book","e":"update","M":"btcusdt","a":[["100.5","0"]],"b":[["99.5","2"]],'
    b'"T":1700000000001,"fi":11,"li":11,"v":1}'
)
TICKER = (
    b'{"c":"ticker","e":"update","M":"btcusdt","T":1700000000002,'
    b'"tk":{"M":"btcusdt","O":"1","H":"2","L":"0.5","C":"1.5","v":"10","V":"0.1"}}'
)
ERROR = b'{"e":"error","E":["E-1004: invalid action"],"i":"r1","T":1700000000003}'


def trade(n: int) -> bytes:
    return (
        b'{"c":"trade","e":"update","M":"btcusdt","T":1700000000004,'
        b'"t":[{"p":"%d","v":"1","T":1700000000004,"tr":"up"}]}' % n
    )


impl = twin_fixture(_pair(_frame_path_c, _receive_c), _pair(_frame_path_py, _receive_py))


@dataclass
class Parts:
    """Everything a FramePath talks to, recording what it was told."""

    stats: StreamStats = field(default_factory=StreamStats)
    dispatched: list[Response] = field(default_factory=list)
    booked: list[Response] = field(default_factory=list)
    resyncs: list[object] = field(default_factory=list)
    errors: list[Response] = field(default_factory=list)
    pending: dict[int, Awaitable[Any]] = field(default_factory=dict)
    """Awaitable to return from dispatch for the n-th frame (0-based)."""
    resync_for_book: object = None
    dispatch_raises: BaseException | None = None

    def apply_book(self, response: Response) -> object:
        self.booked.append(response)
        return self.resync_for_book

    def dispatch(self, response: Response) -> Awaitable[Any] | None:
        if self.dispatch_raises is not None:
            raise self.dispatch_raises
        self.dispatched.append(response)
        return self.pending.get(len(self.dispatched) - 1)

    def path(
        self,
        impl: ModuleType,
        on_error: Callable[[Response], None] | None = None,
        *,
        raw: bool = False,
        decode: Callable[[bytes | str], Response] | None = None,
    ) -> Any:
        return impl.FramePath(
            decode=make_decoder(raw=raw) if decode is None else decode,
            stats=self.stats,
            apply_book=self.apply_book,
            dispatch=self.dispatch,
            request_resync=self.resyncs.append,
            on_control=on_error or self.errors.append,
        )

    def prices(self) -> list[str]:
        return [r.trades[0].price for r in self.dispatched if r.trades]


# ---------------------------------------------------------------- FramePath


def test_feed_counts_decodes_and_dispatches(impl: ModuleType) -> None:
    parts = Parts()
    path = parts.path(impl)
    before = time.time()
    assert path.feed(TICKER) is None
    assert path.feed(TICKER.decode()) is None
    assert parts.stats.messages == 2
    assert parts.stats.bytes == 2 * len(TICKER)
    assert parts.stats.last_receive_time is not None
    assert before <= parts.stats.last_receive_time <= time.time()
    assert [r.channel for r in parts.dispatched] == [Channel.TICKER, Channel.TICKER]
    assert parts.dispatched[0].ticker is not None and parts.dispatched[0].ticker.close == "1.5"
    assert parts.booked == [] and parts.errors == []


class WatchedStats(StreamStats):
    """A StreamStats subclass that sees every counter it is given (the attribute path)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__()
        self.seen.clear()  # the fields' defaults, set by the dataclass __init__

    def __setattr__(self, name: str, value: object) -> None:
        if name != "seen":
            self.seen.append(name)
        super().__setattr__(name, value)


def test_feed_counts_into_a_stats_subclass_through_its_attributes(impl: ModuleType) -> None:
    # A plain StreamStats may be bumped in its slots (the compiled twin does); a subclass
    # keeps whatever its attributes do.
    plain, watched = Parts(), Parts(stats=WatchedStats())
    for parts in (plain, watched):
        path = parts.path(impl)
        for frame in (TICKER, trade(1), TICKER):
            path.feed(frame)
    stats = watched.stats
    assert isinstance(stats, WatchedStats)
    assert stats.seen == ["messages", "bytes", "last_receive_time"] * 3
    for parts in (plain, watched):
        assert parts.stats.messages == 3
        assert parts.stats.bytes == 2 * len(TICKER) + len(trade(1))
        assert isinstance(parts.stats.last_receive_time, float)
    assert plain.stats.decode_errors == watched.stats.decode_errors == 0


def test_a_counter_someone_holds_never_changes_under_them(impl: ModuleType) -> None:
    # The compiled twin bumps an int in place only while the stats' slot is its only
    # reference: whatever a caller took out of the stats keeps its value.
    parts = Parts()
    path = parts.path(impl)
    path.feed(TICKER)
    messages, size, received = (
        parts.stats.messages,
        parts.stats.bytes,
        parts.stats.last_receive_time,
    )
    kept = [messages, size, received]
    path.feed(trade(1))
    path.feed(TICKER)
    assert kept == [1, len(TICKER), received] and messages == 1 and size == len(TICKER)
    assert parts.stats.messages == 3
    assert parts.stats.bytes == 2 * len(TICKER) + len(trade(1))
    assert parts.stats.last_receive_time is not None and received is not None
    assert parts.stats.last_receive_time >= received


@pytest.mark.parametrize(
    "start",
    [2**30 - 3 * len(TICKER) // 2, 2**60 - 3 * len(TICKER) // 2, 2**90, -5, 0, 255, 256],
    ids=["one-digit-edge", "two-digit-edge", "three-digits", "negative", "zero", "255", "256"],
)
def test_counters_are_exact_across_every_int_size(impl: ModuleType, start: int) -> None:
    # Past 2**30 an int needs a second digit, past 2**60 a third; a counter set by hand may
    # be anything. Every step must give what `+=` gives.
    parts = Parts(stats=StreamStats(messages=start, bytes=start))
    path = parts.path(impl)
    for count in range(1, 4):
        path.feed(TICKER)
        assert parts.stats.messages == start + count
        assert parts.stats.bytes == start + count * len(TICKER)
        assert type(parts.stats.messages) is int and type(parts.stats.bytes) is int


def test_a_counter_of_another_type_is_added_to_as_python_adds(impl: ModuleType) -> None:
    parts = Parts(stats=StreamStats(messages=True, bytes=1.5))  # type: ignore[arg-type]
    path = parts.path(impl)
    path.feed(TICKER)
    assert parts.stats.messages == 2 and type(parts.stats.messages) is int
    assert parts.stats.bytes == 1.5 + len(TICKER) and type(parts.stats.bytes) is float


def test_a_deleted_counter_fails_the_frame_with_attribute_error(impl: ModuleType) -> None:
    parts = Parts()
    path = parts.path(impl)
    del parts.stats.messages
    with pytest.raises(AttributeError):
        path.feed(TICKER)


def test_book_frames_reach_the_book_and_resyncs_are_requested(impl: ModuleType) -> None:
    parts = Parts(resync_for_book="resync btcusdt")
    path = parts.path(impl)
    path.feed(BOOK_UPDATE)
    path.feed(TICKER)
    assert [r.last_update_id for r in parts.booked] == [11]
    assert parts.resyncs == ["resync btcusdt"]
    assert len(parts.dispatched) == 2  # the book frame is still delivered


def test_a_frame_that_does_not_decode_is_counted_logged_and_skipped(
    impl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    parts = Parts()
    path = parts.path(impl)
    assert path.feed(b'{"e": "update", "T": "not a time"}') is None
    assert path.feed(b"not json at all") is None
    path.feed(TICKER)
    assert parts.stats.decode_errors == 2 and parts.stats.messages == 3
    assert len(parts.dispatched) == 1
    assert "does not decode" in caplog.text and "not json at all" in caplog.text


DEEP = b'{"e":"x","T":1,"z":' + b"[" * 20_000 + b"]" * 20_000 + b"}"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(DEEP, id="nested-too-deep"),
        pytest.param(DEEP.decode(), id="nested-too-deep-text"),
        pytest.param(b'{"e":"update","T":1,"M":"\xff\xfe"}', id="not-utf-8"),
        pytest.param('{"e":"up\ud800","T":1}', id="lone-surrogate"),
        pytest.param(b'{"e":"update","T":1' + b"9" * 5000 + b"}", id="huge-number"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"c":"book","e":"update","M":"btcusdt","a":[["1"', id="truncated"),
    ],
)
def test_every_decoding_failure_is_counted_logged_and_skipped(
    impl: ModuleType, frame: bytes | str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    # msgspec's own decode (a stream's) and the checked decoder: the same count and log line.
    for raw in (True, False):
        parts = Parts()
        path = parts.path(impl, raw=raw)
        assert path.feed(frame) is None
        assert path.feed(TICKER) is None
        assert parts.stats.decode_errors == 1 and parts.stats.messages == 2
        assert [r.channel for r in parts.dispatched] == [Channel.TICKER]
        assert parts.booked == []
    raw_record, checked_record = caplog.records
    assert raw_record.getMessage() == checked_record.getMessage()
    assert raw_record.getMessage().startswith(
        "dropped a frame that does not decode (invalid Response"
    )


@pytest.mark.parametrize(
    "exc",
    [
        TypeError("unexpected"),
        ValueError("odd"),
        KeyError("k"),
        MemoryError(),
        OverflowError("too big"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_any_exception_a_decoder_raises_only_loses_that_frame(
    impl: ModuleType, exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    decode = make_decoder()

    def flaky(frame: bytes | str) -> Response:
        if frame == b"bad":
            raise exc
        return decode(frame)

    parts = Parts()
    path = parts.path(impl, decode=flaky)
    assert path.feed(b"bad") is None
    path.feed(TICKER)
    assert parts.stats.decode_errors == 1 and parts.stats.messages == 2
    assert len(parts.dispatched) == 1
    assert f"({type(exc).__name__}" in caplog.text and "b'bad'" in caplog.text


@pytest.mark.parametrize(
    ("exc", "named"),
    [
        (RecursionError("maximum recursion depth exceeded"), "JSON nests too deeply to decode"),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            "frame is not valid UTF-8",
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_the_ways_a_document_fails_are_named_alike_whichever_decoder_raised_them(
    impl: ModuleType, exc: Exception, named: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")

    def failing(frame: bytes | str) -> Response:
        raise exc

    parts = Parts()
    path = parts.path(impl, decode=failing)
    assert path.feed(b"bad") is None
    assert parts.stats.decode_errors == 1
    (record,) = caplog.records
    assert f"(invalid Response: {named} ({exc}))" in record.getMessage()


def test_a_decoder_interrupt_is_not_swallowed(impl: ModuleType) -> None:
    def cancelled(frame: bytes | str) -> Response:
        raise asyncio.CancelledError

    parts = Parts()
    path = parts.path(impl, decode=cancelled)
    with pytest.raises(asyncio.CancelledError):
        path.feed(TICKER)
    assert parts.stats.decode_errors == 0


@pytest.mark.parametrize("frame", [b"x" * 2**20, "\u00e9" * 2**20], ids=["bytes", "text"])
def test_the_log_of_a_bad_frame_shows_a_bounded_excerpt(
    impl: ModuleType, frame: bytes | str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    parts = Parts()
    parts.path(impl).feed(frame)
    assert parts.stats.decode_errors == 1
    message = caplog.records[0].getMessage()
    assert len(message) < 800
    unit = "bytes" if isinstance(frame, bytes) else "characters"
    assert message.endswith(f"... ({2**20} {unit})")


def test_error_frames_reach_on_control_after_the_handlers(impl: ModuleType) -> None:
    seen: list[str] = []
    parts = Parts()

    def on_error(response: Response) -> None:
        seen.append(f"error after {len(parts.dispatched)} dispatched")
        raise RuntimeError("auth refused")

    path = parts.path(impl, on_error)
    with pytest.raises(RuntimeError, match="auth refused"):
        path.feed(ERROR)
    assert seen == ["error after 1 dispatched"]
    assert parts.dispatched[0].event is Event.ERROR


async def test_an_error_frame_with_async_handlers_waits_for_them(impl: ModuleType) -> None:
    handler_done = asyncio.get_running_loop().create_future()
    parts = Parts(pending={0: handler_done})
    path = parts.path(impl)
    pending = path.feed(ERROR)
    assert pending is not None and parts.errors == []
    handler_done.set_result(None)
    await pending
    assert [r.errors for r in parts.errors] == [["E-1004: invalid action"]]


async def test_pull_frames_awaits_every_pending_in_order_and_ends_on_clean_close(
    impl: ModuleType,
) -> None:
    order: list[str] = []

    async def slow_handler() -> None:
        await asyncio.sleep(0)
        order.append("handler of frame 1 done")

    parts = Parts(pending={1: slow_handler()})
    frames = [trade(0), trade(1), trade(2)]

    async def read() -> bytes:
        if not frames:
            raise ConnectionClosedOK(Close(1000, ""), Close(1000, ""), True)
        order.append(f"read {len(parts.dispatched)}")
        return frames.pop(0)

    await impl.pull_frames(parts.path(impl), read)
    assert parts.prices() == ["0", "1", "2"]
    assert order == ["read 0", "read 1", "handler of frame 1 done", "read 2"]


async def test_pull_frames_raises_an_abnormal_close(impl: ModuleType) -> None:
    async def read() -> bytes:
        raise ConnectionClosedError(None, None)

    with pytest.raises(ConnectionClosedError):
        await impl.pull_frames(Parts().path(impl), read)


# ---------------------------------------------------------------- PushReceiver

TEXT, BINARY, CONT, CLOSE = "text", "binary", "continuation", "close"


@dataclass
class FakeFrame:
    """What PushReceiver reads of a picows WSFrame."""

    payload: bytes
    msg_type: str = TEXT
    fin: bool = True

    def get_payload_as_bytes(self) -> bytes:
        return self.payload


@dataclass
class Flow:
    """Reading switches and failures the receiver reports."""

    calls: list[str] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    controls: list[Any] = field(default_factory=list)

    def receiver(self, impl: ModuleType, path: Any) -> Any:
        return impl.PushReceiver(
            path,
            pause_reading=lambda: self.calls.append("pause"),
            resume_reading=lambda: self.calls.append("resume"),
            on_failure=self.failures.append,
            on_control=lambda *args: self.controls.append(args[-1]),
            text_kind=TEXT,
            binary_kind=BINARY,
            continuation_kind=CONT,
        )


async def settle(receiver: Any) -> None:
    task = receiver.drain_task
    if task is not None:
        await asyncio.wait_for(asyncio.shield(task), 5)


async def test_sync_frames_are_handled_inside_the_callback(impl: ModuleType) -> None:
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    for n in range(3):
        receiver.on_ws_frame("transport", FakeFrame(trade(n)))
        assert len(parts.dispatched) == n + 1  # before the callback returned
    close = FakeFrame(b"\x03\xe8", CLOSE)
    receiver.on_ws_frame("transport", close)
    assert flow.controls == [close] and flow.calls == [] and receiver.drain_task is None
    assert not receiver.draining


async def test_an_awaitable_pauses_reading_and_later_frames_keep_their_order(
    impl: ModuleType,
) -> None:
    handler = asyncio.get_running_loop().create_future()
    parts, flow = Parts(pending={1: handler}), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    for n in range(5):
        receiver.on_ws_frame("transport", FakeFrame(trade(n)))
    assert flow.calls == ["pause"] and receiver.draining
    assert parts.prices() == ["0", "1"]  # 2, 3 and 4 wait behind the handler of 1
    await asyncio.sleep(0.01)
    assert parts.prices() == ["0", "1"]
    handler.set_result(None)
    await settle(receiver)
    assert parts.prices() == ["0", "1", "2", "3", "4"]
    assert flow.calls == ["pause", "resume"] and not receiver.draining
    receiver.on_ws_frame("transport", FakeFrame(trade(5)))
    assert parts.prices()[-1] == "5"


async def test_fragments_are_joined_into_one_message(impl: ModuleType) -> None:
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    whole = trade(7)
    receiver.on_ws_frame("transport", FakeFrame(b"stray", CONT, True))  # no start: dropped
    receiver.on_ws_frame("transport", FakeFrame(whole[:10], TEXT, False))
    receiver.on_ws_frame("transport", FakeFrame(whole[10:30], CONT, False))
    assert parts.dispatched == []
    receiver.on_ws_frame("transport", FakeFrame(whole[30:], CONT, True))
    assert parts.prices() == ["7"] and parts.stats.decode_errors == 0


def test_the_joiner_bounds_the_whole_message_and_never_holds_more() -> None:
    joiner = rules.FragmentJoiner(100)
    assert joiner.add(True, False, b"a" * 60) is None
    with pytest.raises(rules.MessageTooBig, match="at least 120 bytes exceeds max_size=100") as e:
        joiner.add(False, False, b"b" * 60)  # refused before it is kept
    assert (e.value.size, e.value.max_size) == (120, 100)
    assert isinstance(e.value, ValueError)
    assert joiner.add(False, True, b"c") is None  # the rest of that message: no start
    assert joiner.add(True, True, b"x" * 100) == b"x" * 100  # exactly max_size is fine
    assert joiner.add(True, False, b"y" * 50) is None
    assert joiner.add(True, True, b"z" * 70) == b"z" * 70  # a new start forgets the last
    unbounded = rules.FragmentJoiner()
    assert unbounded.add(True, False, b"a" * 10**6) is None
    assert unbounded.add(False, True, b"b") == b"a" * 10**6 + b"b"


def test_the_joiner_holds_at_most_max_size_of_a_long_message() -> None:
    joiner = rules.FragmentJoiner(64 * 1024)
    held = 0
    with pytest.raises(rules.MessageTooBig):
        joiner.add(True, False, b"a" * 4096)
        for _ in range(500):  # 2 MB offered
            joiner.add(False, False, b"a" * 4096)
            held = sum(map(len, joiner._parts or []))
            assert held <= 64 * 1024
    assert held == 64 * 1024 and joiner._parts is None


async def test_a_fragmented_message_over_max_size_fails_the_receiver_unassembled(
    impl: ModuleType,
) -> None:
    parts, flow = Parts(), Flow()
    receiver = impl.PushReceiver(
        parts.path(impl),
        pause_reading=lambda: flow.calls.append("pause"),
        resume_reading=lambda: flow.calls.append("resume"),
        on_failure=flow.failures.append,
        on_control=lambda *args: flow.controls.append(args[-1]),
        text_kind=TEXT,
        binary_kind=BINARY,
        continuation_kind=CONT,
        max_size=1000,
    )
    whole = trade(1)
    receiver.on_ws_frame("transport", FakeFrame(whole[:10], TEXT, False))
    receiver.on_ws_frame("transport", FakeFrame(whole[10:], CONT, True))  # under: delivered
    receiver.on_ws_frame("transport", FakeFrame(b"[" * 600, TEXT, False))
    assert flow.failures == []
    receiver.on_ws_frame("transport", FakeFrame(b"1" * 600, CONT, False))
    (failure,) = flow.failures
    assert isinstance(failure, rules.MessageTooBig) and failure.max_size == 1000
    receiver.on_ws_frame("transport", FakeFrame(b"]" * 600, CONT, True))
    receiver.on_ws_frame("transport", FakeFrame(trade(2)))  # after the failure: dropped
    close = FakeFrame(b"\x03\xf1", CLOSE)
    receiver.on_ws_frame("transport", close)  # control frames still reach the transport
    assert parts.prices() == ["1"] and len(flow.failures) == 1 and flow.controls == [close]
    assert parts.stats.messages == 1


async def test_a_whole_frame_over_max_size_is_dropped_undecoded(impl: ModuleType) -> None:
    # picows sends 1009 for a frame over its bound but still hands the frame over once read.
    parts, flow = Parts(), Flow()
    receiver = impl.PushReceiver(
        parts.path(impl),
        pause_reading=lambda: flow.calls.append("pause"),
        resume_reading=lambda: flow.calls.append("resume"),
        on_failure=flow.failures.append,
        on_control=lambda *args: flow.controls.append(args[-1]),
        text_kind=TEXT,
        binary_kind=BINARY,
        continuation_kind=CONT,
        max_size=len(trade(1)),
    )
    receiver.on_ws_frame("transport", FakeFrame(trade(1)))  # exactly max_size: handled
    receiver.on_ws_frame("transport", FakeFrame(trade(10)))  # one byte over
    receiver.on_ws_frame("transport", FakeFrame(trade(11)))
    (failure,) = flow.failures
    assert isinstance(failure, rules.MessageTooBig) and failure.size == len(trade(10))
    assert parts.prices() == ["1"] and parts.stats.messages == 1


async def test_without_max_size_the_receiver_joins_any_length(impl: ModuleType) -> None:
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    whole = trade(9)
    receiver.on_ws_frame("transport", FakeFrame(whole[:-1] + b" " * 2**20, TEXT, False))
    receiver.on_ws_frame("transport", FakeFrame(whole[-1:], CONT, True))
    assert parts.prices() == ["9"] and flow.failures == []


async def test_websockets_frame_events_take_the_same_path(impl: ModuleType) -> None:
    parts, flow = Parts(), Flow()
    receiver = impl.PushReceiver(
        parts.path(impl),
        pause_reading=lambda: flow.calls.append("pause"),
        resume_reading=lambda: flow.calls.append("resume"),
        on_failure=flow.failures.append,
        on_control=flow.controls.append,
        text_kind=Opcode.TEXT,
        binary_kind=Opcode.BINARY,
        continuation_kind=Opcode.CONT,
    )
    whole = trade(3)
    receiver.on_frame(Frame(Opcode.TEXT, trade(1)))
    receiver.on_frame(Frame(Opcode.BINARY, trade(2)))
    receiver.on_frame(Frame(Opcode.TEXT, whole[:20], fin=False))
    receiver.on_frame(Frame(Opcode.CONT, whole[20:]))
    pong = Frame(Opcode.PONG, b"ping-id")
    receiver.on_frame(pong)
    assert parts.prices() == ["1", "2", "3"] and flow.controls == [pong]


async def test_the_first_failure_is_reported_once_and_later_frames_are_dropped(
    impl: ModuleType,
) -> None:
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    receiver.on_ws_frame("transport", FakeFrame(trade(0)))
    parts.dispatch_raises = RuntimeError("handler bug")
    receiver.on_ws_frame("transport", FakeFrame(trade(1)))
    parts.dispatch_raises = None
    receiver.on_ws_frame("transport", FakeFrame(trade(2)))
    assert [str(exc) for exc in flow.failures] == ["handler bug"]
    assert parts.prices() == ["0"]


async def test_a_failure_while_draining_stops_the_backlog(impl: ModuleType) -> None:
    async def failing() -> None:
        raise ValueError("async handler bug")

    parts, flow = Parts(pending={0: failing()}), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    for n in range(3):
        receiver.on_ws_frame("transport", FakeFrame(trade(n)))
    await settle(receiver)
    assert [str(exc) for exc in flow.failures] == ["async handler bug"]
    assert parts.prices() == ["0"]
    assert flow.calls == ["pause", "resume"]  # dropped frames must not hold reading paused
    receiver.on_ws_frame("transport", FakeFrame(trade(9)))
    assert parts.prices() == ["0"]


async def test_close_drops_the_backlog_and_later_frames(impl: ModuleType) -> None:
    handler = asyncio.get_running_loop().create_future()
    parts, flow = Parts(pending={0: handler}), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    receiver.on_ws_frame("transport", FakeFrame(trade(0)))
    receiver.on_ws_frame("transport", FakeFrame(trade(1)))
    receiver.close()
    assert flow.calls == ["pause", "resume"] and not receiver.draining
    handler.set_result(None)
    await settle(receiver)
    receiver.on_ws_frame("transport", FakeFrame(trade(2)))
    ping = FakeFrame(b"", "ping")
    receiver.on_ws_frame("transport", ping)
    assert parts.prices() == ["0"] and flow.controls == [ping] and flow.failures == []


async def test_a_long_burst_lets_other_tasks_run_between_turns(impl: ModuleType) -> None:
    per_turn = rules.FRAMES_PER_TURN
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    seen_by_other_task: list[int] = []

    async def other_task() -> None:
        seen_by_other_task.append(len(parts.dispatched))

    asyncio.get_running_loop().create_task(other_task())
    total = per_turn * 2 + 5
    for n in range(total):
        receiver.on_ws_frame("transport", FakeFrame(trade(n)))
    assert len(parts.dispatched) == per_turn  # the rest waits for the next turn
    assert flow.calls == ["pause"]
    await settle(receiver)
    assert parts.prices() == [str(n) for n in range(total)]
    assert seen_by_other_task and seen_by_other_task[0] < total
    assert flow.calls == ["pause", "resume"]


async def test_early_messages_go_first(impl: ModuleType) -> None:
    parts, flow = Parts(), Flow()
    receiver = flow.receiver(impl, parts.path(impl))
    receiver.feed_later([trade(0), trade(1)])
    receiver.on_ws_frame("transport", FakeFrame(trade(2)))
    assert parts.dispatched == [] and receiver.draining
    await settle(receiver)
    receiver.feed_message(trade(3))
    assert parts.prices() == ["0", "1", "2", "3"]


def test_both_implementations_take_the_one_number_of_frames_per_turn() -> None:
    # The compiled loop reads its batch size from the shared rules module at import.
    assert _receive_py.FRAMES_PER_TURN is rules.FRAMES_PER_TURN


def test_the_compiled_path_is_selected_in_a_normal_install() -> None:
    if NO_EXTENSIONS:
        pytest.skip("extensions disabled on purpose")
    assert _frame_path_c is not None, "maicoin.ws._frames._frame_path_c did not build or load"
    assert _receive_c is not None, "maicoin.ws._io._receive_c did not build or load"
    assert frame_path.IMPLEMENTATION == "c" and receive.IMPLEMENTATION == "c"
    assert frame_path.FramePath is _frame_path_c.FramePath
    assert receive.PushReceiver is _receive_c.PushReceiver
