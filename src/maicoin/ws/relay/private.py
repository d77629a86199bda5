"""``PrivateFeed``: the relay's account, served to consumers that authenticate as it does.

The relay's upstream stream authenticates with :data:`RELAYED_FILTERS` and keeps its
account caches. A consumer's ``auth`` is checked as the exchange checks it, by the
simulator's own check (``maicoin.ws._auth_check``): the relay's API key, an HMAC-SHA256
signature of the nonce made with the relay's secret, a nonce within 30 s of now and never
used before; each refusal is the exchange's error (E-1007, E-1006, E-1012, E-1101). A
filter family the relay does not carry (``ad_ratio``, ``borrowing``: the stream keeps no
cache of them to start a consumer from) is refused as an invalid filter.

An authenticated consumer gets, for each snapshot event its filters want (filters mean what
they mean to MAX, see ``EVENT_FILTERS``), a snapshot built from the relay's cache, at once
when the cache is synced, else when its upstream snapshot comes; the upstream snapshot of a
reconnect reaches every authenticated consumer the same way. Other private frames are
forwarded raw to consumers whose filters want their event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

from .._auth_check import EVENT_FILTERS, INVALID_FILTER, AuthRefused, NonceLedger, check_auth
from .._client.credentials import Credentials
from .._model import mask
from .._replies import now_ms
from ..response import Response
from ..stream import Stream
from . import frames
from .stats import RelayStats

__all__ = ["RELAYED_FILTERS", "PrivateFeed", "PrivateListener"]

log = logging.getLogger("maicoin.ws.relay")

RELAYED_FILTERS: Final = (
    "order",
    "trade",
    "account",
    "fast_trade_update",
    "mwallet_order",
    "mwallet_trade",
    "mwallet_fast_trade_update",
    "mwallet_account",
)
"""The families the relay's upstream authenticates with: every one the stream keeps a cache
of (``trade`` includes ``trade_update``)."""

_RELAYED: Final = frozenset(RELAYED_FILTERS) | {"trade_update"}

_Cache = Callable[[Stream], tuple[bool, Iterable[Any]]]

# snapshot event -> (the wire key of its list, the cache it is built from: synced, items)
SNAPSHOTS: Final[Mapping[str, tuple[str, _Cache]]] = {
    "order_snapshot": ("o", lambda s: (s.orders.synced, s.orders.values())),
    "trade_snapshot": ("t", lambda s: (s.trades.synced, s.trades())),
    "account_snapshot": ("B", lambda s: (s.balances.synced, s.balances.values())),
    "mwallet_order_snapshot": (
        "o",
        lambda s: (s.mwallet_orders.synced, s.mwallet_orders.values()),
    ),
    "mwallet_trade_snapshot": ("t", lambda s: (s.mwallet_trades.synced, s.mwallet_trades())),
    "mwallet_account_snapshot": (
        "B",
        lambda s: (s.mwallet_balances.synced, s.mwallet_balances.values()),
    ),
}


class PrivateListener(Protocol):
    """An authenticated consumer connection."""

    name: str

    def deliver(self, frame: bytes) -> None:
        """Queue one encoded frame; never blocks."""
        ...


def wanted(event: str, filters: frozenset[str]) -> bool:
    """Whether a consumer authenticated with ``filters`` gets ``event`` (as on MAX)."""
    families = EVENT_FILTERS.get(event)
    return families is not None and not families.isdisjoint(filters)


class PrivateFeed:
    """Checks consumers' auth against the relay's credentials and feeds them its account."""

    def __init__(self, stream: Stream, credentials: Credentials, stats: RelayStats) -> None:
        self._stream = stream
        self._keys = {credentials.api_key: credentials.api_secret}
        self._masked_key = mask(credentials.api_key)
        self._ledger = NonceLedger()
        self._stats = stats
        self.listeners: dict[PrivateListener, frozenset[str]] = {}
        """Authenticated consumers and the families each asked for."""

    def __repr__(self) -> str:
        return f"<PrivateFeed api_key={self._masked_key} listeners={len(self.listeners)}>"

    def authenticate(self, listener: PrivateListener, request: Mapping[str, Any]) -> None:
        """Check ``request`` (raising ``AuthRefused`` with the exchange's code) and add
        ``listener`` with its filters; the caller sends the reply, then :meth:`start`."""
        try:
            _, filters = check_auth(request, self._keys, self._ledger, now_ms())
            not_carried = sorted(filters - _RELAYED)
            if not_carried:
                raise AuthRefused(
                    INVALID_FILTER, f"this relay does not carry {', '.join(not_carried)}"
                )
        except AuthRefused as exc:
            self._stats.auth_refused += 1
            log.warning("consumer %s: auth refused: %s", listener.name, exc)
            raise
        self.listeners[listener] = filters
        log.info("consumer %s authenticated for %s", listener.name, ", ".join(sorted(filters)))

    def start(self, listener: PrivateListener) -> None:
        """Send ``listener`` the snapshots its filters want whose caches are synced (the
        others follow their upstream snapshots)."""
        filters = self.listeners[listener]
        for event in SNAPSHOTS:
            if wanted(event, filters):
                frame = self._snapshot(event, only_synced=True)
                if frame is not None:
                    listener.deliver(frame)

    def leave(self, listener: PrivateListener) -> None:
        self.listeners.pop(listener, None)

    def on_response(self, response: Response, raw: bytes) -> None:
        """One upstream ``user`` frame, already applied to the relay's caches."""
        event = str(response.event)
        receivers = [lst for lst, filters in self.listeners.items() if wanted(event, filters)]
        if event in SNAPSHOTS:
            frame = self._snapshot(event, only_synced=False) if receivers else None
        elif event in EVENT_FILTERS:
            frame = raw
        else:
            self._stats.frames_unrouted += 1
            log.debug("private event %s is not relayed; dropped", event)
            return
        if frame is None:
            return
        self._stats.private_frames_relayed += 1
        for listener in receivers:
            listener.deliver(frame)

    def _snapshot(self, event: str, *, only_synced: bool) -> bytes | None:
        key, cache = SNAPSHOTS[event]
        synced, items = cache(self._stream)
        if only_synced and not synced:
            return None
        self._stats.snapshots_built += 1
        return frames.user_snapshot(event, key, items)
