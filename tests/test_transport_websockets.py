"""The default transport: websockets' connection, with frames pushed down the stream's path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from streamkit import eventually
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedError

from maicoin.ws import Channel, Request, Response, Subscription
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws._frames.frame_path import FramePath
from maicoin.ws._io import websockets_push
from maicoin.ws._io.connect import default_connect
from maicoin.ws._io.websockets_push import PushClientConnection, push_supported
from maicoin.ws.book import BookKeeper
from maicoin.ws.stats import StreamStats
from maicoin.ws.testing import MaxSimulator

TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")


@pytest.fixture
async def sim() -> AsyncIterator[MaxSimulator]:
    async with MaxSimulator(update_interval=0.005, private_every=None, seed=5) as simulator:
        yield simulator


class Collected:
    """A FramePath whose dispatcher keeps every response."""

    def __init__(self) -> None:
        self.stats = StreamStats()
        self.responses: list[Response] = []
        self.path = FramePath(
            decode=make_decoder(),
            stats=self.stats,
            apply_book=BookKeeper(self.stats).apply,
            dispatch=self.dispatch,
            request_resync=lambda resync: None,
            on_control=lambda response: None,
        )

    def dispatch(self, response: Response) -> Any:
        self.responses.append(response)
        return None


async def test_default_connect_makes_a_push_connection_unless_told_otherwise(
    sim: MaxSimulator,
) -> None:
    async with default_connect(sim.uri) as connection:
        assert isinstance(connection, PushClientConnection)
    async with default_connect(sim.uri, create_connection=ClientConnection) as connection:
        assert type(connection) is ClientConnection


async def test_default_connect_offers_no_compression_unless_asked(sim: MaxSimulator) -> None:
    # The simulator negotiates permessage-deflate whenever it is offered, as MAX does.
    async with default_connect(sim.uri) as connection:
        assert "Sec-WebSocket-Extensions" not in connection.request.headers
        assert connection.response.headers.get("Sec-WebSocket-Extensions") is None
    async with default_connect(sim.uri, compression="deflate") as connection:
        assert "permessage-deflate" in connection.request.headers["Sec-WebSocket-Extensions"]
        assert connection.response.headers["Sec-WebSocket-Extensions"] == (
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        )


async def test_messages_queued_before_the_path_takes_over_come_first(sim: MaxSimulator) -> None:
    collected = Collected()
    async with default_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        queued = connection.recv_messages.frames
        await eventually(lambda: len(queued) >= 3, what="messages queued for recv()")
        runner = asyncio.get_running_loop().create_task(connection.run_frame_path(collected.path))
        await eventually(lambda: len(collected.responses) >= 6, what="pushed messages")
        assert "process_event" in vars(connection)  # frames come from the callback now
        await connection.close()
        await asyncio.wait_for(runner, 5)  # our own close is a clean end
    events = [str(r.event) for r in collected.responses]
    assert events[0] == "subscribed" and set(events[1:]) == {"snapshot", "update"}
    times = [r.created_at for r in collected.responses[1:]]
    assert times == sorted(times)
    assert collected.stats.messages == len(collected.responses)


async def test_an_abort_raises_connection_closed_error(sim: MaxSimulator) -> None:
    collected = Collected()
    async with default_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        runner = asyncio.get_running_loop().create_task(connection.run_frame_path(collected.path))
        await eventually(lambda: collected.responses, what="first message")
        sim.connections[0].abort()
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(runner, 5)


async def test_a_failing_path_ends_run_frame_path_with_its_exception(sim: MaxSimulator) -> None:
    def broken(response: Response) -> None:
        raise RuntimeError("handler bug")

    stats = StreamStats()
    path = FramePath(
        decode=make_decoder(),
        stats=stats,
        apply_book=BookKeeper(stats).apply,
        dispatch=broken,
        request_resync=print,
        on_control=lambda response: None,
    )
    async with default_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        await eventually(lambda: len(connection.recv_messages.frames) >= 1, what="a message")
        with pytest.raises(RuntimeError, match="handler bug"):
            await asyncio.wait_for(connection.run_frame_path(path), 5)
        await asyncio.sleep(0.05)
        assert stats.messages == 1  # nothing after the failure went down the path
    # Frames that kept coming were dropped, not queued: the close was not held up.
    assert len(connection.recv_messages.frames) == 0


def test_push_path_only_on_tested_websockets_releases() -> None:
    assert push_supported("14.2") and push_supported("17.4")
    assert not push_supported("13.1") and not push_supported("18.0")
    assert not push_supported("dev")


async def test_an_untested_websockets_release_reads_with_recv(
    sim: MaxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websockets_push, "push_supported", lambda: push_supported("99.0"))
    collected = Collected()
    async with default_connect(sim.uri) as connection:
        await connection.send(Request.subscribe([TICKER]).message())
        runner = asyncio.get_running_loop().create_task(connection.run_frame_path(collected.path))
        await eventually(lambda: len(collected.responses) >= 4, what="frames read with recv()")
        assert "process_event" not in vars(connection)  # websockets' own hook untouched
        await connection.close()
        await asyncio.wait_for(runner, 5)
    assert collected.responses[0].event == "subscribed"
