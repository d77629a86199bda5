"""A bare WebSocket client for talking to the simulator in tests, and a reference book."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import ClientConnection

_markers = itertools.count()


class SimClient:
    """JSON in, JSON out, over a plain ``websockets`` connection; keeps every frame it read."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.frames: list[dict[str, Any]] = []

    async def send(self, request: Any) -> None:
        await self.websocket.send(request if isinstance(request, str) else json.dumps(request))

    async def recv(self, within: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.websocket.recv(), within)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def recv_raw(self, within: float = 5.0) -> str | bytes:
        return await asyncio.wait_for(self.websocket.recv(), within)

    async def recv_until(self, match: Any, within: float = 5.0) -> list[dict[str, Any]]:
        """Frames up to and including the first for which ``match(frame)`` is true."""
        received = []
        while True:
            frame = await self.recv(within)
            received.append(frame)
            if match(frame):
                return received

    async def drain(self) -> list[dict[str, Any]]:
        """Every frame the server queued before this call (a marker request fences them)."""
        marker = f"marker-{next(_markers)}"
        await self.send({"action": "marker", "id": marker})
        frames = await self.recv_until(lambda f: f.get("e") == "error" and f.get("i") == marker)
        return frames[:-1]

    async def subscribe(self, *subscriptions: dict[str, Any], request_id: str = "sub") -> None:
        """Subscribe and read the ``subscribed`` reply."""
        await self.send({"action": "sub", "id": request_id, "subscriptions": list(subscriptions)})
        reply = await self.recv()
        assert reply["e"] == "subscribed", reply


class ReferenceBook:
    """The protocol's local book algorithm, strictly: every update must continue the last.

    Levels are keyed by their price as a number (one price may be spelt two ways) and
    keep the price and volume strings they were last set with.
    """

    def __init__(self) -> None:
        self.asks: dict[Decimal, list[str]] = {}
        self.bids: dict[Decimal, list[str]] = {}
        self.last_update_id = -1
        self.version = -1

    def apply(self, frame: dict[str, Any]) -> None:
        if frame["e"] == "snapshot":
            self.asks = {Decimal(price): [price, volume] for price, volume in frame["a"]}
            self.bids = {Decimal(price): [price, volume] for price, volume in frame["b"]}
        else:
            assert frame["v"] == self.version, "version changed"
            assert frame["fi"] == self.last_update_id + 1, "sequence gap"
            assert frame["li"] >= frame["fi"]
            for side, levels in ((self.asks, frame["a"]), (self.bids, frame["b"])):
                for price, volume in levels:
                    if Decimal(volume) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = [price, volume]
        self.last_update_id = frame["li"]
        self.version = frame["v"]

    def levels(self) -> dict[str, list[list[str]]]:
        asks = [self.asks[price] for price in sorted(self.asks)]
        bids = [self.bids[price] for price in sorted(self.bids, reverse=True)]
        return {"asks": asks, "bids": bids}
