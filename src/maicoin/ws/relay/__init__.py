"""Fan-out: one upstream connection to MAX served to many local consumers (``Relay``).

``maicoin-ws relay --port P [SUBSCRIPTION...]`` runs one from the shell.
"""

from __future__ import annotations

from .outbox import DEFAULT_MAX_BUFFER, SLOW_CONSUMER_CLOSE_CODE
from .server import Relay
from .stats import RelayStats
from .upstream import FrameSink

__all__ = ["DEFAULT_MAX_BUFFER", "SLOW_CONSUMER_CLOSE_CODE", "FrameSink", "Relay", "RelayStats"]
