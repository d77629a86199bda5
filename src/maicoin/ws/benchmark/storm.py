"""The snapshot storm: 74 markets at depth 50 subscribed at once, time until every book syncs.

``run_storm()`` starts the embedded simulator in its own process (74 markets, live-like:
bids worst first, shuffled levels, subscribe races, permessage-deflate when offered) and
runs each client in a fresh one: ``python -m maicoin.ws.benchmark.storm '<json>'``. The
client's Stream subscribes every book once connected (in the requests the Stream splits a
large subscribe into); the time runs from the connection to the frame after which every
book is synced.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._event_loop import loop_factory
from ..channel import Channel
from ..reconnect import ReconnectPolicy
from ..stream import Stream
from ..subscription import Subscription
from ..testing.catalog import MARKETS

STORM_MARKETS: tuple[str, ...] = (*MARKETS, *(f"alt{n:02d}usdt" for n in range(74 - len(MARKETS))))
"""74 market names the simulator knows: its catalog, then generic ``alt<n>usdt`` markets."""
STORM_CLIENTS: tuple[tuple[str, bool], ...] = (
    ("websockets", False),
    ("websockets", True),
    ("picows", False),
)
"""(transport, compression) of each measured client."""

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Storm:
    """One client's storm: seconds from connected to every book synced, and frames read."""

    transport: str
    compression: bool
    markets: int
    seconds: float
    frames: int
    resyncs: int
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "compression": self.compression,
            "markets": self.markets,
            "seconds": self.seconds,
            "frames": self.frames,
            "resyncs": self.resyncs,
            "problems": list(self.problems),
        }


@contextmanager
def simulator_process(markets: Sequence[str], *, seed: int = 0) -> Iterator[str]:
    """A simulator serving ``markets`` in a child process; yields its URI."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "maicoin.ws.testing", "--port", "0", "--seed", str(seed)]
    process = subprocess.Popen(
        [*command, "--markets", *markets], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if " on " not in line:
            raise RuntimeError(f"the simulator did not start: {line.strip() or 'no output'}")
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_storm(
    *,
    markets: Sequence[str] = STORM_MARKETS,
    depth: int = 50,
    clients: Sequence[tuple[str, bool]] = STORM_CLIENTS,
    repeat: int = 3,
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> list[Storm]:
    """Each client ``repeat`` times, interleaved, against one simulator; the fastest kept."""
    runs: dict[tuple[str, bool], list[Storm]] = {client: [] for client in clients}
    with simulator_process(markets) as uri:
        for _ in range(repeat):
            for transport, compression in clients:
                storm = _run_client(
                    uri, transport, compression, markets=markets, depth=depth, timeout=timeout
                )
                runs[(transport, compression)].append(storm)
                if progress is not None:
                    progress(
                        f"storm {transport:<10} {'deflate' if compression else 'plain':<7} "
                        f"{storm.seconds * 1e3:8.1f} ms, {storm.frames} frames"
                        + ("" if storm.ok else f"  WRONG: {'; '.join(storm.problems)}")
                    )
    results = []
    for storms in runs.values():
        problems = tuple(dict.fromkeys(p for s in storms for p in s.problems))
        fastest = min(storms, key=lambda s: s.seconds if s.ok else float("inf"))
        results.append(
            Storm(
                fastest.transport,
                fastest.compression,
                fastest.markets,
                fastest.seconds,
                fastest.frames,
                fastest.resyncs,
                problems,
            )
        )
    return results


def _run_client(
    uri: str,
    transport: str,
    compression: bool,
    *,
    markets: Sequence[str],
    depth: int,
    timeout: float,
) -> Storm:
    options = {
        "uri": uri,
        "transport": transport,
        "compression": compression,
        "markets": list(markets),
        "depth": depth,
    }
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "maicoin.ws.benchmark.storm", json.dumps(options)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return Storm(transport, compression, len(markets), 0.0, 0, 0, ("timed out",))
    if done.returncode != 0:
        tail = " / ".join(done.stderr.strip().splitlines()[-3:])
        return Storm(transport, compression, len(markets), 0.0, 0, 0, (f"client failed: {tail}",))
    report = json.loads(done.stdout.strip().splitlines()[-1])
    problems = [] if report["synced"] == len(markets) else [f"{report['synced']} books synced"]
    return Storm(
        transport,
        compression,
        len(markets),
        report["seconds"],
        report["frames"],
        report["resyncs"],
        tuple(problems),
    )


async def storm_client(options: dict[str, Any]) -> dict[str, Any]:
    """Subscribe every book at once; report the seconds until all are synced."""
    connect_factory: Any = None
    if options["transport"] == "picows":
        from ..transport_picows import picows_connect

        connect_factory = picows_connect
    markets: list[str] = options["markets"]
    began: list[float] = []
    ended: list[float] = []
    frames = 0

    def on_connected(_: BaseException | None) -> None:
        began.append(time.perf_counter())

    def on_response(response: Any) -> None:
        nonlocal frames
        frames += 1
        if response.channel is not Channel.BOOK or ended:
            return
        books = stream.books
        if len(books) == len(markets) and all(book.synced for book in books.values()):
            ended.append(time.perf_counter())
            stream.stop()

    extra: dict[str, Any] = {} if connect_factory is None else {"connect_factory": connect_factory}
    stream = Stream(
        uri=options["uri"],
        reconnect_policy=ReconnectPolicy(enabled=False),
        on_connected=on_connected,
        compression="deflate" if options["compression"] else None,
        **extra,
    )
    stream.subscribe(
        [Subscription(channel=Channel.BOOK, market=m, depth=options["depth"]) for m in markets]
    )
    stream.add_handler(on_response)
    await stream.arun()
    synced = sum(1 for book in stream.books.values() if book.synced)
    return {
        "seconds": (ended[0] - began[0]) if ended and began else 0.0,
        "frames": frames,
        "synced": synced,
        "resyncs": stream.stats.resyncs,
    }


def format_storm(results: Sequence[Storm]) -> str:
    lines = [
        "| transport | compression | books | ms until every book synced | frames read "
        "| resyncs | correct |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = "yes" if r.ok else "NO: " + "; ".join(r.problems)
        lines.append(
            f"| {r.transport} | {'deflate' if r.compression else 'plain'} | {r.markets} "
            f"| {r.seconds * 1e3:.1f} | {r.frames:,} | {r.resyncs} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    options = json.loads(argv[0])
    with asyncio.Runner(loop_factory=loop_factory(use_uvloop=True)) as runner:
        report = runner.run(storm_client(options))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
