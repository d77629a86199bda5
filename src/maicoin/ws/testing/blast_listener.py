"""The picows listener of one blast connection: checks the ``sub``, then writes the stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from . import frames
from .blast_stream import BlastStream

_CLOSE_WAIT = 5.0  # seconds the server waits for the client's close frame


class BlastListener(WSListener):
    """Serves one client: a valid ``sub`` starts the blast, every pong waits for a chunk end."""

    def __init__(
        self,
        stream: BlastStream,
        chunks: list[tuple[bytes, int]],
        *,
        close: bool,
        report: Callable[[dict[str, Any]], None],
    ) -> None:
        super().__init__()
        self._report = report
        self._stream = stream
        self._chunks = chunks
        self._close = close
        self._requests: list[str] = []
        self._pongs: list[bytes] = []
        self._pings = 0
        self._writing = False
        self._started = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._close_sent = False
        self._closed_cleanly = False
        self._frames_sent = 0
        self._bytes_sent = 0
        self._seconds = 0.0
        self._stamps = ""
        self._task: asyncio.Task[None] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.PING:
            self._pings += 1
            payload = frame.get_payload_as_bytes()
            if self._writing:
                self._pongs.append(payload)  # sent between chunks, never inside a frame
            else:
                transport.send_pong(payload)
        elif kind == WSMsgType.TEXT:
            self._on_request(transport, frame.get_payload_as_utf8_text())
        elif kind == WSMsgType.CLOSE:
            if self._close_sent:
                self._closed_cleanly = True
            else:
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._task is not None:
            self._task.cancel()
        # Keys are the fields of blast.BlastResult, built on the parent's side.
        result = {
            "requests": self._requests,
            "subscribed": self._started,
            "frames_sent": self._frames_sent,
            "bytes_sent": self._bytes_sent,
            "seconds": self._seconds,
            "closed_cleanly": self._closed_cleanly,
            "pings": self._pings,
            "stamps": self._stamps,
        }
        self._report({"kind": "result", "result": result})

    def _on_request(self, transport: WSTransport, text: str) -> None:
        self._requests.append(text)
        now = int(time.time() * 1000)
        try:
            request = json.loads(text)
        except ValueError:
            self._send(transport, frames.error("E-1005: invalid json", None, now))
            return
        request_id = request.get("id") if isinstance(request, dict) else None
        problem = self._check(request)
        if problem is not None:
            self._send(transport, frames.error(problem, request_id, now))
            return
        if self._started:
            return
        self._started = True
        echo = request["subscriptions"]
        self._send(transport, frames.reply("subscribed", request_id, now, s=echo))
        self._task = asyncio.get_running_loop().create_task(self._blast(transport))

    def _check(self, request: Any) -> str | None:
        if not isinstance(request, dict) or request.get("action") != "sub":
            return "E-1004: invalid action: the blast server only serves one book sub"
        subscriptions = request.get("subscriptions")
        wanted = {"channel": "book", "market": self._stream.market}
        if not isinstance(subscriptions, list) or len(subscriptions) != 1:
            return f"E-1100: invalid subscription: expected exactly {wanted}"
        subscription = subscriptions[0]
        if not isinstance(subscription, dict) or any(
            subscription.get(k) != v for k, v in wanted.items()
        ):
            return f"E-1100: invalid subscription: expected {wanted}"
        if subscription.get("depth", 50) != self._stream.depth:
            return (
                f"E-1100: invalid subscription: this blast is built for depth {self._stream.depth}"
            )
        return None

    @staticmethod
    def _send(transport: WSTransport, frame: dict[str, Any]) -> None:
        transport.send(WSMsgType.TEXT, frames.encode(frame))

    async def _blast(self, transport: WSTransport) -> None:
        socket_transport = transport.underlying_transport
        writable = self._writable
        started = time.perf_counter()
        self._writing = True
        for chunk, count in self._chunks:
            if not writable.is_set():
                await writable.wait()
            if socket_transport.is_closing():
                return
            socket_transport.write(chunk)
            self._frames_sent += count
            self._bytes_sent += len(chunk)
            if self._pongs:
                self._flush_pongs(transport)
        await self._finish(transport, started)

    async def _finish(self, transport: WSTransport, started: float) -> None:
        """Wait until the kernel took the last byte, then close (with ``close``)."""
        self._writing = False
        self._flush_pongs(transport)
        # With no high-water mark left, the transport pauses us until its buffer is empty.
        transport.underlying_transport.set_write_buffer_limits(high=0)
        await self._writable.wait()
        self._seconds = time.perf_counter() - started
        if self._close:
            self._close_sent = True
            transport.send_close(WSCloseCode.OK)
            asyncio.get_running_loop().call_later(_CLOSE_WAIT, transport.disconnect)

    def _flush_pongs(self, transport: WSTransport) -> None:
        for payload in self._pongs:
            transport.send_pong(payload)
        self._pongs.clear()
