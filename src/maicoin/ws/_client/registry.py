"""The requests a stream replays on every connection: subscriptions and auth filters.

MAX has no per-channel private subscription: private families are picked by the auth
request's ``filters``. The seed guide's private channels (ORDER, TRADE_UPDATE,
BALANCE_UPDATE) therefore become filters here and are never sent as ``sub``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..channel import Channel, auth_filter_for
from ..errors import SubscriptionError, ValidationError
from ..filter import Filter
from ..kline import RESOLUTIONS
from ..subscription import Subscription

BOOK_DEPTHS: tuple[int, ...] = (1, 5, 10, 20, 50)
_NEEDS_MARKET = frozenset({Channel.BOOK, Channel.TRADE, Channel.TICKER, Channel.KLINE})

SubscriptionKey = tuple[str, str | None, str | None]


def subscription_key(sub: Subscription) -> SubscriptionKey:
    """Identity of a subscription on the wire: one per channel, market and currency."""
    return (str(sub.channel), sub.market, sub.currency)


def validate_subscription(sub: Subscription) -> None:
    """Raise SubscriptionError naming what MAX would refuse, before anything is sent."""
    channel = sub.channel
    if channel in _NEEDS_MARKET and not sub.market:
        raise SubscriptionError(f"channel {channel!s} needs a market, e.g. market='btcusdt'")
    if channel == Channel.BOOK and sub.depth is not None and sub.depth not in BOOK_DEPTHS:
        raise SubscriptionError(f"book depth must be one of {BOOK_DEPTHS}, got {sub.depth!r}")
    resolution = sub.resolution
    if channel == Channel.KLINE and resolution is not None and resolution not in RESOLUTIONS:
        raise SubscriptionError(
            f"kline resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}"
        )
    if channel == Channel.POOL_QUOTA and not sub.currency:
        raise SubscriptionError("channel pool_quota needs a currency, e.g. currency='usdt'")


def public_subscriptions(
    objects: object, key: str, *, private_reason: str
) -> tuple[list[Subscription], list[str]]:
    """The public subscriptions of a consumer's ``sub``/``unsub`` objects (``key`` names the
    list), and a reason for each object refused, in request order: invalid, private (with
    ``private_reason``) or of a channel that does not exist."""
    if not isinstance(objects, list):
        return [], [f"{key} must be a list of subscription objects"]
    subs: list[Subscription] = []
    reasons: list[str] = []
    for obj in objects:
        try:
            sub = Subscription.model_validate(obj)
            validate_subscription(sub)
        except (ValidationError, SubscriptionError) as exc:
            reasons.append(f"invalid subscription {obj!r}: {exc}")
            continue
        if sub.channel == Channel.USER or auth_filter_for(sub.channel) is not None:
            reasons.append(f"channel {sub.channel} is private: {private_reason}")
        elif not isinstance(sub.channel, Channel):
            reasons.append(f"channel {sub.channel} does not exist")
        else:
            subs.append(sub)
    return subs, reasons


class SubscriptionRegistry:
    """Public subscriptions by identity, plus the private filters they imply."""

    def __init__(self) -> None:
        self._public: dict[SubscriptionKey, Subscription] = {}
        self._private: dict[Filter, None] = {}

    @property
    def public(self) -> list[Subscription]:
        return list(self._public.values())

    @property
    def private_filters(self) -> list[Filter]:
        return list(self._private)

    def add(self, subscriptions: Iterable[Subscription]) -> list[Subscription]:
        """Remember subscriptions; return the public ones that are new or changed."""
        subs = list(subscriptions)
        for sub in subs:
            validate_subscription(sub)
            self._check_one_depth(sub, subs)
        added: list[Subscription] = []
        for sub in subs:
            private = auth_filter_for(sub.channel)
            if private is not None:
                self._private[private] = None
                continue
            key = subscription_key(sub)
            if self._public.get(key) != sub:
                self._public[key] = sub
                added.append(sub)
        return added

    def _check_one_depth(self, sub: Subscription, batch: list[Subscription]) -> None:
        """One book depth per market per socket: MAX's book frames carry no depth, so two
        depths of one market on one connection interleave streams nobody can tell apart."""
        if sub.channel != Channel.BOOK:
            return
        key = subscription_key(sub)
        held = self._public.get(key)
        others = [held] if held is not None else []
        others += [other for other in batch if subscription_key(other) == key]
        for other in others:
            if other.depth != sub.depth:
                raise SubscriptionError(
                    f"the {sub.market} book cannot be subscribed at depth {sub.depth} and at "
                    f"depth {other.depth} on one stream: MAX's book frames carry no depth. "
                    "Unsubscribe the other depth first, or use a second Stream",
                    subscriptions=[sub],
                )

    def remove(self, subscriptions: Iterable[Subscription]) -> list[Subscription]:
        """Forget subscriptions; return the public ones that were active (to unsubscribe)."""
        removed: list[Subscription] = []
        for sub in subscriptions:
            private = auth_filter_for(sub.channel)
            if private is not None:
                self._private.pop(private, None)
                continue
            known = self._public.pop(subscription_key(sub), None)
            if known is not None:
                removed.append(known)
        return removed

    def find(self, channel: Channel, market: str) -> Subscription | None:
        return self._public.get((str(channel), market, None))


def as_filter(value: Filter | str) -> Filter | str:
    """The Filter member for a wire string; a family this version does not know stays a str."""
    try:
        return Filter(value)
    except ValueError:
        return value


def merged_filters(
    explicit: Iterable[Filter | str] | None, private: Iterable[Filter]
) -> list[Filter | str] | None:
    """Auth filters: the user's explicit ones plus those implied by private channels.

    None (the server's default of order, trade, account) when neither names any.
    """
    merged = dict.fromkeys(as_filter(f) for f in explicit or ())
    merged.update(dict.fromkeys(private))
    return list(merged) or None
