"""Every fault switch, per connection, as a default for new connections, and on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from conftest import ClientFactory
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Close

from maicoin.ws.testing import Faults, ManualClock, MaxSimulator

BOOK = {"channel": "book", "market": "btcusdt", "depth": 1}
SUB = {"action": "sub", "id": "s", "subscriptions": [BOOK]}


async def _frames_until_closed(
    websocket: ClientConnection,
) -> tuple[list[str | bytes], Close | None]:
    """Every frame until the connection ends, and the close frame received (None if none)."""
    received: list[str | bytes] = []
    with contextlib.suppress(ConnectionClosed):
        async for message in websocket:
            received.append(message)
    return received, websocket.protocol.close_rcvd


async def test_close_after_n_frames(sim: MaxSimulator) -> None:
    sim.faults = Faults(close_after_frames=3, close_code=1012, close_reason="restart")
    async with connect(sim.uri) as websocket:
        await websocket.send(json.dumps(SUB))
        await sim.wait_until(lambda: sim.all_connections[0].frames_sent == 2)
        sim.step(20)
        received, closed = await _frames_until_closed(websocket)
    assert len(received) == 3
    assert closed is not None
    assert (closed.code, closed.reason) == (1012, "restart")
    assert sim.all_connections[0].close_code == 1012


async def test_abort_after_n_frames_sends_no_close_frame(sim: MaxSimulator) -> None:
    sim.faults = Faults(abort_after_frames=2)
    async with connect(sim.uri) as websocket:
        await websocket.send(json.dumps(SUB))
        received, closed = await _frames_until_closed(websocket)
    assert len(received) == 2
    assert closed is None
    assert sim.all_connections[0].aborted


@pytest.mark.parametrize("kind", ["close", "abort"])
async def test_timed_close_and_abort(sim: MaxSimulator, kind: str) -> None:
    sim.faults = Faults(**{f"{kind}_after_seconds": 0.02})  # type: ignore[arg-type]
    async with connect(sim.uri) as websocket:
        _, closed = await _frames_until_closed(websocket)
    if kind == "close":
        assert closed is not None and closed.code == 1001
    else:
        assert closed is None


async def test_close_and_abort_on_demand(sim: MaxSimulator) -> None:
    async with connect(sim.uri) as first, connect(sim.uri) as second:
        await sim.wait_until(lambda: len(sim.connections) == 2)
        one, two = sim.connections
        await one.close(4000, "bye")
        two.abort()
        _, closed_one = await _frames_until_closed(first)
        _, closed_two = await _frames_until_closed(second)
    assert closed_one is not None and closed_one.code == 4000
    assert closed_two is None
    await sim.wait_until(lambda: not sim.connections)
    assert not one.open and not two.open


async def test_connection_faults_are_per_connection(sim: MaxSimulator) -> None:
    async with connect(sim.uri) as first, connect(sim.uri) as second:
        await sim.wait_until(lambda: len(sim.connections) == 2)
        sim.connections[0].faults.close_after_frames = 1
        await first.send(json.dumps(SUB))
        await second.send(json.dumps(SUB))
        received, _ = await _frames_until_closed(first)
        reply = json.loads(await second.recv())
    assert len(received) == 1
    assert reply["e"] == "subscribed"


async def test_refused_handshakes_get_429_with_a_unix_retry_after(
    sim: MaxSimulator, clock: ManualClock
) -> None:
    sim.refuse_handshakes(2, retry_after=clock() + 30)
    for _ in range(2):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(sim.uri):
                pass
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == str(int(clock()) + 30)
    async with connect(sim.uri):
        pass
    assert (sim.handshakes, sim.refused_handshakes) == (3, 2)


async def test_refused_until_a_time(sim: MaxSimulator, clock: ManualClock) -> None:
    sim.refuse_handshakes(None, until=clock() + 10)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(sim.uri):
            pass
    assert refused.value.response.headers["Retry-After"] == str(int(clock()) + 10)
    clock.advance(10)
    async with connect(sim.uri):
        pass
    assert sim.refused_handshakes == 1


@pytest.mark.parametrize("muted", [False, True])
async def test_pings_are_answered_unless_muted(
    sim: MaxSimulator, client: ClientFactory, muted: bool
) -> None:
    sim.faults = Faults(mute_pings=muted)
    async with client() as c:
        pong = asyncio.ensure_future(await c.websocket.ping())
        # The server handles the ping before the marker request, so its pong (if any) is
        # read before the marker's reply.
        await c.drain()
        assert pong.done() is not muted
    assert sim.all_connections[0].pings_received == 1


async def test_delayed_frames_keep_their_order(sim: MaxSimulator, client: ClientFactory) -> None:
    sim.faults = Faults(delay=0.3)
    async with client() as c:
        await c.send(SUB)
        connection = sim.all_connections[0]
        await sim.wait_until(lambda: connection.request_count == 1)
        assert (connection.frames_sent, connection.pending_frames) == (0, 2)
        assert [(await c.recv())["e"] for _ in range(2)] == ["subscribed", "snapshot"]


async def test_extra_keys_everywhere(sim: MaxSimulator, client: ClientFactory) -> None:
    sim.faults = Faults(extra_keys=True)
    async with client() as c:
        await c.subscribe(
            BOOK,
            {"channel": "kline", "market": "btcusdt"},
            {"channel": "trade", "market": "btcusdt"},
        )
        sim.step(20)
        received = await c.drain()
    assert all("zz" in frame for frame in received)
    kline = next(f for f in received if f.get("c") == "kline")
    assert kline["k"]["zz"] == "extra"
    trades = [f for f in received if f.get("c") == "trade" and f["t"]]
    assert trades and all(t["zz"] == "extra" for f in trades for t in f["t"])


async def test_unknown_and_malformed_frames_every_n(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    sim.faults = Faults(unknown_every=2, malformed_every=3)
    async with client() as c:
        await c.send({**SUB, "subscriptions": [{"channel": "trade", "market": "btcusdt"}]})
        await sim.wait_until(lambda: sim.all_connections[0].frames_sent >= 4)
        sim.step(12)  # trade updates: ordinary frames 3, 4, ...
        raw = [await c.recv_raw() for _ in range(8)]
    decoded: list[dict[str, object] | None] = []
    for text in raw:
        try:
            decoded.append(json.loads(text))
        except ValueError:
            decoded.append(None)
    # Ordinary frames 1 (subscribed) and 2 (snapshot), then the unknown pair after the 2nd,
    # the 3rd ordinary frame and a malformed one, the 4th and the next unknown pair.
    assert decoded[0] is not None and decoded[0]["e"] == "subscribed"
    assert decoded[1] is not None and decoded[1]["e"] == "snapshot"
    assert decoded[2] is not None and (decoded[2]["c"], decoded[2]["e"]) == ("ticker", "surprise")
    assert decoded[3] is not None and decoded[3]["c"] == "futures"
    assert decoded[4] is not None and decoded[4]["e"] == "update"
    assert decoded[5] is None
    assert decoded[6] is not None and decoded[6]["e"] == "update"
    assert decoded[7] is not None and decoded[7]["e"] == "surprise"


async def test_unknown_and_malformed_frames_on_demand(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as c:
        await sim.wait_until(lambda: len(sim.connections) == 1)
        connection = sim.connections[0]
        connection.send_unknown_event("mystery")
        connection.send_unknown_channel("options")
        connection.send_malformed("not json at all")
        connection.send_raw('{"e":"update","c":"book","M":"btcusdt","extra":true}')
        raw = [await c.recv_raw() for _ in range(4)]
    assert json.loads(raw[0])["e"] == "mystery"
    assert json.loads(raw[1])["c"] == "options"
    assert raw[2] == "not json at all"
    assert json.loads(raw[3])["extra"] is True


async def test_empty_snapshot_and_gap_for_one_connection(
    sim: MaxSimulator, client: ClientFactory
) -> None:
    async with client() as target, client() as bystander:
        await target.subscribe(BOOK)
        await bystander.subscribe(BOOK)
        await target.recv()
        await bystander.recv()
        sim.send_empty_snapshot("btcusdt", connection=sim.connections[0])
        sim.inject_gap("btcusdt", connection=sim.connections[1])
        sim.step(3)
        target_frames, bystander_frames = await target.drain(), await bystander.drain()
    assert target_frames[0]["a"] == [] and target_frames[1]["e"] == "snapshot"
    first, *rest = bystander_frames
    assert first["e"] == "update"
    assert all(frame["e"] == "update" for frame in rest)


async def test_connections_and_requests_are_counted_across_reconnects(
    sim: MaxSimulator,
) -> None:
    for _ in range(3):
        async with connect(sim.uri) as websocket:
            await websocket.send(json.dumps(SUB))
            await websocket.recv()
    await sim.wait_until(lambda: not sim.connections)
    assert sim.handshakes == 3
    assert [c.request_count for c in sim.all_connections] == [1, 1, 1]
    assert [r.action for r in sim.requests] == ["sub", "sub", "sub"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("close_after_frames", 0),
        ("abort_after_frames", 1.5),
        ("unknown_every", -1),
        ("close_after_seconds", -1.0),
        ("delay", float("nan")),
    ],
)
def test_invalid_fault_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        Faults(**{field: value})  # type: ignore[arg-type]


async def test_refusing_forever_is_rejected(sim: MaxSimulator) -> None:
    with pytest.raises(ValueError, match="forever"):
        sim.refuse_handshakes(None)
    with pytest.raises(ValueError, match="count"):
        sim.refuse_handshakes(0)
