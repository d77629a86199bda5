"""The relay's counters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RelayStats"]


@dataclass
class RelayStats:
    """What the relay has done since it started."""

    consumers: int = 0
    """Consumer connections open now."""
    consumers_total: int = 0
    """Consumer connections accepted since the start."""
    slow_consumers: int = 0
    """Consumers cut off because their send buffer passed its bound."""
    frames_relayed: int = 0
    """Upstream frames fanned out (each counted once, however many listeners)."""
    frames_unrouted: int = 0
    """Upstream frames no topic wanted (in flight across an unsubscribe), dropped."""
    snapshots_built: int = 0
    """Snapshots built from the relay's own books and account caches."""
    private_frames_relayed: int = 0
    """Upstream private frames fanned out to authenticated consumers (each counted once)."""
    auth_refused: int = 0
    """Consumer ``auth`` requests refused."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
