"""Server time for the simulator: injectable, so tests can move it instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""A function returning the current Unix time in seconds (``time.time`` by default)."""


def now_ms(clock: Clock) -> int:
    """The clock's current time as Unix milliseconds, the unit of every ``T`` on the wire."""
    return int(clock() * 1000)


class ManualClock:
    """A clock that only moves when told to: ``clock.advance(60)`` closes a 1m candle at once.

    Starts at ``start`` (Unix seconds, default: the real time now).
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        self._now += seconds

    def set(self, now: float) -> None:
        """Jump to the Unix time ``now``, forwards or backwards."""
        self._now = float(now)
