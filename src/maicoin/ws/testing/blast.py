"""Blast mode: a separate process that writes a pre-encoded stream as fast as the socket takes it.

The server is a picows server (``picows`` must be installed) writing whole pre-built
WebSocket frames straight to the transport, so it is never the bottleneck of a benchmark.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .paced import Pace

BLAST_PATH = "/ws"


@dataclass(frozen=True, slots=True)
class BlastResult:
    """What the blast server saw of one client connection."""

    requests: list[str]
    """Every text frame the client sent."""
    subscribed: bool
    """A valid ``sub`` for the blast's book arrived and the blast started."""
    frames_sent: int
    """Frames of the stream handed to the socket (the ``subscribed`` reply not counted)."""
    bytes_sent: int
    seconds: float
    """From the first write until the kernel took the last byte (server side)."""
    closed_cleanly: bool
    """The client answered the server's close frame (only when the server closes)."""
    pings: int
    stamps: str = ""
    """Paced servers: the file of the stream's send times (``paced.read_stamps``)."""


@dataclass(frozen=True, slots=True)
class SendRate:
    """A raw-socket reader's measurement of how fast the blast server delivers."""

    frames: int
    bytes: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / self.seconds / 1e6


class BlastServer:
    """Handle of a blast server process (see ``start_blast_server``); a context manager."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        reports: queue.Queue[dict[str, Any]],
        ready: dict[str, Any],
    ) -> None:
        self.process = process
        self._reports = reports
        self.host: str = ready["host"]
        self.port: int = ready["port"]
        self.market: str = ready["market"]
        self.depth: int = ready["depth"]
        self.n_frames: int = ready["n_frames"]
        self.total_bytes: int = ready["total_bytes"]
        """Bytes of the whole stream on the wire, WebSocket headers included."""
        self.final_book: dict[str, Any] = ready["final_book"]
        """The subscriber's top-``depth`` book after the last frame (``book_view`` shape)."""
        self.counts: dict[str, int] = ready["counts"]
        """Frames per kind: snapshot, update, trade, ticker."""

    @property
    def uri(self) -> str:
        return f"ws://{self.host}:{self.port}{BLAST_PATH}"

    def subscription_request(self, request_id: str = "blast") -> dict[str, Any]:
        """The ``sub`` request that starts the blast."""
        subscription = {"channel": "book", "market": self.market, "depth": self.depth}
        return {"action": "sub", "subscriptions": [subscription], "id": request_id}

    def next_result(self, timeout: float = 60.0) -> BlastResult:
        """The result of the next finished connection; ``TimeoutError`` if none in time."""
        try:
            report = self._reports.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no blast connection finished within {timeout} s") from None
        if report.get("kind") != "result":
            raise RuntimeError(f"blast process: {report.get('error', report)}")
        return BlastResult(**report["result"])

    def stop(self) -> None:
        """Terminate the server process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()

    def __enter__(self) -> BlastServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_blast_server(
    n_frames: int = 200_000,
    *,
    market: str = "btcusdt",
    depth: int = 50,
    seed: int = 0,
    close: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_timeout: float = 120.0,
    pace: Pace | None = None,
) -> BlastServer:
    """Start a blast server in a new process and return once it listens.

    The process builds ``n_frames`` frames for a ``book`` subscription of ``market`` at
    ``depth`` (a snapshot, then mostly updates with correct ``fi``/``li``, some trades and
    tickers). Each connection that sends the matching ``sub`` gets ``subscribed`` and then
    the whole stream as fast as the socket takes it; with ``close`` the server then closes
    (code 1000) and reports whether the client completed the closing handshake. A wrong
    request gets an error frame and no stream. Serves connections until ``stop()``; the
    process also ends when this one does. With ``pace`` the stream is sent at its rate, with
    bursts, and each connection's send times are kept (see ``paced``).
    """
    options = {
        "n_frames": n_frames,
        "market": market,
        "depth": depth,
        "seed": seed,
        "close": close,
        "host": host,
        "port": port,
        "pace": None if pace is None else pace.as_dict(),
    }
    env = dict(os.environ)
    # The child must import this very package, wherever this process found it.
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "maicoin.ws.testing.blast_process", json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    reports: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(
        target=_read_reports, args=(process, reports), name="maicoin-blast-reports", daemon=True
    ).start()
    try:
        ready = reports.get(timeout=ready_timeout)
    except queue.Empty:
        process.kill()
        process.wait()
        raise TimeoutError(f"blast server not ready within {ready_timeout} s") from None
    if ready.get("kind") != "ready":
        process.kill()
        process.wait()
        raise RuntimeError(f"blast server failed to start: {ready.get('error', ready)}")
    return BlastServer(process, reports, ready["ready"])


def _read_reports(process: subprocess.Popen[bytes], reports: queue.Queue[dict[str, Any]]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        reports.put(json.loads(line))
    reports.put({"kind": "exited", "error": f"process exited with status {process.wait()}"})


def measure_send_rate(server: BlastServer, *, timeout: float = 60.0) -> SendRate:
    """Receive one whole blast with a bare socket that only counts bytes.

    The time runs from sending the ``sub`` request to the last byte of the stream, so this
    is the rate the server (plus loopback) delivers, the ceiling for any client.
    """
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {BLAST_PATH} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("blast server closed during the handshake")
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"handshake refused: {head.splitlines()[0]!r}")
        started = time.perf_counter()
        sock.sendall(_client_frame(0x1, json.dumps(server.subscription_request()).encode()))
        buffer = bytearray(rest)
        while len(buffer) < 4:
            more = sock.recv(65536)
            if not more:
                raise ConnectionError("blast server closed before replying to the sub")
            buffer += more
        reply_size = _frame_size(bytes(buffer[:10]))
        remaining = server.total_bytes - (len(buffer) - reply_size)
        scratch = bytearray(1 << 20)
        while remaining > 0:
            count = sock.recv_into(scratch)
            if not count:
                raise ConnectionError(f"stream ended {remaining} bytes early")
            remaining -= count
        seconds = time.perf_counter() - started
        sock.sendall(_client_frame(0x8, struct.pack("!H", 1000)))
    return SendRate(server.n_frames, server.total_bytes, seconds)


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payloads under 64 KiB)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    header = (
        bytes((0x80 | opcode, 0x80 | size))
        if size < 126
        else struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    )
    return header + mask + masked


def _frame_size(header: bytes) -> int:
    """Total size (header and payload) of the unmasked server frame starting ``header``."""
    length = header[1] & 0x7F
    if length == 126:
        return 4 + int.from_bytes(header[2:4], "big")
    if length == 127:
        return 10 + int.from_bytes(header[2:10], "big")
    return 2 + length
