"""Reconnect backoff policy."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the stream reconnects after a transient disconnect.

    ``delay(n)`` for the n-th consecutive attempt is ``min(max_delay, base_delay * 2**(n-1))``
    plus a uniform jitter in ``[0, jitter]``. ``max_retries=None`` retries forever.
    The attempt counter only resets once a connection has stayed up for ``healthy_after``
    seconds, so a server that accepts and drops at once is not hammered at the base delay.
    """

    enabled: bool = True
    max_retries: int | None = None
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 1.0
    healthy_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 or None, got {self.max_retries!r}")
        for name in ("base_delay", "max_delay", "jitter", "healthy_after"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempt is 1-based, got {attempt!r}")
        # Cap the exponent so huge attempt counts cannot overflow the float.
        backoff = self.base_delay * 2.0 ** min(attempt - 1, 62)
        return min(self.max_delay, backoff) + random.uniform(0.0, self.jitter)

    def exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` exceeds ``max_retries``."""
        return self.max_retries is not None and attempt > self.max_retries
