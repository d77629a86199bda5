"""Auth (signature, nonce window, nonce reuse, filters) and private events per filter."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from conftest import ClientFactory
from sim_client import SimClient
from websockets.asyncio.client import connect

from maicoin.ws.testing import ManualClock, MaxSimulator, auth_request, sign

SNAPSHOTS = {"order_snapshot", "trade_snapshot", "account_snapshot"}


def now_ms(clock: ManualClock) -> int:
    return int(clock() * 1000)


def test_signature_is_hex_hmac_sha256_of_the_nonce() -> None:
    expected = hmac.new(b"secret", b"1700000000000", hashlib.sha256).hexdigest()
    assert sign("secret", 1700000000000) == expected


async def test_auth_success_then_default_snapshots(
    client: ClientFactory, clock: ManualClock
) -> None:
    async with client() as c:
        await c.send(auth_request("key", "secret", now_ms(clock), request_id="a1"))
        reply = await c.recv()
        snapshots = await c.drain()
    assert reply == {"e": "authenticated", "i": "a1", "T": now_ms(clock)}
    assert [f["e"] for f in snapshots] == ["order_snapshot", "trade_snapshot", "account_snapshot"]
    assert all(f["c"] == "user" for f in snapshots)
    order = snapshots[0]["o"][0]
    assert set(order) == {
        "i",
        "sd",
        "ot",
        "p",
        "sp",
        "ap",
        "v",
        "rv",
        "ev",
        "S",
        "M",
        "tc",
        "T",
    } | {
        "TU",
        "gi",
        "ci",
    }
    assert order["S"] == "wait"
    trade = snapshots[1]["t"][0]
    assert set(trade) == {"i", "M", "sd", "p", "v", "f", "fc", "fd", "fn", "T", "TU", "m", "oi"}
    balance = snapshots[2]["B"][0]
    assert set(balance) == {"cu", "av", "l", "stk", "TU"}


@pytest.mark.parametrize(
    ("api_key", "secret"), [("key", "wrong"), ("nobody", "secret")], ids=["bad-sig", "bad-key"]
)
async def test_bad_key_or_signature_is_e1007(
    client: ClientFactory, clock: ManualClock, api_key: str, secret: str
) -> None:
    async with client() as c:
        await c.send(auth_request(api_key, secret, now_ms(clock), request_id="a"))
        error = await c.recv()
    assert error["E"] == ["E-1007: authentication failed"]
    assert error["i"] == "a"
    assert "secret" not in str(error)


@pytest.mark.parametrize(
    ("offset_s", "accepted"), [(-31, False), (-29, True), (29, True), (31, False)]
)
async def test_nonce_must_be_within_30_s_of_server_time(
    client: ClientFactory, clock: ManualClock, offset_s: int, accepted: bool
) -> None:
    async with client() as c:
        await c.send(auth_request("key", "secret", now_ms(clock) + offset_s * 1000))
        reply = await c.recv()
    if accepted:
        assert reply["e"] == "authenticated"
    else:
        assert reply["E"][0].startswith("E-1006")


async def test_non_integer_nonce_is_e1006(client: ClientFactory) -> None:
    async with client() as c:
        await c.send({"action": "auth", "apiKey": "key", "nonce": "1", "signature": "x", "id": 1})
        error = await c.recv()
    assert error["E"][0].startswith("E-1006")


async def test_reused_nonce_is_e1012_across_connections(
    client: ClientFactory, clock: ManualClock
) -> None:
    nonce = now_ms(clock)
    async with client() as first:
        await first.send(auth_request("key", "secret", nonce))
        assert (await first.recv())["e"] == "authenticated"
    async with client() as second:
        await second.send(auth_request("key", "secret", nonce, request_id="again"))
        error = await second.recv()
        await second.send(auth_request("key", "secret", nonce + 1))
        accepted = await second.recv()
    assert error["E"] == ["E-1012: nonce has already been used"]
    assert error["i"] == "again"
    assert accepted["e"] == "authenticated"


async def test_a_refused_nonce_is_not_burnt(client: ClientFactory, clock: ManualClock) -> None:
    nonce = now_ms(clock)
    async with client() as c:
        await c.send(auth_request("key", "secret", nonce, filters=["nonsense"]))
        error = await c.recv()
        await c.send(auth_request("key", "secret", nonce))
        reply = await c.recv()
    assert error["E"][0].startswith("E-1101: invalid filter")
    assert reply["e"] == "authenticated"


async def _events_for(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock, filters: list[str], **order: Any
) -> tuple[list[str], list[dict[str, Any]]]:
    """(snapshot events after auth, frames caused by one filled order)."""
    async with client() as c:
        await c.send(auth_request("key", "secret", now_ms(clock), filters=filters))
        assert (await c.recv())["e"] == "authenticated"
        snapshots = [f["e"] for f in await c.drain()]
        sim.place_order("key", "btcusdt", "bid", "60000.00", "0.001000", **order)
        return snapshots, await c.drain()


async def test_trade_update_filter_has_no_snapshot(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    snapshots, frames = await _events_for(sim, client, clock, ["trade_update"])
    assert snapshots == []
    assert [f["e"] for f in frames] == ["trade_update"]


async def test_fast_trade_update_has_no_fee_fields(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    snapshots, frames = await _events_for(sim, client, clock, ["fast_trade_update"])
    assert snapshots == []
    assert [f["e"] for f in frames] == ["fast_trade_update"]
    trade = frames[0]["t"][0]
    assert set(trade) == {"i", "M", "sd", "p", "v", "fn", "T", "TU", "m", "oi"}


async def test_default_filters_see_a_whole_fill(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    snapshots, frames = await _events_for(sim, client, clock, [])
    assert set(snapshots) == SNAPSHOTS
    events = [f["e"] for f in frames]
    assert events == [
        "order_update",
        "account_update",
        "trade_update",
        "order_update",
        "account_update",
    ]
    placed, done = frames[0]["o"][0], frames[3]["o"][0]
    assert (placed["S"], done["S"]) == ("wait", "done")
    assert done["ev"] == "0.001000" and done["rv"] == "0.000000"
    assert frames[2]["t"][0]["oi"] == placed["i"]


async def test_mwallet_filters(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    filters = [
        "mwallet_order",
        "mwallet_trade",
        "mwallet_fast_trade_update",
        "mwallet_account",
        "ad_ratio",
        "borrowing",
    ]
    snapshots, frames = await _events_for(sim, client, clock, filters, m_wallet=True)
    assert snapshots == [
        "mwallet_order_snapshot",
        "mwallet_trade_snapshot",
        "mwallet_account_snapshot",
        "ad_ratio_snapshot",
        "borrowing_snapshot",
    ]
    events = [f["e"] for f in frames]
    assert events == [
        "mwallet_order_update",
        "mwallet_account_update",
        "mwallet_fast_trade_update",
        "mwallet_trade_update",
        "mwallet_order_update",
        "mwallet_account_update",
        "ad_ratio_update",
        "borrowing_update",
    ]
    ad = frames[6]["ad"]
    assert set(ad) == {"ad", "as", "db", "idxp", "TU"}
    assert ad["idxp"][0] == {"M": "btcusdt", "p": ad["idxp"][0]["p"]}
    debt = frames[7]["db"][0]
    assert set(debt) == {"cu", "dbp", "dbi", "TU"}


async def test_spot_filters_ignore_mwallet_orders(
    sim: MaxSimulator, client: ClientFactory, clock: ManualClock
) -> None:
    _, frames = await _events_for(sim, client, clock, ["order", "trade", "account"], m_wallet=True)
    assert frames == []


async def test_private_events_go_only_to_that_key(clock: ManualClock) -> None:
    keys = {"alice": "a-secret", "bob": "b-secret"}
    async with (
        MaxSimulator(update_interval=None, clock=clock, api_keys=keys, private_every=None) as sim,
        connect(sim.uri) as ws_a,
        connect(sim.uri) as ws_b,
    ):
        alice, bob = SimClient(ws_a), SimClient(ws_b)
        await alice.send(auth_request("alice", "a-secret", now_ms(clock)))
        await bob.send(auth_request("bob", "b-secret", now_ms(clock)))
        await alice.drain()
        await bob.drain()
        order_id = sim.place_order("alice", "ethusdt", "ask", "3000.00", "0.01000", fill=False)
        sim.cancel_order("alice", order_id)
        alice_frames, bob_frames = await alice.drain(), await bob.drain()
    assert bob_frames == []
    assert [f["e"] for f in alice_frames] == [
        "order_update",
        "account_update",
        "order_update",
        "account_update",
    ]
    assert alice_frames[2]["o"][0]["S"] == "cancel"
    placed, cancelled = alice_frames[1]["B"][0], alice_frames[3]["B"][0]
    assert placed["cu"] == cancelled["cu"] == "eth"
    assert (placed["l"], cancelled["l"]) == ("0.01000000", "0.00000000")


async def test_order_arguments_are_checked(sim: MaxSimulator) -> None:
    with pytest.raises(ValueError, match="side must be one of"):
        sim.place_order("key", "btcusdt", "long", "1.00", "1")
    with pytest.raises(ValueError, match="price must be positive"):
        sim.place_order("key", "btcusdt", "bid", "-1", "1")
    with pytest.raises(ValueError, match="more than 2 decimals"):
        sim.place_order("key", "btcusdt", "bid", "1.001", "1")
    with pytest.raises(ValueError, match="unknown API key 'nobody'"):
        sim.place_order("nobody", "btcusdt", "bid", "1.00", "1")
    with pytest.raises(ValueError, match="no open order with id 1"):
        sim.cancel_order("key", 1)


async def test_fills_are_simulated_for_authenticated_keys(clock: ManualClock) -> None:
    async with (
        MaxSimulator(update_interval=None, clock=clock, private_every=2) as sim,
        connect(sim.uri) as websocket,
    ):
        c = SimClient(websocket)
        filters = ["trade_update", "mwallet_trade"]
        await c.send(auth_request("key", "secret", now_ms(clock), filters=filters))
        await c.recv()
        await c.drain()
        sim.step(40)
        frames = await c.drain()
    # Twenty random changes (rests, fills, cancels in both wallets): some are fills.
    assert frames
    assert {f["e"] for f in frames} <= {"trade_update", "mwallet_trade_update"}
    assert all(trade["f"] for f in frames for trade in f["t"])
