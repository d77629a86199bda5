"""Counters a running stream keeps about itself."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .feed_lag import FeedLag


@dataclass(slots=True)
class StreamStats:
    """What ``stream.stats`` reports. Plain attributes: cheap to bump on the frame path."""

    messages: int = 0
    bytes: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    connections: int = 0
    resyncs: int = 0
    handler_errors: int = 0
    requests_sent: int = 0
    last_receive_time: float | None = None
    """Wall-clock Unix time of the last frame received (None before the first)."""
    ping_rtt: float | None = None
    """Seconds the last application ping (``await stream.ping()``) took to be answered."""
    feed_lag: FeedLag = field(default_factory=FeedLag)
    """Per channel, how long after the exchange's ``T`` frames arrived (``feed_lag``)."""

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for logging or JSON); ``feed_lag`` as its summary."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["feed_lag"] = self.feed_lag.as_dict()
        return values
