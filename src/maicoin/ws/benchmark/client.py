"""The client process of one measurement: ``python -m maicoin.ws.benchmark.client '<json>'``.

Runs one ``RunConfig`` against a blast server in a fresh interpreter, so runs never share
warm caches, loop state or garbage, and prints one JSON line: frames counted, wall and
process CPU seconds between the subscription and the last frame, the final book and the
stream's counters. Every mode counts frames with the same small sync callable.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import time
from array import array
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from .._event_loop import loop_factory
from .._frames.decode import make_decoder
from .._io.connect import default_connect
from ..book import BookKeeper, OrderBook
from ..channel import Channel
from ..reconnect import ReconnectPolicy
from ..response import Response
from ..stats import StreamStats
from ..stream import Stream
from ..subscription import Subscription
from .config import QUEUE_SIZE, STREAM_MODES, RunConfig

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """This process's resident set size now (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Tally:
    """Counts what reaches the end of the path; remembers when the last expected one did.

    With ``stamps`` (a latency run) the handler also keeps its entry time, CLOCK_MONOTONIC
    ns, first thing, for every item; ``write_stamps`` saves them.
    """

    def __init__(self, expected: int, stamps: str = "") -> None:
        self.expected = expected
        self.count = 0
        self.started_wall = self.started_cpu = 0.0
        self.ended_wall = self.ended_cpu = 0.0
        self.done = asyncio.get_running_loop().create_future()
        self.stamps_path = stamps
        self.stamps: array[int] | None = array("q") if stamps else None

    def start(self) -> None:
        if not self.started_wall:
            self.started_wall = time.perf_counter()
            self.started_cpu = time.process_time()

    def counter(self) -> Callable[[object], None]:
        """The counting sync handler (a closure: the cheapest Python callable)."""
        expected = self.expected

        def finish() -> None:
            self.ended_wall = time.perf_counter()
            self.ended_cpu = time.process_time()
            if not self.done.done():
                self.done.set_result(None)

        if self.stamps is not None:
            stamp = self.stamps.append
            now = time.monotonic_ns

            def count_and_stamp(_item: object) -> None:
                stamp(now())
                self.count += 1
                if self.count == expected:
                    finish()

            return count_and_stamp

        def count(_item: object) -> None:
            self.count += 1
            if self.count == expected:
                finish()

        return count

    def report(self) -> dict[str, Any]:
        ended = self.ended_wall or time.perf_counter()
        ended_cpu = self.ended_cpu or time.process_time()
        if self.stamps is not None:
            with Path(self.stamps_path).open("wb") as out:
                self.stamps.tofile(out)
        return {
            "received": self.count,
            "seconds": ended - self.started_wall,
            "cpu_seconds": ended_cpu - self.started_cpu,
        }


class PauseLog:
    """Every garbage collection's generation, wall ns and CPU ns, through ``gc.callbacks``.

    Wall time includes any preemption of the process during the collection (a shared
    machine); the thread's CPU time does not.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.pauses: array[int] = array("q")
        self._began = self._began_cpu = 0

    def install(self) -> None:
        if self.path and self._record not in gc.callbacks:
            gc.callbacks.append(self._record)

    def _record(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter_ns()
            self._began_cpu = time.thread_time_ns()
        else:
            wall = time.perf_counter_ns() - self._began
            cpu = time.thread_time_ns() - self._began_cpu
            self.pauses.extend((info["generation"], wall, cpu))

    def write(self) -> None:
        if self.path:
            if self._record in gc.callbacks:
                gc.callbacks.remove(self._record)
            with Path(self.path).open("wb") as out:
                self.pauses.tofile(out)


def _compression(config: RunConfig) -> str | None:
    return "deflate" if config.compression else None


def _work(
    config: RunConfig, count: Callable[[object], None]
) -> tuple[Callable[[bytes], None], Any]:
    """The per-frame function of a bare mode, and its book keeper (None without a book)."""
    if config.mode == "receive":
        return count, None
    decode = make_decoder()
    if config.mode == "decode":

        def decode_only(frame: bytes) -> None:
            count(decode(frame))

        return decode_only, None
    keeper = BookKeeper(StreamStats())
    keeper.track(Subscription(channel=Channel.BOOK, market=config.market, depth=config.depth))
    apply_book = keeper.apply
    book_channel = Channel.BOOK

    def decode_and_book(frame: bytes) -> None:
        response = decode(frame)
        if response.channel is book_channel:
            apply_book(response)
        count(response)

    if config.mode != "onepass":
        return decode_and_book, keeper
    # The pure-Python book has no one-pass read: the row is then the full path again.
    apply_frame = getattr(keeper, "apply_frame", None)
    if apply_frame is None:
        return decode_and_book, keeper

    def one_pass(frame: bytes) -> None:
        response = apply_frame(frame)
        if response is None:
            decode_and_book(frame)
        else:
            count(response)

    return one_pass, keeper


async def run_bare_websockets(config: RunConfig) -> dict[str, Any]:
    """websockets' own receive loop: ``recv(decode=False)`` until the server closes."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedOK

    tally = Tally(config.expected, config.stamps)
    work, keeper = _work(config, tally.counter())
    request = json.dumps({"action": "sub", "id": "bench", "subscriptions": [config.subscription]})
    async with connect(config.uri, compression=_compression(config)) as connection:
        recv = connection.recv
        tally.start()
        await connection.send(request)
        try:
            while True:
                work(await recv(decode=False))
        except ConnectionClosedOK:
            pass
    return tally.report() | _book_report(None if keeper is None else keeper.books, config)


async def run_bare_picows(config: RunConfig) -> dict[str, Any]:
    """picows' receive loop: a listener whose frame callback hands the payload on."""
    from picows import WSListener, WSMsgType, ws_connect

    tally = Tally(config.expected, config.stamps)
    work, keeper = _work(config, tally.counter())
    text = WSMsgType.TEXT

    class BareListener(WSListener):
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is text:
                work(frame.get_payload_as_bytes())
            elif frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    transport, _ = await ws_connect(BareListener, config.uri)
    tally.start()
    request = {"action": "sub", "id": "bench", "subscriptions": [config.subscription]}
    transport.send(text, json.dumps(request).encode())
    await transport.wait_disconnected()
    return tally.report() | _book_report(None if keeper is None else keeper.books, config)


async def run_stream(config: RunConfig) -> dict[str, Any]:
    """A full ``Stream`` with the book kept and a counting sync handler (or queue consumer)."""
    tally = Tally(config.expected * config.connections, config.stamps)
    count = tally.counter()
    pauses = PauseLog(config.gc_pauses)
    rss: list[int] = []
    connect_factory: Callable[..., Any] = default_connect
    if config.transport == "picows":
        from ..transport_picows import picows_connect

        connect_factory = picows_connect
    if config.mode == "recv":
        connect_factory = partial(_recv_only, connect_factory)
    queue: asyncio.Queue[Response] | None = (
        asyncio.Queue(maxsize=QUEUE_SIZE) if config.mode == "queue" else None
    )
    many = config.connections > 1
    policy = ReconnectPolicy(
        enabled=many, base_delay=0.01, max_delay=0.01, jitter=0.0, healthy_after=0.0
    )

    def on_connected(_: BaseException | None) -> None:
        if not tally.started_wall:
            if config.gc_freeze:
                gc.collect()
                gc.freeze()  # what start-up built is never scanned again
            pauses.install()
        tally.start()

    def on_disconnected(_: BaseException | None) -> None:
        rss.append(resident_bytes())
        if len(rss) >= config.connections:
            stream.stop()

    stream = Stream(
        uri=config.uri,
        dispatch="inline" if config.mode == "recv" else config.mode,
        reconnect_policy=policy,
        response_queue=queue,
        connect_factory=connect_factory,
        on_connected=on_connected,
        on_disconnected=on_disconnected,
        compression=_compression(config),
    )
    stream.subscribe([Subscription(channel=Channel.BOOK, market=config.market, depth=config.depth)])
    consumer: asyncio.Task[None] | None = None
    if queue is not None:
        consumer = asyncio.get_running_loop().create_task(_consume(queue, count))
    else:
        stream.add_handler(count)
    try:
        await stream.arun()
    finally:
        if consumer is not None:
            # The consumer may still be behind the stream: let it reach the last frame.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(tally.done), 10)
            consumer.cancel()
    pauses.write()
    stats = stream.stats
    report = tally.report() | _book_report(stream.books, config)
    return report | {
        "resyncs": stats.resyncs,
        "decode_errors": stats.decode_errors,
        "handler_errors": stats.handler_errors,
        "messages": stats.messages,
        "rss": rss,
    }


class _RecvOnly:
    """A connection seen through ``send``/``recv``/``close`` alone: the stream reads with
    ``recv()`` per frame, as it does for any user-supplied ``connect_factory``."""

    def __init__(self, connection: Any) -> None:
        self.send = connection.send
        self.recv = connection.recv
        self.close = connection.close


@contextlib.asynccontextmanager
async def _recv_only(factory: Callable[..., Any], uri: str, **options: Any) -> AsyncIterator[Any]:
    async with factory(uri, **options) as connection:
        yield _RecvOnly(connection)


async def _consume(queue: asyncio.Queue[Response], count: Callable[[object], None]) -> None:
    get = queue.get
    while True:
        count(await get())


def _book_report(books: Mapping[str, OrderBook] | None, config: RunConfig) -> dict[str, Any]:
    if books is None:
        return {"book": None, "synced": None}
    book = books[config.market]
    return {
        "synced": book.synced,
        "book": {
            "asks": [[level.price_text, level.volume_text] for level in book.asks(config.depth)],
            "bids": [[level.price_text, level.volume_text] for level in book.bids(config.depth)],
            "last_update_id": book.last_update_id,
            "version": book.version,
        },
    }


def measure(config: RunConfig) -> dict[str, Any]:
    """Run ``config`` on its event loop and return the report."""
    if config.mode in STREAM_MODES:
        main: Callable[[RunConfig], Coroutine[Any, Any, dict[str, Any]]] = run_stream
    elif config.transport == "picows":
        main = run_bare_picows
    else:
        main = run_bare_websockets
    factory = loop_factory(use_uvloop=config.loop == "uvloop")
    if config.loop == "uvloop" and factory is None:
        raise RuntimeError("the uvloop rows need uvloop: pip install uvloop")
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main(config))


def main(argv: list[str]) -> int:
    config = RunConfig.from_json(argv[0])
    sys.stdout.write(json.dumps(measure(config)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
