"""The fan-out benchmark: the relay's added latency, a restart storm, the Redis path.

Three processes share the machine: the simulator (its own process, stepping its markets
``rate`` times a second), the relay (this process) and the consumers (one more process,
all of them on one event loop, reading raw frames). Book updates are told apart by market
and ``li``: the relay stamps each when it dispatches it, a consumer when it receives it,
both on the system-wide monotonic clock, so the difference is what the relay adds (its
fan-out, its socket writes and the loopback) per frame and consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from ..channel import Channel
from ..response import Response
from ..subscription import Subscription

__all__ = ["FanoutReport", "LatencyResult", "format_fanout", "run_fanout"]

Progress = Callable[[str], None]
DEPTHS = {"btcusdt": 50, "ethusdt": 5}
FrameKey = tuple[str, int]

_decode = msgspec.json.Decoder().decode


@dataclass
class LatencyResult:
    """Per-frame delay from the relay's dispatch to a consumer's receipt."""

    path: str
    consumers: int
    samples: int
    p50_us: float
    p99_us: float
    lost: int
    """Frames the relay sent that some consumer never received in the window."""


@dataclass
class StormResult:
    consumers: int
    rounds: int
    upstream_connections: int
    upstream_requests: int
    """Requests the relay sent upstream during the storm."""
    worst_round_s: float
    """Slowest round, from every consumer reconnecting to every one holding its snapshots."""


@dataclass
class RedisThroughput:
    frames: int
    publish_per_s: float
    read_per_s: float


@dataclass
class FanoutReport:
    rate: float
    seconds: float
    latency: list[LatencyResult] = field(default_factory=list)
    storm: StormResult | None = None
    redis: RedisThroughput | None = None


# -- processes ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _simulator(rate: float) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "maicoin.ws.testing", "--port", "0", "--rate", str(rate)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (ws://\S+)", process.stdout.readline())
        if match is None:
            raise RuntimeError("the simulator did not start")
        yield match[1]
    finally:
        process.terminate()
        process.wait(10)


def _subscribe_message() -> str:
    subs = [{"channel": "book", "market": m, "depth": d} for m, d in DEPTHS.items()]
    return msgspec.json.encode({"action": "sub", "id": "bench", "subscriptions": subs}).decode()


async def _open(transport: str, uri: str) -> contextlib.AbstractAsyncContextManager[Any]:
    if transport == "redis":
        from .._redis.transport import redis_connect

        return redis_connect(uri)
    import websockets

    return websockets.connect(uri, compression=None, max_queue=None)


async def _receive(connection: Any, arrivals: dict[FrameKey, int], until: float) -> None:
    """Stamp every book update until ``until`` (monotonic seconds)."""
    while time.monotonic() < until:
        try:
            async with asyncio.timeout(max(until - time.monotonic(), 0.001)):
                frame = await connection.recv()
        except TimeoutError:
            return
        received = time.monotonic_ns()
        document = _decode(frame)
        if document.get("c") == "book" and document.get("e") == "update":
            arrivals[(document["M"], document["li"])] = received


def _consume(transport: str, uri: str, count: int, seconds: float, pipe: Connection) -> None:
    """Consumer process: ``count`` readers, stamping book updates for ``seconds``."""

    async def main() -> list[dict[FrameKey, int]]:
        async with contextlib.AsyncExitStack() as stack:
            connections = [
                await stack.enter_async_context(await _open(transport, uri)) for _ in range(count)
            ]
            for connection in connections:
                await connection.send(_subscribe_message())
            pipe.send("ready")
            until = time.monotonic() + seconds
            arrivals: list[dict[FrameKey, int]] = [{} for _ in connections]
            await asyncio.gather(
                *(_receive(c, a, until) for c, a in zip(connections, arrivals, strict=True))
            )
            return arrivals

    pipe.send(asyncio.run(main()))


def _storm(uri: str, count: int, rounds: int, pipe: Connection) -> None:
    """Consumer process: ``rounds`` times, every consumer reconnects at once."""

    async def one(started: float) -> float:
        import websockets

        async with websockets.connect(uri, compression=None) as connection:
            await connection.send(_subscribe_message())
            snapshots = 0
            while snapshots < len(DEPTHS):
                if _decode(await connection.recv()).get("e") == "snapshot":
                    snapshots += 1
            return time.monotonic() - started

    async def main() -> list[float]:
        worst = []
        for _ in range(rounds):
            started = time.monotonic()
            worst.append(max(await asyncio.gather(*(one(started) for _ in range(count)))))
        return worst

    pipe.send(asyncio.run(main()))


def _spawn(target: Callable[..., None], *args: Any) -> tuple[Any, Connection]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(*args, child), daemon=True)
    process.start()
    return process, parent


async def _reply(pipe: Connection, within: float) -> Any:
    loop = asyncio.get_running_loop()
    ready = await asyncio.wait_for(loop.run_in_executor(None, pipe.poll, within), within + 1)
    if not ready:
        raise TimeoutError("the consumer process did not answer")
    return pipe.recv()


# -- relay side --------------------------------------------------------------------------------


class _Stamps:
    """A handler run first on the relay's stream: when each book update was dispatched."""

    def __init__(self) -> None:
        self.dispatched: dict[FrameKey, int] = {}

    def __call__(self, response: Response) -> None:
        if response.channel is Channel.BOOK and response.event == "update":
            self.dispatched[(response.market or "", response.last_update_id or 0)] = (
                time.monotonic_ns()
            )


@contextlib.asynccontextmanager
async def _relay(uri: str, sinks: Sequence[Any] = ()) -> AsyncIterator[tuple[Any, _Stamps]]:
    from ..relay import Relay

    pinned = [Subscription(channel=Channel.BOOK, market=m, depth=d) for m, d in DEPTHS.items()]
    stamps = _Stamps()
    async with Relay(pinned, uri=uri, sinks=sinks) as relay:
        relay.stream.handlers.insert(0, stamps)
        deadline = time.monotonic() + 30
        while not all(book.synced for book in relay.books.values()) or len(relay.books) < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("the relay's books did not sync")
            await asyncio.sleep(0.05)
        yield relay, stamps


def _latency(
    path: str, stamps: _Stamps, arrivals: list[dict[FrameKey, int]], since: int, until: int
) -> LatencyResult:
    # Only frames the relay dispatched inside the window every consumer was reading in.
    window = {k: t for k, t in stamps.dispatched.items() if since <= t <= until}
    delays = [arrived[k] - t for arrived in arrivals for k, t in window.items() if k in arrived]
    lost = sum(1 for arrived in arrivals for k in window if k not in arrived)
    if not delays:
        raise RuntimeError(f"{path}: no frame reached the consumers")
    cuts = statistics.quantiles(delays, n=100)
    return LatencyResult(path, len(arrivals), len(delays), cuts[49] / 1e3, cuts[98] / 1e3, lost)


async def _measure(
    path: str, uri: str, stamps: _Stamps, count: int, seconds: float
) -> LatencyResult:
    process, pipe = _spawn(_consume, path, uri, count, seconds)
    try:
        await _reply(pipe, 60)  # "ready": every reader subscribed
        since = time.monotonic_ns() + 1_000_000_000  # a second for the snapshots to settle
        until = since + int((seconds - 2.0) * 1e9)
        arrivals = await _reply(pipe, seconds + 60)
    finally:
        process.join(10)
    return _latency(path, stamps, arrivals, since, until)


async def _redis_throughput(url: str, frames: int, sample: bytes) -> RedisThroughput:
    from .._redis.transport import redis_connect
    from ..relay.redis_publisher import RedisPublisher

    key = ("book", "btcusdt", None)
    publisher = RedisPublisher(
        url, prefix="maicoin-ws-bench", maxlen=frames + 1_000, max_pending=2 * frames
    )
    publisher.start(_NoSnapshots())  # type: ignore[arg-type]
    publisher.publish(key, sample.replace(b'"update"', b'"snapshot"'), snapshot=True)
    started = time.perf_counter()
    for _ in range(frames):
        publisher.publish(key, sample, snapshot=False)
    await publisher.aclose()  # returns once every queued frame is written
    publish_per_s = frames / (time.perf_counter() - started)
    async with redis_connect(url, prefix="maicoin-ws-bench") as connection:
        await connection.send(
            '{"action":"sub","id":"r","subscriptions":[{"channel":"book","market":"btcusdt"}]}'
        )
        await connection.recv()  # subscribed
        await connection.recv()  # the snapshot
        started = time.perf_counter()
        for _ in range(frames):
            await connection.recv()
        read_per_s = frames / (time.perf_counter() - started)
        await connection._client.delete("{maicoin-ws-bench}:book:btcusdt")
    return RedisThroughput(frames, publish_per_s, read_per_s)


class _NoSnapshots:
    """Stands in for the upstream when frames are published without a relay."""

    topics: dict[Any, Any] = {}  # noqa: RUF012 - read only

    def start_frame(self, key: Any) -> None:
        return None


def run_fanout(
    *,
    consumer_counts: Sequence[int] = (1, 10, 50),
    seconds: float = 10.0,
    rate: float = 100.0,
    storm_consumers: int = 50,
    storm_rounds: int = 5,
    redis_url: str | None = None,
    redis_readers: Sequence[int] = (1, 10),
    redis_frames: int = 100_000,
    progress: Progress | None = None,
) -> FanoutReport:
    """Run every measurement; ``redis_url`` None skips the Redis path."""
    say = progress or (lambda line: None)
    report = FanoutReport(rate=rate, seconds=seconds)

    async def main(sim_uri: str) -> None:
        async with _relay(sim_uri) as (relay, stamps):
            for count in consumer_counts:
                result = await _measure("websocket", relay.uri, stamps, count, seconds)
                report.latency.append(result)
                say(
                    f"relay, {count} consumer(s): p50 {result.p50_us:.0f} us, "
                    f"p99 {result.p99_us:.0f} us"
                )
            connections = relay.stream.stats.connections
            requests = relay.stream.stats.requests_sent
            process, pipe = _spawn(_storm, relay.uri, storm_consumers, storm_rounds)
            try:
                worst = await _reply(pipe, 120)
            finally:
                process.join(10)
            report.storm = StormResult(
                storm_consumers,
                storm_rounds,
                relay.stream.stats.connections - connections + 1,
                relay.stream.stats.requests_sent - requests,
                max(worst),
            )
            say(f"restart storm: {report.storm}")
        if redis_url is None:
            return
        from ..relay.redis_publisher import RedisPublisher

        publisher = RedisPublisher(redis_url)
        async with _relay(sim_uri, [publisher]) as (relay, stamps):
            for count in redis_readers:
                result = await _measure("redis", redis_url, stamps, count, seconds)
                report.latency.append(result)
                say(
                    f"redis, {count} reader(s): p50 {result.p50_us:.0f} us, "
                    f"p99 {result.p99_us:.0f} us"
                )
        update = msgspec.json.encode(
            {
                "c": "book",
                "e": "update",
                "M": "btcusdt",
                "a": [["100.5", "0.25"]],
                "b": [["99.5", "0"]],
                "T": 1,
                "fi": 1,
                "li": 1,
                "v": 1,
            }
        )
        report.redis = await _redis_throughput(redis_url, redis_frames, update)
        say(f"redis throughput: {report.redis}")

    with _simulator(rate) as sim_uri:
        asyncio.run(main(sim_uri))
    return report


def format_fanout(report: FanoutReport) -> str:
    """The report as Markdown tables."""
    lines = [
        f"Simulator stepping {report.rate:g} times a second (2 books: btcusdt depth 50, "
        f"ethusdt depth 5), {report.seconds:g} s per run; relay and consumers in separate "
        "processes on one machine. A delay runs from the relay's dispatch of an upstream "
        "book update to a consumer's receipt of it, so it includes the consumers' own "
        "process: all of them share one event loop, and with 50 the last reads a frame "
        "after the 49 others.",
        "",
        "| path | consumers | frames measured | p50 | p99 | lost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in report.latency:
        lines.append(
            f"| {r.path} | {r.consumers} | {r.samples:,} | {r.p50_us:,.0f} µs | "
            f"{r.p99_us:,.0f} µs | {r.lost} |"
        )
    if report.storm is not None:
        s = report.storm
        lines += [
            "",
            "| restart storm | value |",
            "|---|---:|",
            f"| consumers reconnecting at once | {s.consumers} |",
            f"| rounds | {s.rounds} |",
            f"| upstream connections (must stay 1) | {s.upstream_connections} |",
            f"| upstream requests during the storm | {s.upstream_requests} |",
            f"| slowest round until every consumer had its snapshots | {s.worst_round_s:.3f} s |",
        ]
    if report.redis is not None:
        t = report.redis
        lines += [
            "",
            "| Redis Streams | frames/s |",
            "|---|---:|",
            f"| publish (pipelined XADD, {t.frames:,} frames) | {t.publish_per_s:,.0f} |",
            f"| read back by one transport (XREAD) | {t.read_per_s:,.0f} |",
        ]
    return "\n".join(lines) + "\n"
