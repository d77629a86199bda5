"""Refused subscriptions, the request list the original keeps, and the application ping,
against the simulator over real loopback sockets on both transports."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from streamkit import FAST_RECONNECT, TRANSPORTS, eventually, use_transport

from maicoin.ws import Channel, Stream, Subscription, SubscriptionError
from maicoin.ws._client.replay import SUBSCRIPTIONS_PER_REQUEST
from maicoin.ws.testing import Faults, MaxSimulator

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")
NOPE = Subscription(channel=Channel.TICKER, market="nopeusdt")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    use_transport(name, monkeypatch)
    return name


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.01) as simulator:
        yield simulator


async def test_a_refused_subscription_reaches_the_callback_and_leaves_the_replay(
    transport: str,
) -> None:
    refusals: list[SubscriptionError] = []
    async with MaxSimulator(update_interval=0.01, faults=Faults(close_after_frames=40)) as sim:
        stream = Stream(
            uri=sim.uri, reconnect_policy=FAST_RECONNECT, on_subscription_error=refusals.append
        )
        tickers: list[str] = []
        stream.add_handler(
            lambda r: tickers.append(r.market or "") if r.channel == Channel.TICKER else None
        )
        stream.subscribe([TICKER, NOPE])
        async with stream:
            await eventually(lambda: refusals, what="the refusal")
            await eventually(lambda: stream.stats.connections >= 2, what="a reconnect")
            await eventually(lambda: len(tickers) >= 5, what="tickers after the refusal")
    (error,) = refusals
    assert error.subscriptions == [NOPE] and "nopeusdt" in error.reason
    assert "ticker:nopeusdt" in str(error)
    assert stream.subscriptions == [TICKER]
    # The second connection asked only for what was not refused.
    second = sim.all_connections[1].requests_with("sub")
    assert [s["market"] for r in second for s in r.message["subscriptions"]] == ["btcusdt"]


async def test_without_a_callback_a_refusal_is_logged_once_at_error(
    sim: MaxSimulator, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Stream(uri=sim.uri)
    stream.subscribe([NOPE])
    async with stream:
        await eventually(lambda: not stream.subscriptions, what="the refusal")
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "nopeusdt" in errors[0].getMessage()


def test_one_market_at_a_second_depth_is_refused_at_subscribe() -> None:
    stream = Stream()
    stream.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)])
    with pytest.raises(SubscriptionError, match="depth 10 and at depth 5"):
        stream.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt", depth=10)])
    with pytest.raises(SubscriptionError, match="the ethusdt book"):
        Stream().subscribe(
            [
                Subscription(channel=Channel.BOOK, market="ethusdt", depth=1),
                Subscription(channel=Channel.BOOK, market="ethusdt", depth=50),
            ]
        )
    assert [s.depth for s in stream.subscriptions] == [5]


def test_many_subscriptions_go_out_as_small_requests() -> None:
    stream = Stream()
    subs = [Subscription(channel=Channel.TICKER, market=f"m{i}usdt") for i in range(25)]
    stream.subscribe(subs)
    sizes = [len(r.subscriptions or []) for r in stream.requests]
    assert sizes == [SUBSCRIPTIONS_PER_REQUEST, SUBSCRIPTIONS_PER_REQUEST, 5]
    stream.unsubscribe(subs[:12])
    assert [len(r.subscriptions or []) for r in stream.requests] == [8, 5]


async def test_sub_requests_are_replayed_with_their_ids_and_auth_is_signed_afresh(
    transport: str,
) -> None:
    async with MaxSimulator(
        update_interval=0.01, api_keys={"key": "secret"}, faults=Faults(close_after_frames=10)
    ) as sim:
        stream = Stream("key", "secret", uri=sim.uri, reconnect_policy=FAST_RECONNECT)
        stream.subscribe([TICKER])
        async with stream:
            await eventually(lambda: len(sim.all_connections) >= 2, what="a reconnect")
            await eventually(lambda: len(sim.all_connections[1].requests) >= 2, what="the replay")
    first, second = (c.requests for c in sim.all_connections[:2])
    assert [r.action for r in first[:2]] == [r.action for r in second[:2]] == ["auth", "sub"]
    assert first[1].text == second[1].text  # the very same sub request, id included
    assert first[0].message["nonce"] != second[0].message["nonce"]


async def test_requests_a_user_appends_are_sent_on_connect(sim: MaxSimulator) -> None:
    stream = Stream(uri=sim.uri)
    stream.requests += [stream_request := _ticker_request()]
    async with stream:
        await eventually(lambda: sim.all_connections and sim.all_connections[0].requests)
    assert json.loads(sim.all_connections[0].requests[0].text)["id"] == stream_request.id


def _ticker_request():  # type: ignore[no-untyped-def]
    from maicoin.ws import Request

    return Request.subscribe([TICKER])


async def test_ping_returns_the_round_trip(sim: MaxSimulator, transport: str) -> None:
    stream = Stream(uri=sim.uri)
    stream.subscribe([TICKER])
    async with stream:
        await eventually(lambda: stream.connected, what="connected")
        rtt = await stream.ping(timeout=5)
    assert 0 < rtt < 5
    assert sim.all_connections[0].requests_with("ping")


async def test_ping_without_a_connection_says_so() -> None:
    with pytest.raises(ConnectionError, match="not connected"):
        await Stream().ping()


def test_the_cli_exits_1_at_once_when_every_subscription_is_refused() -> None:
    async def serve_and_run() -> subprocess.CompletedProcess[str]:
        async with MaxSimulator() as sim:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "maicoin.ws",
                "stream",
                "book:nosuchmkt:5",
                "--count",
                "3",
                "--uri",
                sim.uri,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode is not None
            return subprocess.CompletedProcess([], process.returncode, out.decode(), err.decode())

    result = asyncio.run(serve_and_run())
    assert result.returncode == 1, result.stderr
    assert "nosuchmkt" in result.stderr and "does not exist" in result.stderr
