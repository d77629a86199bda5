"""The picows listener of one paced connection: the blast stream at a rate, with bursts."""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from picows import WSFrame, WSMsgType, WSTransport

from .blast_listener import BlastListener
from .blast_stream import BlastStream
from .paced import TICK, Pace, inflate_message, write_stamps


class PacedListener(BlastListener):
    """Serves one client as ``BlastListener`` does, but paced by ``pace`` (see ``paced``).

    ``frames`` are the stream's whole WebSocket frames, compressed when ``deflate`` (the
    handshake negotiated permessage-deflate); ``index`` numbers the connection's file of
    send times.
    """

    def __init__(
        self,
        stream: BlastStream,
        frames: list[bytes],
        pace: Pace,
        *,
        deflate: bool,
        index: int,
        close: bool,
        report: Callable[[dict[str, Any]], None],
    ) -> None:
        super().__init__(stream, [], close=close, report=report)
        self._frames = frames
        self._pace = pace
        self._deflate = deflate
        self._index = index

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT and frame.rsv1:
            # A compressed request (the client compresses too once deflate is negotiated).
            text = inflate_message(frame.get_payload_as_bytes()).decode()
            self._on_request(transport, text)
        else:
            super().on_ws_frame(transport, frame)

    async def _blast(self, transport: WSTransport) -> None:
        socket_transport = transport.underlying_transport
        writable = self._writable
        frames = self._frames
        total = len(frames)
        stamps = array("q", bytes(8 * total))
        loop = asyncio.get_running_loop()
        per_tick = self._pace.rate * TICK
        burst, burst_every = self._pace.burst, self._pace.burst_every
        started = time.perf_counter()
        begin = loop.time()
        next_burst = begin + burst_every
        ticks = 0
        credit = 0.0
        sent = 0
        self._writing = True
        while sent < total:
            ticks += 1
            delay = begin + ticks * TICK - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            credit += per_tick
            take = int(credit)
            credit -= take
            if burst and loop.time() >= next_burst:
                take += burst
                next_burst += burst_every
            take = min(take, total - sent)
            if not take:
                continue
            if not writable.is_set():  # the client is behind: its frames wait here
                await writable.wait()
            if socket_transport.is_closing():
                return
            now = time.monotonic_ns()
            socket_transport.write(b"".join(frames[sent : sent + take]))
            stamps[sent : sent + take] = array("q", (now,)) * take
            sent += take
            self._frames_sent = sent
            self._bytes_sent += sum(len(f) for f in frames[sent - take : sent])
            if self._pongs:
                self._flush_pongs(transport)
        path = Path(self._pace.stamps_dir) / f"sent-{self._index}.bin"
        write_stamps(path, stamps)
        self._stamps = str(path)
        await self._finish(transport, started)
