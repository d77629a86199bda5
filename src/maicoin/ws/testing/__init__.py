"""An embedded MAX exchange simulator for tests, demos, benchmarks and offline bots.

``MaxSimulator`` is a real WebSocket server on loopback that speaks the MAX protocol, knows
the true order book at every update id and can misbehave on request (``Faults``,
``SimConnection`` methods, ``MaxSimulator.refuse_handshakes`` and friends).
``start_blast_server`` runs a separate process that writes pre-encoded frames as fast as the
socket takes them, for throughput benchmarks. ``python -m maicoin.ws.testing`` (or
``run_simulator``) serves one from the command line.

Its frames are built as plain dicts, never with the client's models, so a decoding bug in
the client cannot be hidden by the same bug here.
"""

from __future__ import annotations

from .auth import NONCE_WINDOW_MS, auth_request, sign
from .blast import BlastResult, BlastServer, SendRate, measure_send_rate, start_blast_server
from .blast_stream import BlastStream, blast_stream
from .catalog import BOOK_DEPTHS, KLINE_RESOLUTIONS, MarketSpec, market_spec
from .cli import add_arguments, main, run_from_args, run_simulator
from .clock import Clock, ManualClock
from .connection import ReceivedRequest, SimConnection
from .faults import Faults
from .server import MaxSimulator

__all__ = [
    "BOOK_DEPTHS",
    "KLINE_RESOLUTIONS",
    "NONCE_WINDOW_MS",
    "BlastResult",
    "BlastServer",
    "BlastStream",
    "Clock",
    "Faults",
    "ManualClock",
    "MarketSpec",
    "MaxSimulator",
    "ReceivedRequest",
    "SendRate",
    "SimConnection",
    "add_arguments",
    "auth_request",
    "blast_stream",
    "main",
    "market_spec",
    "measure_send_rate",
    "run_from_args",
    "run_simulator",
    "sign",
    "start_blast_server",
]
