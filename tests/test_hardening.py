"""Hostile input over a real loopback socket, on every transport: frames that do not decode
(nesting too deep, not UTF-8, wrong types) are counted, logged and skipped, and a message
longer than ``max_size`` closes the connection with 1009 instead of being assembled.

The pure-Python twins are covered when the suite runs with ``MAICOIN_WS_NO_EXTENSIONS=1``;
the twins are compared directly in test_transport_receive.py and test_fuzz.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from streamkit import FAST_RECONNECT, TRANSPORTS, Recorder, eventually, running, use_transport

from maicoin.ws import Channel, Stream, Subscription
from maicoin.ws.testing import MaxSimulator

BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")

DEEP = '{"e":"x","T":1,"z":' + "[" * 2000 + "]" * 2000 + "}"
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
