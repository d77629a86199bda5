"""Which handlers a frame goes to: ``Route`` (a handler with filters) and the route table rules.

Owned by neither dispatcher twin; both build their per-frame tuples with ``routes_for``, so
the matching rule has one definition. A ``stream.handlers`` entry is either a plain callable
(every frame) or a ``Route`` (frames of its channel, market and event). The dispatchers index
the list by ``(channel, market, event)`` into one tuple per key, in list order, so a frame
costs one dict lookup however many filtered handlers there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias, final

from ..channel import PRIVATE_CHANNEL_FILTERS, Channel
from ..response import Event

__all__ = [
    "ROUTE_CACHE_LIMIT",
    "Handler",
    "Route",
    "RouteKey",
    "checked_channel",
    "checked_event",
    "checked_market",
    "has_routes",
    "resume_index",
    "route_key",
    "routes_for",
]

Handler: TypeAlias = Callable[[Any], Any]
"""A handler: called with each response it gets (sync, or returning an awaitable)."""
RouteKey: TypeAlias = tuple[Any, Any, Any]
"""A frame's ``(channel, market, event)``: what a route table is keyed by."""

ROUTE_CACHE_LIMIT: Final = 4096
"""Keys a dispatcher's route table holds before it starts afresh (unknown markets and events
from the wire must not grow it without bound)."""

# Frames carry these channels; the private ones of ``Channel`` only choose auth filters.
_FRAME_CHANNELS: Final = tuple(c for c in Channel if c not in PRIVATE_CHANNEL_FILTERS)


def checked_channel(channel: object) -> Channel | None:
    """``channel`` as a ``Channel`` a frame can carry (member or its string), or None."""
    if channel is None:
        return None
    for known in _FRAME_CHANNELS:
        if channel == known:
            return known
    names = ", ".join(c.value for c in _FRAME_CHANNELS)
    if isinstance(channel, str) and channel in PRIVATE_CHANNEL_FILTERS:
        raise ValueError(
            f"channel {str(channel)!r} is a subscription, not a frame channel: private events "
            f"come on channel 'user' (filter them by event, e.g. event='order_update')"
        )
    raise ValueError(f"unknown channel {channel!r}; frames carry one of: {names}")


def checked_event(event: object) -> Event | None:
    """``event`` as an ``Event`` (member or its string), or None."""
    if event is None:
        return None
    for known in Event:
        if event == known:
            return known
    names = ", ".join(e.value for e in Event)
    raise ValueError(f"unknown event {event!r}; events are: {names}")


def checked_market(market: object) -> str | None:
    """``market`` if it is a non-empty string (as the frames' ``M`` spells it), or None."""
    if market is None or (isinstance(market, str) and market):
        return market
    raise ValueError(f"market must be a non-empty string such as 'btctwd'; got {market!r}")


@final
class Route:
    """A handler called only for the frames of its ``channel``, ``market`` and ``event``.

    What ``stream.add_handler(handler, channel=..., market=..., event=...)`` puts in
    ``stream.handlers``; a filter left None matches every frame. Immutable, so the
    dispatchers' tables built from it stay true. Calling a route calls its handler when the
    response matches (and returns None otherwise), so the list means the same whether the
    dispatcher or anyone else walks it.
    """

    __slots__ = ("_channel", "_event", "_handler", "_market")

    def __init__(
        self,
        handler: Handler,
        *,
        channel: Channel | str | None = None,
        market: str | None = None,
        event: Event | str | None = None,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        self._handler = handler
        self._channel = checked_channel(channel)
        self._market = checked_market(market)
        self._event = checked_event(event)

    @property
    def handler(self) -> Handler:
        """The callable the route calls."""
        return self._handler

    @property
    def channel(self) -> Channel | None:
        """The channel of the frames routed (None: any)."""
        return self._channel

    @property
    def market(self) -> str | None:
        """The market of the frames routed (None: any)."""
        return self._market

    @property
    def event(self) -> Event | None:
        """The event of the frames routed (None: any)."""
        return self._event

    def matches(self, channel: object, market: object, event: object) -> bool:
        """True when a frame of this channel, market and event goes to the handler."""
        return (
            (self._channel is None or self._channel == channel)
            and (self._market is None or self._market == market)
            and (self._event is None or self._event == event)
        )

    def __call__(self, response: Any) -> Any:
        if self.matches(*route_key(response)):
            return self._handler(response)
        return None

    def __eq__(self, other: object) -> bool:
        if type(other) is not Route:
            return NotImplemented
        return (self._handler, self._channel, self._market, self._event) == (
            other._handler,
            other._channel,
            other._market,
            other._event,
        )

    def __hash__(self) -> int:
        return hash((self._handler, self._channel, self._market, self._event))

    def __repr__(self) -> str:
        filters = [
            f"{name}={str(value)!r}"
            for name, value in (
                ("channel", self._channel),
                ("market", self._market),
                ("event", self._event),
            )
            if value is not None
        ]
        return f"Route({self._handler!r}, {', '.join(filters)})"


def route_key(response: Any) -> RouteKey:
    """The ``(channel, market, event)`` of a response; None for what it does not have."""
    return (
        getattr(response, "channel", None),
        getattr(response, "market", None),
        getattr(response, "event", None),
    )


def has_routes(handlers: Sequence[Handler]) -> bool:
    """True when some entry is a ``Route``: frames must then be looked up by key."""
    return any(type(entry) is Route for entry in handlers)


def routes_for(handlers: Sequence[Handler], key: RouteKey) -> tuple[Handler, ...]:
    """The callables a frame of ``key`` goes to, in list (registration) order."""
    channel, market, event = key
    matched: list[Handler] = []
    for entry in handlers:
        if type(entry) is not Route:
            matched.append(entry)
        elif entry.matches(channel, market, event):
            matched.append(entry.handler)
    return tuple(matched)


def resume_index(routes: tuple[Handler, ...], called: tuple[Handler, ...]) -> int:
    """Where a frame's delivery goes on in ``routes`` (rebuilt after ``handlers`` changed)
    once the handlers ``called`` ran: past each of them still there, in order, so an
    appended handler gets the frame and a removed one costs no other its call."""
    position = 0
    for handler in called:
        for index in range(position, len(routes)):
            if routes[index] is handler:
                position = index + 1
                break
    return position
