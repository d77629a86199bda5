"""Stream against the simulator over a real loopback socket: the documented behaviour and
every fault the simulator can inject, with subscriptions and auth restored afterwards."""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, Recorder, eventually, running, use_transport

from maicoin.ws import (
    AuthenticationError,
    Channel,
    Event,
    Filter,
    ReconnectPolicy,
    Response,
    Stream,
    Subscription,
)
from maicoin.ws import stream as stream_module
from maicoin.ws._frames import _dispatch_py
from maicoin.ws.ratelimit import RequestRateLimiter
from maicoin.ws.testing import Faults, ManualClock, MaxSimulator

try:
    from maicoin.ws._frames import _dispatch_c
except ImportError:  # pragma: no cover - pure-Python build
    _dispatch_c = None  # type: ignore[assignment]

KEY, SECRET = "test-key", "test-secret-do-not-log-4f1b9c"
BOOK = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
TRADE = Subscription(channel=Channel.TRADE, market="btcusdt")


@pytest.fixture(
    params=[
        ("c-extension-module", "websockets"),
        ("pure-python-module", "websockets"),
        ("c-extension-module", "picows"),
    ],
    ids="-".join,
    autouse=True,
    name="dispatcher_impl",
)
def _dispatcher_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every stream test with both dispatcher implementations on websockets, and with
    the compiled one on each other transport."""
    impl, transport = request.param
    if impl == "c-extension-module":
        if _dispatch_c is None:
            pytest.skip("compiled dispatcher not built")
        monkeypatch.setattr(stream_module, "Dispatcher", _dispatch_c.Dispatcher)
    else:
        monkeypatch.setattr(stream_module, "Dispatcher", _dispatch_py.Dispatcher)
    use_transport(transport, monkeypatch)
    return str(impl)


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(
        api_keys={KEY: SECRET}, update_interval=0.01, private_every=None, seed=7
    ) as simulator:
        yield simulator


def make_stream(sim: MaxSimulator, **kwargs: Any) -> Stream:
    kwargs.setdefault("reconnect_policy", FAST_RECONNECT)
    return Stream(uri=sim.uri, **kwargs)


# ---------------------------------------------------------------- documented behaviour


async def test_public_channels_of_the_guide(sim: MaxSimulator) -> None:
    stream = make_stream(sim)
    stream.subscribe(
        [
            BOOK,
            TICKER,
            TRADE,
            Subscription(channel=Channel.KLINE, market="btcusdt"),
            Subscription(channel=Channel.MARKET_STATUS),
        ]
    )
    seen = Recorder()
    dumps: list[dict[str, Any]] = []
    stream.add_handler(seen)
    stream.add_handler(lambda r: dumps.append(r.model_dump(exclude_none=True)))
    wanted = {"book", "ticker", "trade", "kline", "market_status"}
    async with running(stream):
        await eventually(
            lambda: wanted <= {str(r.channel) for r in seen.responses}, what="every channel"
        )
    assert seen.responses[0].event == Event.SUBSCRIBED
    assert {s.channel for s in seen.responses[0].subscriptions or []} == {
        Channel.BOOK, Channel.TICKER, Channel.TRADE, Channel.KLINE, Channel.MARKET_STATUS,
    }  # fmt: skip
    snapshot = seen.having("snapshot", "book")[0]
    assert len(snapshot.asks or []) == 5 and len(snapshot.bids or []) == 5
    assert all(None not in d.values() for d in dumps)
    assert len(dumps) == len(seen.responses)
    assert stream.stats.messages >= len(seen.responses) and stream.stats.connections == 1


async def test_private_channels_the_seed_way(sim: MaxSimulator) -> None:
    stream = make_stream(sim, api_key=KEY, api_secret=SECRET)
    stream.subscribe(
        [
            Subscription(channel=Channel.ORDER),
            Subscription(channel=Channel.TRADE_UPDATE),
            Subscription(channel=Channel.BALANCE_UPDATE),
        ]
    )
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: seen.having("authenticated"), what="authenticated")
        sim.place_order(KEY, "btcusdt", "bid", "30000.0", "0.5")
        await eventually(lambda: seen.having("trade_update"), what="trade_update")
        await eventually(lambda: len(seen.having("account_update")) >= 2, what="account updates")
    (auth,) = [r for r in sim.requests if r.action == "auth"]
    assert auth.message is not None
    assert auth.message["filters"] == ["order", "trade_update", "account"]
    assert not [r for r in sim.requests if r.action == "sub"]  # never sent as sub
    events = set(seen.events())
    assert {"order_snapshot", "account_snapshot", "order_update", "account_update"} <= events
    assert "trade_snapshot" not in events  # trade_update filter: no initial snapshot
    order = seen.having("order_update")[0].orders[0]  # type: ignore[index]
    assert order.market == "btcusdt" and float(order.price) == 30000.0


async def test_auth_filters_way_and_queue_dispatch(sim: MaxSimulator) -> None:
    queue: asyncio.Queue[Response] = asyncio.Queue()
    stream = make_stream(
        sim,
        api_key=KEY,
        api_secret=SECRET,
        auth_filters=[Filter.ACCOUNT],
        dispatch="queue",
        response_queue=queue,
    )
    stream.add_handler(lambda r: pytest.fail("queue mode must ignore handlers"))
    async with running(stream):
        first = await asyncio.wait_for(queue.get(), 5)
        second = await asyncio.wait_for(queue.get(), 5)
    assert [first.event, second.event] == [Event.AUTHENTICATED, Event.ACCOUNT_SNAPSHOT]
    assert second.balances and {b.currency for b in second.balances} >= {"btc", "usdt"}


async def test_task_dispatch_with_async_handlers_and_on_handler_error(sim: MaxSimulator) -> None:
    errors: list[tuple[BaseException, Response]] = []
    done: list[Response] = []

    async def slow(response: Response) -> None:
        await asyncio.sleep(0.01)
        done.append(response)

    def broken(response: Response) -> None:
        raise RuntimeError("handler bug")

    stream = make_stream(sim, dispatch="task", on_handler_error=lambda e, r: errors.append((e, r)))
    stream.subscribe([TICKER])
    stream.add_handler(slow)
    stream.add_handler(broken)
    async with running(stream) as task:
        await eventually(lambda: len(done) >= 3 and len(errors) >= 3, what="handlers ran")
        assert not task.done()
    assert isinstance(errors[0][0], RuntimeError) and isinstance(errors[0][1], Response)
    assert stream.stats.handler_errors >= 3
    assert sim.handshakes == 1


async def test_handler_exception_surfaces_from_arun_without_reconnect(
    sim: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream(sim)
    stream.subscribe([TICKER])

    def handler(response: Response) -> None:
        if response.channel == Channel.TICKER:
            raise ZeroDivisionError("bad strategy math")

    stream.add_handler(handler)
    with pytest.raises(ZeroDivisionError, match="bad strategy math"):
        await asyncio.wait_for(stream.arun(), 5)
    assert sim.handshakes == 1 and stream.stats.reconnects == 0
    assert "handler raised" in caplog.text


async def test_async_with_and_async_for(sim: MaxSimulator) -> None:
    stream = make_stream(sim)
    stream.subscribe([BOOK])
    received: list[Response] = []
    async with stream:
        async for response in stream:
            received.append(response)
            if len(received) == 5:
                break
    assert received[0].event == Event.SUBSCRIBED
    assert [r.event for r in received[1:3]] == [Event.SNAPSHOT, Event.UPDATE]
    assert not stream.connected
    await eventually(lambda: not sim.connections, what="server saw the close")


async def test_stop_leaves_no_task_or_socket_behind(sim: MaxSimulator) -> None:
    before = asyncio.all_tasks()
    pending = asyncio.Event()

    async def never_finishes(response: Response) -> None:
        await pending.wait()

    stream = make_stream(sim, dispatch="task")
    stream.subscribe([TICKER, BOOK])
    stream.add_handler(never_finishes)
    async with running(stream) as task:
        await eventually(lambda: stream.stats.messages > 10, what="traffic")
    assert task.done() and task.exception() is None
    # The client's tasks are gone now; the simulator's own (its side of the connection,
    # winding down after the close) are the server's business and may still be ending.
    leftover = {t for t in asyncio.all_tasks() - before if not t.done() and not _serves(t)}
    assert leftover == set(), leftover
    await eventually(lambda: not sim.connections, what="socket closed on the server")


def _serves(task: asyncio.Task[Any]) -> bool:
    """A task of the simulator's server: its connection handler or one of its own tasks."""
    code = getattr(task.get_coro(), "cr_code", None)
    if code is None:
        return False
    return code.co_qualname == "serve.<locals>.protocol_handler" or (
        "/maicoin/ws/testing/" in code.co_filename.replace("\\", "/")
    )


async def test_live_subscribe_and_unsubscribe_are_replayed_correctly(sim: MaxSimulator) -> None:
    stream = make_stream(sim)
    stream.subscribe([TICKER])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: seen.having("snapshot", "ticker"), what="ticker")
        stream.subscribe([BOOK])
        await eventually(lambda: seen.having("snapshot", "book"), what="live book subscribe")
        stream.unsubscribe([TICKER])
        await eventually(lambda: seen.having("unsubscribed"), what="unsubscribed")
        unsub = next(r for r in sim.requests if r.action == "unsub").message
        assert unsub is not None and unsub["subscription"] == [
            {"channel": "ticker", "market": "btcusdt"}
        ]
        assert "subscriptions" not in unsub
        sim.connections[0].abort()
        await eventually(lambda: stream.stats.connections == 2, what="reconnect")
        await eventually(lambda: len(seen.having("subscribed")) == 3, what="replayed sub")
    replay = [r for r in sim.requests if r.action == "sub" and r.connection_id != 0][-1].message
    assert replay is not None and replay["subscriptions"] == [
        {"channel": "book", "market": "btcusdt", "depth": 5}
    ]


# ---------------------------------------------------------------- auth on every connection


async def test_every_connection_authenticates_with_a_fresh_nonce(sim: MaxSimulator) -> None:
    stream = make_stream(sim, api_key=KEY, api_secret=SECRET)
    stream.subscribe([TICKER])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        for expected in (1, 2, 3):
            await eventually(lambda n=expected: len(seen.having("authenticated")) == n)  # type: ignore[misc]
            sim.connections[0].abort() if expected < 3 else None
    nonces = [r.message["nonce"] for r in sim.requests if r.action == "auth" and r.message]
    assert len(nonces) == 3 and len(set(nonces)) == 3
    assert not seen.having("error")
    assert len(seen.having("subscribed")) == 3  # subscriptions restored each time


async def test_reconnect_31_seconds_later_still_authenticates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock()
    # The client's nonce clock follows the same simulated time as the server's.
    fake_time = types.SimpleNamespace(time_ns=lambda: int(clock() * 1e9), time=clock)
    monkeypatch.setattr("maicoin.ws.request.time", fake_time)
    async with MaxSimulator(
        api_keys={KEY: SECRET}, update_interval=0.01, clock=clock, private_every=None
    ) as sim:
        stream = make_stream(sim, api_key=KEY, api_secret=SECRET)
        seen = Recorder()
        stream.add_handler(seen)
        async with running(stream):
            await eventually(lambda: seen.having("authenticated"), what="first auth")
            clock.advance(31)
            sim.connections[0].abort()
            await eventually(lambda: len(seen.having("authenticated")) == 2, what="second auth")
        assert not seen.having("error")
        first, second = (r.message for r in sim.requests if r.action == "auth")
        assert first is not None and second is not None
        assert second["nonce"] - first["nonce"] >= 31_000


async def test_rejected_credentials_are_permanent(
    sim: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[BaseException | None] = []
    reconnecting: list[BaseException | None] = []
    stream = make_stream(
        sim,
        api_key=KEY,
        api_secret="wrong-secret-also-private",
        on_permanent_failure=failures.append,
        on_reconnecting=reconnecting.append,
    )
    stream.subscribe([TICKER])
    with pytest.raises(AuthenticationError, match="E-1007") as raised:
        await asyncio.wait_for(stream.arun(), 5)
    assert failures == [raised.value]
    assert reconnecting == [] and sim.handshakes == 1
    for text in (caplog.text, str(raised.value), repr(stream)):
        assert "wrong-secret-also-private" not in text and SECRET not in text


# ---------------------------------------------------------------- reconnect behaviour


def record_backoff(stream: Stream, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record each backoff delay the stream asks for, and sleep only 1 ms instead."""
    slept: list[float] = []
    real_sleep = stream._session._sleep

    async def record(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0.001)

    monkeypatch.setattr(stream._session, "_sleep", record)
    return slept


async def test_http_429_waits_until_retry_after(
    sim: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maicoin.ws")
    retry_at = time.time() + 1.2
    sim.refuse_handshakes(1, retry_after=retry_at)
    connected_at: list[float] = []
    stream = make_stream(sim, on_connected=lambda _: connected_at.append(time.time()))
    async with running(stream):
        await eventually(lambda: connected_at, within=5, what="connected after the ban")
    # Retry-After is whole seconds; the stream must not knock before it.
    assert connected_at[0] >= int(retry_at + 0.999) - 0.05
    assert sim.handshakes == 2 and sim.refused_handshakes == 1
    assert "HTTP 429" in caplog.text


async def test_backoff_grows_while_connections_die_at_once(
    sim: MaxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.faults = Faults(close_after_frames=1)
    stream = make_stream(
        sim,
        reconnect_policy=ReconnectPolicy(base_delay=0.01, max_delay=1.0, jitter=0.0),
    )
    slept = record_backoff(stream, monkeypatch)
    stream.subscribe([TICKER])
    async with running(stream):
        await eventually(lambda: len(slept) >= 5, what="five reconnects")
    assert slept[:5] == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.16])


async def test_backoff_resets_after_a_healthy_connection(
    sim: MaxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = ReconnectPolicy(base_delay=0.01, max_delay=1.0, jitter=0.0, healthy_after=0.2)
    stream = make_stream(sim, reconnect_policy=policy)
    slept = record_backoff(stream, monkeypatch)
    stream.subscribe([TICKER])
    async with running(stream):
        for n in (1, 2):
            await eventually(lambda n=n: stream.stats.connections == n)  # type: ignore[misc]
            await asyncio.sleep(0.3)  # healthier than healthy_after
            sim.connections[0].abort()
        await eventually(lambda: len(slept) == 2)
    assert slept == pytest.approx([0.01, 0.01])


async def test_clean_close_without_reconnect_returns(sim: MaxSimulator) -> None:
    sim.faults = Faults(close_after_frames=3, close_code=1000)
    disconnected: list[BaseException | None] = []
    stream = make_stream(sim, reconnect=False, on_disconnected=disconnected.append)
    stream.reconnect_policy = ReconnectPolicy(enabled=False)
    stream.subscribe([TICKER])
    await asyncio.wait_for(stream.arun(), 5)
    assert len(disconnected) == 1 and sim.handshakes == 1


async def test_abrupt_close_without_reconnect_is_a_permanent_failure(sim: MaxSimulator) -> None:
    sim.faults = Faults(abort_after_frames=3)
    failures: list[BaseException | None] = []
    stream = make_stream(sim, reconnect=False, on_permanent_failure=failures.append)
    stream.reconnect_policy = ReconnectPolicy(enabled=False)
    stream.subscribe([TICKER])
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(stream.arun(), 5)
    assert failures == [raised.value] and sim.handshakes == 1


async def test_max_retries_then_permanent_failure(sim: MaxSimulator) -> None:
    sim.faults = Faults(abort_after_frames=1)
    failures: list[BaseException | None] = []
    reconnecting: list[BaseException | None] = []
    policy = ReconnectPolicy(max_retries=2, base_delay=0.01, max_delay=0.01, jitter=0.0)
    stream = make_stream(
        sim,
        reconnect_policy=policy,
        on_permanent_failure=failures.append,
        on_reconnecting=reconnecting.append,
    )
    stream.subscribe([TICKER])
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(stream.arun(), 5)
    assert failures == [raised.value]
    assert len(reconnecting) == 2 and sim.handshakes == 3


async def test_dead_connection_without_pongs_is_replaced(sim: MaxSimulator) -> None:
    sim.faults = Faults(mute_pings=True)
    disconnected: list[BaseException | None] = []
    stream = make_stream(
        sim, ping_interval=0.1, ping_timeout=0.2, on_disconnected=disconnected.append
    )
    stream.subscribe([TICKER])
    async with running(stream):
        await eventually(lambda: stream.stats.connections >= 2, within=5, what="replacement")
    assert disconnected and disconnected[0] is not None


@pytest.mark.parametrize("abrupt", [False, True], ids=["clean-close", "abort"])
async def test_disconnect_restores_subscriptions_and_auth(sim: MaxSimulator, abrupt: bool) -> None:
    events: list[str] = []
    stream = make_stream(
        sim,
        api_key=KEY,
        api_secret=SECRET,
        on_connected=lambda e: events.append("connected"),
        on_disconnected=lambda e: events.append("disconnected"),
        on_reconnecting=lambda e: events.append("reconnecting"),
    )
    stream.subscribe([BOOK, TICKER])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: seen.having("snapshot", "book"))
        connection = sim.connections[0]
        if abrupt:
            connection.abort()
        else:
            await connection.close(1001, "maintenance")
        await eventually(lambda: len(seen.having("snapshot", "book")) == 2, what="resubscribed")
        await eventually(lambda: len(seen.having("authenticated")) == 2, what="re-authenticated")
        await eventually(lambda: stream.books["btcusdt"].synced, what="book synced again")
    assert events[:4] == ["connected", "disconnected", "reconnecting", "connected"]
    assert stream.stats.reconnects == 1


# ---------------------------------------------------------------- bad frames


async def test_unknown_and_malformed_frames_never_drop_the_connection(
    sim: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults = Faults(extra_keys=True, unknown_every=3, malformed_every=4)
    stream = make_stream(sim)
    stream.subscribe([BOOK, TICKER])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: stream.stats.decode_errors >= 3, what="malformed frames")
        await eventually(
            lambda: any(not isinstance(r.channel, Channel) and r.channel for r in seen.responses),
            what="an unknown channel delivered",
        )
    assert any(not isinstance(r.event, Event) for r in seen.responses)  # unknown event kept
    assert sim.handshakes == 1 and stream.stats.connections == 1
    assert "does not decode" in caplog.text
    assert stream.books["btcusdt"].synced  # extra keys did not disturb the book


async def test_delayed_frames_still_arrive_in_order(sim: MaxSimulator) -> None:
    sim.faults = Faults(delay=0.05)
    stream = make_stream(sim)
    stream.subscribe([BOOK])
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: len(seen.having("update", "book")) >= 5)
    ids = [r.last_update_id for r in seen.responses if r.channel == Channel.BOOK]
    assert ids == sorted(ids)
    assert stream.stats.resyncs == 0


# ---------------------------------------------------------------- request rate limit


class RecordingLimiter(RequestRateLimiter):
    """The stream's limiter, on the simulator's clock, keeping the time of every grant."""

    def __init__(self) -> None:
        super().__init__(clock=time.time)
        self.granted: list[float] = []

    def record(self) -> None:
        super().record()
        self.granted.append(self._sent[-1])


async def test_requests_never_exceed_max_rate(sim: MaxSimulator) -> None:
    limiter = RecordingLimiter()
    stream = make_stream(sim, rate_limiter=limiter)
    stream.subscribe([TICKER])
    async with running(stream):
        await eventually(lambda: stream.stats.requests_sent == 1)
        for _ in range(12):  # 24 requests queued at once: unsub + sub each
            stream.unsubscribe([TICKER])
            stream.subscribe([TICKER])
        await eventually(lambda: stream.stats.requests_sent == 25, within=5, what="all sent")
    arrived = [r.received_at for r in sim.requests]
    assert len(arrived) == len(limiter.granted) == 25  # every request on the wire was paced
    # No 21 grants inside any one second, and so (one writer, one clock) the 21st request
    # reached the server only after the 1st one's window had passed. The server's own gaps
    # are not asserted: a pause of the process between a grant and its arrival (a busy
    # machine) can move one arrival towards the next without any request leaving early.
    for i in range(len(arrived) - 20):
        assert limiter.granted[i + 20] - limiter.granted[i] >= 1.0 - 1e-6
        assert arrived[i + 20] >= limiter.granted[i] + 1.0 - 1e-6


def _books(stream: Stream) -> Iterator[Any]:
    return iter(stream.books.values())
