"""Client-side request rate limit, so replays and resyncs never get the IP banned.

MAX rate-limits more than 20 request messages a second or 200 a minute per IP. The limiter
keeps the send times of recent requests and sleeps until a request fits both windows. It
holds no loop-bound primitive, so one limiter may be shared by streams on any event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

#: (requests, window seconds) pairs MAX enforces per IP.
MAX_REQUEST_LIMITS: tuple[tuple[int, float], ...] = ((20, 1.0), (200, 60.0))


class RequestRateLimiter:
    """Sliding-window limiter over several (count, seconds) limits."""

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = MAX_REQUEST_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not limits or any(count < 1 or window <= 0 for count, window in limits):
            raise ValueError(f"limits must be (count >= 1, seconds > 0) pairs, got {limits!r}")
        self.limits = limits
        self._clock = clock
        self._sent: deque[float] = deque(maxlen=max(count for count, _ in limits))

    def wait_time(self) -> float:
        """Seconds until one more request would fit every window (0 if it fits now)."""
        now = self._clock()
        wait = 0.0
        sent = self._sent
        for count, window in self.limits:
            if len(sent) >= count:
                # The count-th most recent send must have left the window.
                wait = max(wait, sent[-count] + window - now)
        return wait

    def record(self) -> None:
        self._sent.append(self._clock())

    async def acquire(self) -> None:
        """Wait until a request may be sent, then count it as sent."""
        # Re-check after sleeping: another sender may have taken the slot meanwhile.
        while (wait := self.wait_time()) > 0:  # noqa: ASYNC110 - time-based, nothing to wait on
            await asyncio.sleep(wait)
        self.record()
