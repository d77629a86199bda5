"""The stream's lifecycle over real loopback sockets: stop() and aclose() honoured in every
state, errors classified (permanent ones fail fast), and the log saying what happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, TRANSPORTS, eventually, use_transport

from maicoin.ws import Channel, HandshakeError, ReconnectPolicy, Response, Stream, Subscription
from maicoin.ws.stream import StreamState
from maicoin.ws.testing import Faults, MaxSimulator

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
# A bound on "promptly": far above what any stop takes, far below a hang.
PROMPT = 5.0


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    use_transport(name, monkeypatch)
    return name


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.002) as simulator:
        yield simulator


@contextlib.asynccontextmanager
async def tcp_server(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A loopback TCP server that runs ``answer`` per connection; yields its ws:// URI."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await answer(reader, writer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.close()
        await server.wait_closed()


def http_answer(status: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nno".encode()
        )
        await writer.drain()

    return answer


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # holds the handshake until the client gives up


# -- stop() and aclose() in every state --------------------------------------------------------


async def test_a_stop_before_the_run_started_is_honoured(sim: MaxSimulator, transport: str) -> None:
    stream = Stream(uri=sim.uri)
    stream.subscribe([TICKER])
    task = asyncio.get_running_loop().create_task(stream.arun())
    stream.stop()
    await asyncio.wait_for(task, PROMPT)
    assert sim.all_connections == [] and stream.state is StreamState.CLOSED
    # The stop was consumed by that run: the next one connects.
    async with stream:
        await eventually(lambda: stream.connected, what="the second run to connect")


async def test_aclose_before_the_run_started_returns_and_the_run_never_connects(
    sim: MaxSimulator, transport: str
) -> None:
    stream = Stream(uri=sim.uri)
    task = asyncio.get_running_loop().create_task(stream.arun())
    await asyncio.wait_for(stream.aclose(), PROMPT)
    await asyncio.wait_for(task, PROMPT)
    assert sim.all_connections == []


async def test_stop_during_a_handshake_that_never_completes(transport: str) -> None:
    hung_up = asyncio.Event()

    async def wait_for_the_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await never_answer(reader, writer)
        hung_up.set()

    async with tcp_server(wait_for_the_end) as uri:
        stream = Stream(uri=uri, open_timeout=60)
        async with stream:
            await eventually(lambda: stream.state is StreamState.CONNECTING, what="connecting")
            await asyncio.sleep(0.05)
            await asyncio.wait_for(stream.aclose(), PROMPT)
        assert stream.state is StreamState.CLOSED and stream.stats.connections == 0
        # The abandoned connection is hung up now, not at the end of the open timeout.
        await asyncio.wait_for(hung_up.wait(), PROMPT)


async def test_aclose_during_backoff_returns_at_once(transport: str) -> None:
    async with tcp_server(http_answer("503 Service Unavailable")) as uri:
        stream = Stream(uri=uri, reconnect_policy=ReconnectPolicy(base_delay=60, jitter=0))
        async with stream:
            await eventually(lambda: stream.state is StreamState.BACKING_OFF, what="backoff")
            await asyncio.wait_for(stream.aclose(), PROMPT)
        assert stream.state is StreamState.CLOSED


async def test_aclose_does_not_swallow_the_callers_cancellation(sim: MaxSimulator) -> None:
    release = asyncio.Event()

    async def slow_goodbye(_: BaseException | None) -> None:
        await release.wait()

    stream = Stream(uri=sim.uri, on_disconnected=slow_goodbye)
    stream.subscribe([TICKER])
    run = asyncio.get_running_loop().create_task(stream.arun())
    await eventually(lambda: stream.connected, what="connected")
    closer = asyncio.get_running_loop().create_task(stream.aclose())
    await asyncio.sleep(0.05)
    assert not closer.done()  # waiting for the run, held by on_disconnected
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    release.set()
    await asyncio.wait_for(run, PROMPT)


async def test_no_handler_call_after_stop_returns_from_inside_a_handler(
    sim: MaxSimulator, transport: str
) -> None:
    calls: list[int] = []
    stream = Stream(uri=sim.uri)

    def handler(response: Response) -> None:
        calls.append(1)
        if len(calls) == 3:
            stream.stop()

    stream.add_handler(handler)
    stream.add_handler(lambda response: calls.append(2))
    stream.subscribe([TICKER, BOOK])
    await asyncio.wait_for(stream.arun(), PROMPT)
    # The second frame's first handler stopped the stream: not even the second handler of
    # that frame is called after it.
    assert calls == [1, 2, 1]


async def test_stop_under_a_flood_with_a_slow_async_inline_handler(
    sim: MaxSimulator, transport: str
) -> None:
    calls = 0
    stream = Stream(uri=sim.uri)

    async def slow(response: Response) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)

    stream.add_handler(slow)
    stream.subscribe([TICKER, BOOK])
    async with stream:
        await eventually(lambda: calls >= 3, what="a few handler calls")
        stream.stop()
        at_stop = calls
        await asyncio.wait_for(stream.aclose(), PROMPT)
    assert calls == at_stop


async def test_stop_in_task_mode_at_the_task_limit_cancels_the_pending_tasks(
    sim: MaxSimulator, transport: str
) -> None:
    started = 0
    cancelled = 0

    async def endless(response: Response) -> None:
        nonlocal started, cancelled
        started += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise

    stream = Stream(uri=sim.uri, dispatch="task", max_pending_tasks=4)
    stream.add_handler(endless)
    stream.subscribe([TICKER, BOOK])
    async with stream:
        await eventually(lambda: started >= 4, what="the task limit reached")
        await asyncio.sleep(0.05)  # the reader now waits for room that never comes
        await asyncio.wait_for(stream.aclose(), PROMPT)
    assert started == 4 and cancelled == 4


@pytest.mark.parametrize("seed", range(4))
async def test_stops_at_random_moments_of_a_streams_life(
    transport: str, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Hundreds of schedules: start, let it live a random while (with drops and refusals
    interleaved), stop or aclose, and check it ends promptly with no handler call after."""
    rng = random.Random(seed)
    faults = Faults(abort_after_frames=7) if seed % 2 else Faults(close_after_seconds=0.01)
    async with MaxSimulator(update_interval=0.002, faults=faults, seed=seed) as sim:
        for _ in range(60):
            after_stop: list[Response] = []
            stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)

            def handler(
                response: Response, stream: Stream = stream, seen: list[Response] = after_stop
            ) -> None:
                if stream.state in (StreamState.CLOSING, StreamState.CLOSED):
                    seen.append(response)

            stream.add_handler(handler)
            subs = [TICKER, BOOK]
            if rng.random() < 0.3:
                subs.append(Subscription(channel=Channel.TICKER, market="nosuchusdt"))
            stream.subscribe(subs)
            how = rng.choice(["task-then-stop", "context", "arun-then-aclose"])
            if how == "task-then-stop":
                task = asyncio.get_running_loop().create_task(stream.arun())
                await asyncio.sleep(rng.uniform(0, 0.03))
                stream.stop()
                await asyncio.wait_for(task, PROMPT)
            elif how == "context":
                async with stream:
                    await asyncio.sleep(rng.uniform(0, 0.03))
                    await asyncio.wait_for(stream.aclose(), PROMPT)
            else:
                task = asyncio.get_running_loop().create_task(stream.arun())
                await asyncio.sleep(rng.uniform(0, 0.03))
                await asyncio.wait_for(stream.aclose(), PROMPT)
                await asyncio.wait_for(task, PROMPT)
            assert stream.state is StreamState.CLOSED
            assert after_stop == []


# -- errors classified --------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["not a uri", "http://example.com/ws", "ws://", "ws://h:port/"])
def test_a_malformed_uri_is_refused_when_the_stream_is_built(uri: str) -> None:
    with pytest.raises(ValueError, match="uri is not a WebSocket URI") as caught:
        Stream(uri=uri)
    assert repr(uri) in str(caught.value)


def test_a_malformed_max_ws_uri_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_WS_URI", "localhost:9000")
    with pytest.raises(ValueError, match="MAX_WS_URI is not a WebSocket URI"):
        Stream()


@pytest.mark.parametrize("status", ["200 OK", "404 Not Found", "400 Bad Request", "403 Forbidden"])
async def test_an_endpoint_that_is_not_a_websocket_fails_fast(status: str, transport: str) -> None:
    failures: list[BaseException | None] = []
    reconnecting: list[BaseException | None] = []
    async with tcp_server(http_answer(status)) as uri:
        stream = Stream(
            uri=uri,
            reconnect_policy=FAST_RECONNECT,
            on_permanent_failure=failures.append,
            on_reconnecting=reconnecting.append,
        )
        with pytest.raises(HandshakeError, match=f"HTTP {status[:3]}") as caught:
            await asyncio.wait_for(stream.arun(), PROMPT)
    assert failures == [caught.value] and reconnecting == []
    assert uri in str(caught.value) and "not a WebSocket endpoint" in str(caught.value)


async def test_a_peer_that_does_not_speak_http_fails_fast() -> None:
    # websockets only: picows reads a reply without a blank line until EOF and then reports
    # the connection as open (upstream behaviour), so it only sees an immediate close.
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n" * 4)
        await writer.drain()
        await asyncio.sleep(0.5)

    async with tcp_server(garbage) as uri:
        stream = Stream(uri=uri, reconnect_policy=FAST_RECONNECT)
        with pytest.raises(HandshakeError):
            await asyncio.wait_for(stream.arun(), PROMPT)


async def test_a_server_error_is_transient_and_retried(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with tcp_server(http_answer("503 Service Unavailable")) as uri:
        stream = Stream(
            uri=uri, reconnect_policy=ReconnectPolicy(max_retries=2, base_delay=0.01, jitter=0)
        )
        with (
            caplog.at_level(logging.WARNING, logger="maicoin.ws"),
            pytest.raises(Exception) as caught,
        ):
            await asyncio.wait_for(stream.arun(), PROMPT)
    assert not isinstance(caught.value, HandshakeError)
    assert "could not connect to " + uri in caplog.text
    assert "disconnected" not in caplog.text


async def test_the_log_says_disconnected_only_about_an_open_connection(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with MaxSimulator(faults=Faults(close_after_frames=3)) as sim:
        stream = Stream(uri=sim.uri, reconnect_policy=FAST_RECONNECT)
        stream.subscribe([TICKER])
        with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
            async with stream:
                await eventually(lambda: stream.stats.reconnects >= 1, what="a reconnect")
    assert f"disconnected from {sim.uri}" in caplog.text
    assert "could not connect" not in caplog.text
