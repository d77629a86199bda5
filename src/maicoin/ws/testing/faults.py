"""Fault switches: what a connection does wrong, and handshake refusals."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Faults:
    """Per-connection misbehaviour. ``MaxSimulator.faults`` is copied onto each new connection;
    change ``connection.faults`` to affect one live connection.

    Counts are of frames the server sent on that connection (replies included); times are
    seconds of real (event loop) time from the handshake.
    """

    close_after_frames: int | None = None
    """Close cleanly (close frame with ``close_code``) after this many frames."""
    abort_after_frames: int | None = None
    """Drop the TCP connection (no close frame) after this many frames."""
    close_after_seconds: float | None = None
    """Close cleanly this long after the handshake (read once, when the connection opens)."""
    abort_after_seconds: float | None = None
    """Drop the TCP connection this long after the handshake (read when it opens)."""
    close_code: int = 1001
    close_reason: str = "simulated close"
    mute_pings: bool = False
    """Stop answering pings: no pong is ever sent back."""
    delay: float = 0.0
    """Hold every frame this many seconds before sending it (order is kept)."""
    extra_keys: bool = False
    """Add unknown keys to every frame, at the top level and inside nested objects."""
    unknown_every: int | None = None
    """After every N ordinary frames, also send one unknown event and one unknown channel."""
    malformed_every: int | None = None
    """After every N ordinary frames, also send one frame that is not JSON."""

    def __post_init__(self) -> None:
        for name in (
            "close_after_frames",
            "abort_after_frames",
            "unknown_every",
            "malformed_every",
        ):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        for name in ("close_after_seconds", "abort_after_seconds"):
            value = getattr(self, name)
            if value is not None and not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a non-negative number or None, got {value!r}")
        if not (self.delay >= 0 and math.isfinite(self.delay)):
            raise ValueError(f"delay must be a non-negative number, got {self.delay!r}")


@dataclass(slots=True)
class HandshakeRefusal:
    """Answer handshakes with HTTP 429 and ``Retry-After: <Unix seconds>``.

    Refuses the next ``count`` handshakes (None: no limit) while the server clock is before
    ``until`` (None: no time limit).
    """

    retry_after: int
    count: int | None = None
    until: float | None = None

    def applies(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.count is None or self.count > 0

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1
