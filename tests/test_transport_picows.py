"""The picows transport on its own: keyword mapping, TLS, send/recv/close, 429, flow control.

The Stream's behaviour on it (reconnects, faults, dispatch modes) is covered by
test_stream_sim.py, which runs every test on each transport.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK

from maicoin.ws import Channel, Request, Subscription
from maicoin.ws._io.connect import retry_after
from maicoin.ws.testing import MaxSimulator

picows = pytest.importorskip("picows")
from streamkit import eventually  # noqa: E402

from maicoin.ws._io.picows import PicowsConnection, _Settings, picows_connect  # noqa: E402

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)


def settings(uri: str = "ws://127.0.0.1:1/ws", **options: Any) -> dict[str, Any]:
    return _Settings(uri, options).ws_connect_options


# ---------------------------------------------------------------- keywords


def test_the_keepalive_is_ours_not_picows_auto_ping() -> None:
    options = settings()
    assert "enable_auto_ping" not in options  # PicowsConnection.keep_alive pings instead
    assert options["max_frame_size"] == 2**20
    assert "ssl_context" not in options
    defaults = _Settings("ws://127.0.0.1:1/ws", {})
    # A ping every 20 s, well inside MAX's 60-s idle close, as with websockets.
    assert (defaults.ping_interval, defaults.ping_timeout) == (20, 20)
    custom = _Settings("ws://127.0.0.1:1/ws", {"ping_interval": None, "ping_timeout": None})
    assert (custom.ping_interval, custom.ping_timeout) == (None, None)


@pytest.mark.parametrize("keyword", ["ping_interval", "ping_timeout"])
def test_a_non_positive_ping_setting_is_refused(keyword: str) -> None:
    with pytest.raises(ValueError, match=keyword):
        settings(**{keyword: 0})


def test_wss_verifies_tls_with_the_system_trust_store() -> None:
    context = settings("wss://max-stream.maicoin.com/ws")["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    own = ssl.create_default_context()
    assert settings("wss://example/ws", ssl=own)["ssl_context"] is own


def test_websockets_keywords_are_translated_and_others_passed_on() -> None:
    options = settings(
        max_size=None,
        additional_headers={"X-Id": "1"},
        compression=None,
        read_buffer_init_size=4096,
    )
    assert options["max_frame_size"] == 2**63 - 1
    assert options["extra_headers"] == {"X-Id": "1"}
    assert options["read_buffer_init_size"] == 4096
    assert "compression" not in options and "max_size" not in options


def test_max_size_bounds_frames_in_picows_and_messages_here() -> None:
    assert _Settings("ws://x", {}).max_size == 2**20  # websockets' default
    assert _Settings("ws://x", {"max_size": 4096}).max_size == 4096
    assert settings(max_size=4096)["max_frame_size"] == 4096
    assert _Settings("ws://x", {"max_size": None}).max_size is None
    # websockets' (max_message_size, max_fragment_size) form.
    both = _Settings("ws://x", {"max_size": (4096, 1024)})
    assert both.max_size == 4096 and both.ws_connect_options["max_frame_size"] == 1024
    assert settings(max_size=(None, 1024))["max_frame_size"] == 1024
    assert settings(max_size=(4096, None))["max_frame_size"] == 4096


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compression": "deflate"}, "compression must be None"),
        ({"max_queue": 0}, "max_queue must be a positive int"),
        ({"max_size": 0}, "max_size must be a positive int"),
        ({"max_size": 1.5}, "max_size must be a positive int"),
        ({"max_size": (1024, -1)}, "max_size must be a positive int"),
        ({"ping_interval": 0}, "ping_interval must be positive"),
        ({"ping_timeout": -1}, "ping_timeout must be positive"),
        ({"ssl": "yes"}, "ssl must be an ssl.SSLContext"),
    ],
)
def test_bad_keywords_fail_before_connecting(options: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        picows_connect("ws://127.0.0.1:1/ws", **options)


def test_retry_after_understands_a_picows_refusal() -> None:
    refusal = picows.WSUpgradeResponse.create_error_response(
        429, extra_headers={"Retry-After": "1800000060"}
    )
    exc = picows.WSInvalidStatusError("refused", None, None, refusal)
    assert retry_after(exc, now=1_800_000_000) == 1_800_000_060
    other = picows.WSUpgradeResponse.create_error_response(503, extra_headers={"Retry-After": "5"})
    assert retry_after(picows.WSInvalidStatusError("down", None, None, other)) is None
    assert retry_after(picows.WSHandshakeError("no response")) is None


# ---------------------------------------------------------------- against the simulator


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.005, private_every=None, seed=3) as simulator:
        yield simulator


async def test_send_recv_and_a_clean_close(sim: MaxSimulator) -> None:
    async with picows_connect(sim.uri) as connection:
        assert isinstance(connection, PicowsConnection)
        await connection.send(Request.subscribe([TICKER]).message())
        first = await asyncio.wait_for(connection.recv(), 5)
        assert isinstance(first, bytes) and b'"subscribed"' in first
        second = await asyncio.wait_for(connection.recv(), 5)
        assert b'"ticker"' in second
        await connection.close()
        assert connection.closed
        with pytest.raises(ConnectionClosedOK):
            while True:  # messages buffered before the close come first
                await connection.recv()
        with pytest.raises(ConnectionClosed):
            await connection.send("{}")


async def test_a_server_close_1001_is_clean_and_an_abort_is_not(sim: MaxSimulator) -> None:
    async with picows_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        await asyncio.wait_for(connection.recv(), 5)
        await sim.connections[0].close(1001, "maintenance")
        with pytest.raises(ConnectionClosedOK) as closed:
            while True:
                await asyncio.wait_for(connection.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    async with picows_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        await asyncio.wait_for(connection.recv(), 5)
        sim.connections[0].abort()
        with pytest.raises(ConnectionClosedError):
            while True:
                await asyncio.wait_for(connection.recv(), 5)


async def test_a_429_refusal_carries_retry_after(sim: MaxSimulator) -> None:
    sim.refuse_handshakes(1, retry_after=1_800_000_060)
    with pytest.raises(picows.WSInvalidStatusError) as refused:
        async with picows_connect(sim.uri):
            pass
    assert retry_after(refused.value) == 1_800_000_060


async def test_recv_buffer_pauses_reading_at_max_queue(sim: MaxSimulator) -> None:
    async with picows_connect(sim.uri, max_queue=4) as connection:
        await connection.send(Request.subscribe([BOOK, TICKER]).message())
        listener = connection._listener
        await eventually(lambda: listener.read_paused, what="reading paused")
        buffered = len(listener.frames)
        await asyncio.sleep(0.05)
        assert len(listener.frames) == buffered  # nothing more is read meanwhile
        for _ in range(buffered):
            await connection.recv()
        assert not listener.read_paused
        await asyncio.wait_for(connection.recv(), 5)  # and the stream flows again
