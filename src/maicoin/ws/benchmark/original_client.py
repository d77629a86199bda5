"""A latency run of the original ``maicoin.ws``: ``python original_client.py '<json>'``.

Run as a script by an interpreter that has the original distribution (``maicoin`` from
PyPI, pydantic models) installed and not this package: both are ``maicoin.ws``, so this file
imports nothing of this package and takes the fields of a ``RunConfig`` it needs from the
JSON. Its ``Stream`` (inline, reading with ``recv()``, ``Response.model_validate_json`` per
frame) calls a handler that keeps its entry time, CLOCK_MONOTONIC ns, for every response;
it prints one JSON line as ``client`` does: frames counted, seconds and CPU seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import sys
import time
from array import array
from typing import Any

# The original's package, not this one: imported by name, so no type checker takes it for ours.
original: Any = importlib.import_module("maicoin.ws")


async def run(config: dict[str, Any]) -> tuple[dict[str, Any], array[int]]:
    """Run the stream until the last frame; return the report and the handler times."""
    expected: int = config["expected"]
    stamps: array[int] = array("q")
    stamp, now = stamps.append, time.monotonic_ns
    done = asyncio.get_running_loop().create_future()
    counted = 0
    started: list[float] = []

    def count(_response: object) -> None:
        nonlocal counted
        stamp(now())
        counted += 1
        if counted == expected and not done.done():
            done.set_result((time.perf_counter(), time.process_time()))

    def on_connected(_: BaseException | None) -> None:
        started[:] = [time.perf_counter(), time.process_time()]

    stream = original.Stream(
        uri=config["uri"],
        reconnect=False,
        on_connected=on_connected,
        compression="deflate" if config["compression"] else None,
    )
    book = original.Subscription(
        channel=original.Channel.BOOK, market=config["market"], depth=config["depth"]
    )
    stream.subscribe([book])
    stream.add_handler(count)
    runner = asyncio.get_running_loop().create_task(stream.arun())
    await asyncio.wait([runner, done], return_when=asyncio.FIRST_COMPLETED)
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await runner
    ended_wall, ended_cpu = done.result() if done.done() else (time.perf_counter(), 0.0)
    return {
        "received": counted,
        "seconds": ended_wall - started[0] if started else 0.0,
        "cpu_seconds": ended_cpu - started[1] if started and ended_cpu else 0.0,
        "book": None,
        "synced": None,
    }, stamps


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop if config["loop"] == "uvloop" else None
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        report, stamps = runner.run(run(config))
    with open(config["stamps"], "wb") as out:
        stamps.tofile(out)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
