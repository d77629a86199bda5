"""One consumer connection: its requests answered as MAX answers them, its topics joined.

A ``sub`` gets a ``subscribed`` reply echoing the subscriptions served, one error frame
(with the request's id) naming each refused one, then for each topic the relay already
holds its snapshot at once; a topic still on its way upstream sends its snapshot when it
comes. ``unsub`` leaves topics, the application ping is answered with ``pong``. ``auth``
is checked by the relay's ``PrivateFeed`` when it relays private frames (an ``authenticated``
reply, then the account's snapshots), refused otherwise; private channels are never
subscribed with ``sub`` (MAX delivers them by the auth filters).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import msgspec
from websockets.exceptions import ConnectionClosed

from .. import _replies as frames
from .._auth_check import AuthRefused
from .._client.registry import public_subscriptions
from ..subscription import Subscription
from .outbox import Outbox
from .topics import TopicKey, topic_key
from .upstream import Upstream

__all__ = ["PRIVATE_REFUSAL", "ConsumerSession"]

log = logging.getLogger("maicoin.ws.relay")

_PRIVATE_CHANNEL: Final = "its events come by the auth filters"
PRIVATE_REFUSAL: Final = (
    "E-1007: authentication failed: this relay serves public channels only "
    "(it relays private ones only when started with credentials and --private)"
)

_decode = msgspec.json.Decoder().decode


class ConsumerSession:
    """Serves one consumer until its connection ends; then it leaves every topic."""

    def __init__(self, connection: Any, upstream: Upstream, outbox: Outbox, name: str) -> None:
        self._connection = connection
        self._upstream = upstream
        self.outbox = outbox
        self.name = name
        self._topics: dict[TopicKey, str | None] = {}
        """Topics joined, each with the id of the request that joined it."""

    def deliver(self, frame: bytes) -> None:
        self.outbox.put(frame)

    def refused(self, key: TopicKey, reason: str) -> None:
        request_id = self._topics.pop(key, None)
        self.outbox.put(frames.error([reason], request_id))

    async def serve(self) -> None:
        """Answer requests until the connection closes; the outbox writes meanwhile."""
        self.outbox.start()
        try:
            async for message in self._connection:
                self._on_message(message)
        except ConnectionClosed:
            pass
        finally:
            for key in self._topics:
                self._upstream.leave(self, key)
            if self._upstream.private is not None:
                self._upstream.private.leave(self)
            self._topics.clear()
            await self.outbox.aclose()

    def _on_message(self, message: str | bytes) -> None:
        try:
            request = _decode(message)
        except (msgspec.DecodeError, RecursionError):
            request = None
        if not isinstance(request, dict):
            self.outbox.put(frames.error([frames.INVALID_JSON], None))
            return
        request_id = request.get("id")
        request_id = request_id if isinstance(request_id, str) else None
        action = request.get("action")
        if action == "sub":
            self._subscribe(request.get("subscriptions"), request_id)
        elif action == "unsub":
            self._unsubscribe(request.get("subscription"), request_id)
        elif action == "ping":
            self.outbox.put(frames.pong(request_id))
        elif action == "auth":
            self._authenticate(request, request_id)
        else:
            self.outbox.put(frames.error([frames.INVALID_ACTION], request_id))

    def _authenticate(self, request: dict[str, Any], request_id: str | None) -> None:
        private = self._upstream.private
        if private is None:
            self.outbox.put(frames.error([PRIVATE_REFUSAL], request_id))
            return
        try:  # accepted, it replaces the filters of an earlier auth; refused, they stay
            private.authenticate(self, request)
        except AuthRefused as exc:
            self.outbox.put(frames.error([str(exc)], request_id))
            return
        self.outbox.put(frames.authenticated(request_id))
        private.start(self)

    def _subscribe(self, objects: object, request_id: str | None) -> None:
        subs, reasons = public_subscriptions(
            objects, "subscriptions", private_reason=_PRIVATE_CHANNEL
        )
        served: list[Subscription] = []
        starts: list[bytes] = []
        for sub in subs:
            refusal, start = self._upstream.join(self, sub)
            if refusal is not None:
                reasons.append(refusal)
                continue
            self._topics[topic_key(sub)] = request_id
            served.append(sub)
            if start is not None:
                starts.append(start)
        if served:
            self.outbox.put(frames.reply("subscribed", request_id, served))
        if reasons:
            self.outbox.put(frames.error(reasons, request_id))
        for start in starts:
            self.outbox.put(start)

    def _unsubscribe(self, objects: object, request_id: str | None) -> None:
        subs, reasons = public_subscriptions(
            objects, "subscription", private_reason=_PRIVATE_CHANNEL
        )
        for sub in subs:
            key = topic_key(sub)
            if self._topics.pop(key, False) is not False:
                self._upstream.leave(self, key)
        if subs:
            self.outbox.put(frames.reply("unsubscribed", request_id, subs))
        if reasons:
            self.outbox.put(frames.error(reasons, request_id))
