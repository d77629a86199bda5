"""picows' listener in both implementations: the compiled one, which reads picows' frames in
C, and its Python twin. Each test gets the compiled listener with the compiled receive path,
then the twin with the pure-Python path; frames are real picows ``WSFrame`` objects."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import picows
import pytest
from picows import WSListener, WSMsgType
from picows.picows import _make_test_ws_frame
from streamkit import use_transport
from twins import compiled, twin_fixture

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws._extensions import NO_EXTENSIONS
from maicoin.ws._frames import _frame_path_py
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._io import _picows_listener_py, _receive_py, picows_listener
from maicoin.ws._io import picows as picows_io
from maicoin.ws._io.rules import MessageTooBig
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing.blast import BlastServer, start_blast_server

_picows_listener_c = compiled("_io._picows_listener_c")
_frame_path_c = compiled("_frames._frame_path_c")
_receive_c = compiled("_io._receive_c")


def _kit(listener: ModuleType | None, path: ModuleType | None, receive: ModuleType | None) -> Any:
    """One implementation: its listener with the FramePath and receiver it works with."""
    if listener is None or path is None or receive is None:
        return None
    return SimpleNamespace(
        FrameListener=listener.FrameListener,
        FramePath=path.FramePath,
        PushReceiver=receive.PushReceiver,
    )


impl = twin_fixture(
    _kit(_picows_listener_c, _frame_path_c, _receive_c),
    _kit(_picows_listener_py, _frame_path_py, _receive_py),
)

BLAST_FRAMES = 3_000
TRADE = (
    b'{"c":"trade","e":"update","M":"btcusdt","T":1700000000004,'
    b'"t":[{"p":"101.5","v":"1","T":1700000000004,"tr":"up"}]}'
)


def frame(payload: bytes, kind: WSMsgType = WSMsgType.TEXT, fin: bool = True) -> Any:
    return _make_test_ws_frame(kind, payload, fin, False)


@dataclass
class Owner:
    """The connection's own callbacks (``picows._Listener``'s three), recording calls."""

    calls: list[tuple[str, Any]] = field(default_factory=list)

    def on_ws_connected(self, transport: Any) -> None:
        self.calls.append(("connected", transport))

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        self.calls.append(("frame", frame.get_payload_as_bytes()))

    def on_ws_disconnected(self, transport: Any) -> None:
        self.calls.append(("disconnected", transport))


@dataclass
class Receiving:
    """A receiver on a FramePath, recording what reaches the handler and the transport."""

    impl: Any
    max_size: int | None = None
    dispatched: list[Response] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    controls: list[bytes] = field(default_factory=list)
    stats: StreamStats = field(default_factory=StreamStats)

    def receiver(self) -> Any:
        path = self.impl.FramePath(
            decode=make_decoder(),
            stats=self.stats,
            apply_book=lambda response: None,
            dispatch=self.dispatched.append,
            request_resync=lambda market: None,
            on_control=lambda response: None,
        )
        return self.impl.PushReceiver(
            path,
            pause_reading=lambda: None,
            resume_reading=lambda: None,
            on_failure=self.failures.append,
            on_control=lambda transport, frame: self.controls.append(frame.get_payload_as_bytes()),
            text_kind=WSMsgType.TEXT,
            binary_kind=WSMsgType.BINARY,
            continuation_kind=WSMsgType.CONTINUATION,
            max_size=self.max_size,
        )


def test_it_is_a_picows_listener(impl: Any) -> None:
    assert issubclass(impl.FrameListener, WSListener)


def test_before_attach_every_callback_reaches_the_owner(impl: Any) -> None:
    owner = Owner()
    listener = impl.FrameListener(owner)
    listener.on_ws_connected(None)
    listener.on_ws_frame(None, frame(TRADE))
    listener.on_ws_frame(None, frame(b"ping", WSMsgType.PING))
    listener.on_ws_disconnected(None)
    assert owner.calls == [
        ("connected", None),
        ("frame", TRADE),
        ("frame", b"ping"),
        ("disconnected", None),
    ]


async def test_after_attach_messages_reach_the_handler_inside_the_callback(impl: Any) -> None:
    owner, receiving = Owner(), Receiving(impl)
    listener = impl.FrameListener(owner)
    listener.attach(receiving.receiver())
    listener.on_ws_frame(None, frame(TRADE))
    assert [r.trades[0].price for r in receiving.dispatched] == ["101.5"]
    listener.on_ws_frame(None, frame(TRADE, WSMsgType.BINARY))
    assert len(receiving.dispatched) == 2 and receiving.stats.messages == 2
    listener.on_ws_disconnected(None)
    assert owner.calls == [("disconnected", None)]  # frames no longer go to the owner


async def test_after_attach_fragments_are_joined_and_control_frames_reach_the_transport(
    impl: Any,
) -> None:
    receiving = Receiving(impl)
    listener = impl.FrameListener(Owner())
    listener.attach(receiving.receiver())
    listener.on_ws_frame(None, frame(TRADE[:20], WSMsgType.TEXT, fin=False))
    listener.on_ws_frame(None, frame(TRADE[20:90], WSMsgType.CONTINUATION, fin=False))
    assert receiving.dispatched == []
    listener.on_ws_frame(None, frame(b"hello", WSMsgType.PING))
    listener.on_ws_frame(None, frame(TRADE[90:], WSMsgType.CONTINUATION))
    assert [r.trades[0].price for r in receiving.dispatched] == ["101.5"]
    listener.on_ws_frame(None, frame(b"\x03\xe8", WSMsgType.CLOSE))
    assert receiving.controls == [b"hello", b"\x03\xe8"]


async def test_after_attach_a_message_over_max_size_is_refused_undecoded(impl: Any) -> None:
    receiving = Receiving(impl, max_size=len(TRADE))
    listener = impl.FrameListener(Owner())
    listener.attach(receiving.receiver())
    listener.on_ws_frame(None, frame(TRADE))  # exactly max_size: handled
    listener.on_ws_frame(None, frame(TRADE + b" "))
    listener.on_ws_frame(None, frame(TRADE))  # after the refusal nothing more is handled
    (failure,) = receiving.failures
    assert isinstance(failure, MessageTooBig) and failure.size == len(TRADE) + 1
    assert len(receiving.dispatched) == 1 and receiving.stats.messages == 1


def test_the_listener_forwards_every_callback_the_connection_overrides() -> None:
    # A callback picows_io._Listener overrides but FrameListener does not forward would
    # silently fall back to WSListener's default.
    overridden = {
        name
        for name, value in vars(picows_io._Listener).items()
        if name.startswith(("on_ws_", "pause_", "resume_", "is_user_", "send_user_"))
        and callable(value)
        and hasattr(WSListener, name)
    }
    assert overridden == {"on_ws_connected", "on_ws_frame", "on_ws_disconnected"}


# ---------------------------------------------------------------- selection


def test_the_compiled_listener_is_selected_for_the_picows_it_was_built_for() -> None:
    if NO_EXTENSIONS:
        pytest.skip("extensions disabled on purpose")
    assert _picows_listener_c is not None, "maicoin.ws._io._picows_listener_c did not build"
    assert picows.__version__ == _picows_listener_c.BUILT_FOR_PICOWS
    assert picows_listener.IMPLEMENTATION == "c"
    assert picows_io.FrameListener is _picows_listener_c.FrameListener


@pytest.fixture
def reselect(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run the selector again (under the caller's patches); the original choice after."""
    yield lambda: importlib.reload(picows_listener)
    monkeypatch.undo()
    importlib.reload(picows_listener)


def test_another_picows_release_gets_the_python_listener(
    monkeypatch: pytest.MonkeyPatch, reselect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if _picows_listener_c is None or NO_EXTENSIONS:
        pytest.skip("compiled listener not built or extensions disabled")
    monkeypatch.setattr(picows, "__version__", "0.0.1")
    with caplog.at_level("DEBUG", logger="maicoin.ws"):
        selector = reselect()
    assert selector.IMPLEMENTATION == "py"
    assert selector.FrameListener is _picows_listener_py.FrameListener
    built = _picows_listener_c.BUILT_FOR_PICOWS
    assert f"built for picows {built}, not 0.0.1: using the Python one" in caplog.text


# ---------------------------------------------------------------- over loopback


@pytest.fixture(scope="module")
def blast() -> Iterator[BlastServer]:
    with start_blast_server(BLAST_FRAMES, depth=50) as server:
        yield server


@pytest.mark.parametrize("listener", ["compiled", "python"])
async def test_a_blast_over_picows_keeps_the_exact_book_through_either_listener(
    listener: str, blast: BlastServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _picows_listener_c if listener == "compiled" else _picows_listener_py
    if module is None or (module is _picows_listener_c and NO_EXTENSIONS):
        pytest.skip("compiled listener not built or extensions disabled")
    use_transport("picows", monkeypatch)
    made: list[object] = []

    def frame_listener(owner: Any) -> Any:
        made.append(module.FrameListener(owner))
        return made[-1]

    monkeypatch.setattr(picows_io, "FrameListener", frame_listener)
    received: list[Response] = []
    stream = Stream(uri=blast.uri, reconnect=False)
    stream.add_handler(received.append)
    stream.subscribe([Subscription(channel=Channel.BOOK, market=blast.market, depth=blast.depth)])
    try:
        await asyncio.wait_for(stream.arun(), 30)
    finally:
        await stream.aclose()
    assert [type(one) for one in made] == [module.FrameListener]
    assert received[0].event == "subscribed" and len(received) == BLAST_FRAMES + 1
    assert stream.stats.messages == BLAST_FRAMES + 1 and stream.stats.decode_errors == 0
    book = stream.books[blast.market]
    assert stream.stats.resyncs == 0 and book.synced
    for side in ("asks", "bids"):
        levels = getattr(book, side)(blast.depth)
        assert [[lv.price_text, lv.volume_text] for lv in levels] == blast.final_book[side]
    blast.next_result(timeout=5)
