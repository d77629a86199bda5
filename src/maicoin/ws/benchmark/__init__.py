"""The end-to-end benchmark: a blast server in one process, the client in another.

``run_benchmark()`` measures messages per second and process CPU per message for every
transport x event loop x path: the bare receive loop (the ceiling), receive + decode,
receive + decode + book, and a full ``Stream`` in each dispatch mode with the book kept and a
counting sync handler. Every run checks itself: frames counted == frames sent, the book
synced and equal to the server's, no resync. ``run_memory()`` follows the RSS of one Stream
over millions of frames. ``run_latency()`` measures wire-to-handler latency against a paced
server. ``format_*`` and ``write_*chart`` turn results into Markdown and PNG.
"""

from __future__ import annotations

from .chart import write_chart, write_latency_chart
from .config import BARE_MODES, LOOPS, MODES, QUEUE_SIZE, STREAM_MODES, TRANSPORTS, RunConfig
from .latency import LATENCY_PATHS, ClientPath, Latency, format_latency, run_latency
from .report import Result, format_memory, format_ratios, format_stages, format_table
from .runner import run_benchmark, run_memory

__all__ = [
    "BARE_MODES",
    "LATENCY_PATHS",
    "LOOPS",
    "MODES",
    "QUEUE_SIZE",
    "STREAM_MODES",
    "TRANSPORTS",
    "ClientPath",
    "Latency",
    "Result",
    "RunConfig",
    "format_latency",
    "format_memory",
    "format_ratios",
    "format_stages",
    "format_table",
    "run_benchmark",
    "run_latency",
    "run_memory",
    "write_chart",
    "write_latency_chart",
]
