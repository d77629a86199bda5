"""Hostile input over a real loopback socket, on every transport: frames that do not decode
(nesting too deep, not UTF-8, wrong types) are counted, logged and skipped, and a message
longer than ``max_size`` closes the connection with 1009 instead of being assembled.

The pure-Python twins are covered when the suite runs with ``MAICOIN_WS_NO_EXTENSIONS=1``;
the twins are compared directly in test_transport_receive.py and test_fuzz.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, TRANSPORTS, Recorder, eventually, running, use_transport
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from maicoin.ws import Channel, Stream, Subscription
from maicoin.ws._io.connect import default_connect
from maicoin.ws._io.rules import refused_as_too_big
from maicoin.ws.testing import MaxSimulator

try:
    from maicoin.ws.transport_picows import picows_connect
except ImportError:  # pragma: no cover - without the fast extra
    picows_connect = None  # type: ignore[assignment]

BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")

DEEP = '{"e":"x","T":1,"z":' + "[" * 20_000 + "]" * 20_000 + "}"
BAD_FRAMES: list[str | bytes] = [
    DEEP,  # raised RecursionError out of decoding and dropped the connection
    DEEP.encode(),  # the same as a binary frame
    '{"c":"book","e":"update","M":"btcusdt","a":' + "[" * 5000,  # deep and truncated
    b'{"c":"ticker","e":"update","M":"\xff\xfe","T":1}',  # not UTF-8
    '{"c":"book","e":"update","M":"btcusdt","T":"soon"}',  # a wrong type
    '{"c":"book","e":"update","M":"btcusdt","T":1' + "9" * 400 + "}",  # a huge number
    "",  # empty
]


@pytest.fixture(params=TRANSPORTS, autouse=True)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    use_transport(name, monkeypatch)
    return name


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.01, private_every=None, seed=11) as simulator:
        yield simulator


def make_stream(sim: MaxSimulator) -> Stream:
    return Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)


# ---------------------------------------------------------------- frames that do not decode


async def test_frames_that_do_not_decode_are_counted_logged_and_skipped(
    sim: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    stream = make_stream(sim)
    stream.subscribe([BOOK, TICKER])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: stream.books["btcusdt"].synced, what="book synced")
        connection = sim.connections[0]
        for frame in BAD_FRAMES:
            connection.send_raw(frame)
        await eventually(
            lambda: stream.stats.decode_errors == len(BAD_FRAMES), what="every bad frame counted"
        )
        after = len(seen.responses)
        await eventually(lambda: len(seen.responses) > after + 3, what="frames after the bad ones")
        assert stream.books["btcusdt"].synced
    assert sim.handshakes == 1 and stream.stats.connections == 1
    assert stream.stats.reconnects == 0 and stream.stats.resyncs == 0
    assert stream.stats.decode_errors == len(BAD_FRAMES)
    dropped = [r for r in caplog.records if "does not decode" in r.getMessage()]
    assert len(dropped) == len(BAD_FRAMES)
    assert "nests too deeply" in dropped[0].getMessage()
    assert "UTF-8" in dropped[3].getMessage()
    assert all(len(r.getMessage()) < 800 for r in dropped)  # a bounded excerpt of each


# ---------------------------------------------------------------- one max_size per message

MAX_SIZE = 64 * 1024
FRAGMENT = "a" * (16 * 1024)
OVERSIZE = [FRAGMENT] * 128  # 2 MiB in 16 KiB fragments: each fragment is within max_size
TICKER_FRAME = (
    '{"c":"ticker","e":"update","M":"btcusdt","T":1700000000002,'
    '"tk":{"M":"btcusdt","O":"1","H":"2","L":"0.5","C":"1.5","v":"10","V":"0.1"}}'
)


class OversizeServer:
    """A websockets server whose first ``oversize_connections`` connections send a valid
    frame, then one fragmented message longer than ``MAX_SIZE``; later ones behave."""

    def __init__(self, oversize_connections: int = 1, *, whole: bool = False) -> None:
        self.oversize_connections = oversize_connections
        self.whole = whole  # one unfragmented frame instead
        self.close_codes: list[int | None] = []
        self.fragments_sent: list[int] = []
        self.uri = ""

    async def handler(self, connection: ServerConnection) -> None:
        number = len(self.close_codes)
        self.close_codes.append(None)
        await connection.send(TICKER_FRAME)
        if number < self.oversize_connections:
            sent = 0

            def fragments() -> Iterator[str]:
                nonlocal sent
                for fragment in OVERSIZE:
                    sent += 1
                    yield fragment

            with contextlib.suppress(ConnectionClosed):
                await connection.send("".join(OVERSIZE[:8]) if self.whole else fragments())
            self.fragments_sent.append(sent)
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(0.01)
                await connection.send(TICKER_FRAME)
        self.close_codes[number] = connection.close_code

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[OversizeServer]:
        async with serve(self.handler, "127.0.0.1", 0, max_size=None) as server:
            self.uri = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws"
            yield self


def connect_factory(transport: str) -> Any:
    if transport == "picows":
        return picows_connect
    return default_connect


@pytest.mark.parametrize("whole", [False, True], ids=["fragmented", "one-frame"])
async def test_recv_closes_with_1009_on_a_message_over_max_size(
    transport: str, whole: bool
) -> None:
    async with OversizeServer(whole=whole).running() as server:
        async with connect_factory(transport)(server.uri, max_size=MAX_SIZE) as connection:
            assert await connection.recv() in (TICKER_FRAME, TICKER_FRAME.encode())
            with pytest.raises(ConnectionClosedError) as caught:
                await asyncio.wait_for(connection.recv(), 10)
        await eventually(lambda: server.close_codes[0] is not None, what="server saw the close")
    assert caught.value.sent is not None and caught.value.sent.code == 1009
    assert server.close_codes == [1009]
    assert refused_as_too_big(caught.value) is not None


async def test_a_message_under_max_size_in_fragments_is_joined(transport: str) -> None:
    async def handler(connection: ServerConnection) -> None:
        parts = [TICKER_FRAME[i : i + 40] for i in range(0, len(TICKER_FRAME), 40)]
        await connection.send(iter(parts))
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        uri = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws"
        async with connect_factory(transport)(uri, max_size=256) as connection:
            message = await asyncio.wait_for(connection.recv(), 10)
    assert (message if isinstance(message, str) else message.decode()) == TICKER_FRAME


@pytest.mark.parametrize("whole", [False, True], ids=["fragmented", "one-frame"])
async def test_the_stream_closes_with_1009_counts_logs_and_reconnects(
    whole: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    async with OversizeServer(whole=whole).running() as server:
        stream = Stream(
            uri=server.uri,
            reconnect_policy=FAST_RECONNECT,
            max_size=MAX_SIZE,
        )
        seen = Recorder()
        stream.add_handler(seen)
        async with running(stream):
            await eventually(lambda: stream.stats.connections >= 2, what="a reconnect")
            await eventually(lambda: len(seen.responses) >= 4, what="frames after it")
        await eventually(lambda: None not in server.close_codes, what="server saw the closes")
    assert server.close_codes[0] == 1009
    assert stream.stats.decode_errors == 1 and stream.stats.reconnects >= 1
    assert all(r.channel is Channel.TICKER for r in seen.responses)
    refused = [r.getMessage() for r in caplog.records if "1009" in r.getMessage()]
    assert any("longer than max_size" in text for text in refused), refused


async def test_the_default_max_size_is_one_mib_on_every_transport(transport: str) -> None:
    async def handler(connection: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await connection.send(iter(["a" * 2**18] * 5))  # 1.25 MiB in 256 KiB fragments
            await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        uri = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws"
        async with connect_factory(transport)(uri) as connection:
            with pytest.raises(ConnectionClosedError) as caught:
                await asyncio.wait_for(connection.recv(), 10)
    assert caught.value.sent is not None and caught.value.sent.code == 1009
