"""The list of requests a stream sends on every connection, kept in the original's shape.

``Stream.requests`` is a plain list, as in the original module: code may read and extend it,
and each connection sends it in order, every ``sub`` request with its own id. Only the
stream's own ``auth`` request is signed afresh per connection (a nonce is used once).

A subscribe of many subscriptions becomes several small ``sub`` requests: the live exchange
answers one 74-market request with snapshots that race its updates, and small requests go
out paced by the request rate limiter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..channel import Channel
from ..request import Action, Request
from ..subscription import Subscription
from .registry import SubscriptionKey, subscription_key

__all__ = [
    "SUBSCRIPTIONS_PER_REQUEST",
    "describe",
    "drop_subscriptions",
    "find_sub_request",
    "refused_by",
    "sub_requests",
]

SUBSCRIPTIONS_PER_REQUEST = 10

# The exchange's plain-text refusals name what it refused (protocol.md, "Errors without codes").
_REFUSED_MARKET = re.compile(r"market (\S+) does not exist")
_REFUSED_DEPTH = re.compile(r"depth (\d+) is not supported")
_REFUSED_CHANNEL = re.compile(r"channel (\S+) does not exist")


def sub_requests(subscriptions: Sequence[Subscription]) -> list[Request]:
    """``sub`` requests of at most ``SUBSCRIPTIONS_PER_REQUEST`` subscriptions each."""
    step = SUBSCRIPTIONS_PER_REQUEST
    return [
        Request.subscribe(subscriptions[start : start + step])
        for start in range(0, len(subscriptions), step)
    ]


def find_sub_request(requests: Iterable[Request], request_id: str | None) -> Request | None:
    """The ``sub`` request of ``requests`` with this id, if any."""
    if not request_id:
        return None
    for request in requests:
        if request.id == request_id and request.action == Action.Subscribe:
            return request
    return None


def drop_subscriptions(requests: list[Request], keys: set[SubscriptionKey]) -> None:
    """Remove these subscriptions from every ``sub`` request, in place; ids are kept and a
    request left empty leaves the list."""
    kept: list[Request] = []
    for request in requests:
        subs = request.subscriptions
        if request.action != Action.Subscribe or not subs:
            kept.append(request)
            continue
        rest = [sub for sub in subs if subscription_key(sub) not in keys]
        if len(rest) == len(subs):
            kept.append(request)
        elif rest:
            kept.append(Request(action=Action.Subscribe, id=request.id, subscriptions=rest))
    requests[:] = kept


def refused_by(subscriptions: Sequence[Subscription], reasons: Sequence[str]) -> list[Subscription]:
    """The subscriptions of a refused ``sub`` request that the exchange's reasons name.

    A reason names a market, a depth or a channel; a reason that names none of the request's
    subscriptions refuses them all (nothing shows which one was meant).
    """
    refused: dict[SubscriptionKey, Subscription] = {}
    for reason in reasons:
        named = _named(subscriptions, reason)
        for sub in named if named else subscriptions:
            refused[subscription_key(sub)] = sub
    return list(refused.values())


def _named(subscriptions: Sequence[Subscription], reason: str) -> list[Subscription]:
    if match := _REFUSED_MARKET.search(reason):
        return [sub for sub in subscriptions if sub.market == match[1]]
    if match := _REFUSED_DEPTH.search(reason):
        depth = int(match[1])
        return [sub for sub in subscriptions if sub.channel == Channel.BOOK and sub.depth == depth]
    if match := _REFUSED_CHANNEL.search(reason):
        return [sub for sub in subscriptions if str(sub.channel) == match[1]]
    return []


def describe(subscriptions: Iterable[Subscription]) -> str:
    """Subscriptions as the CLI spells them: ``book:btcusdt:5, ticker:ethusdt``."""
    parts = []
    for sub in subscriptions:
        words = [str(sub.channel)]
        if sub.market:
            words.append(sub.market)
        if sub.currency:
            words.append(sub.currency)
        if sub.depth is not None:
            words.append(str(sub.depth))
        if sub.resolution is not None:
            words.append(str(sub.resolution))
        parts.append(":".join(words))
    return ", ".join(parts)
