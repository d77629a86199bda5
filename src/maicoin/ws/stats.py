"""Counters a running stream keeps about itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for logging or JSON)."""
        return asdict(self)
