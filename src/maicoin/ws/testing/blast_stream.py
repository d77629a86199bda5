"""The pre-encoded stream of blast mode: one book subscription's realistic mixed frames."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from . import frames
from .book import DEFAULT_HISTORY
from .bookview import BookView
from .catalog import market_spec
from .market import Market

BLAST_START_MS = 1_700_000_000_000
"""Frame times of a blast stream start here and advance 1 ms per market step."""
TICKER_EVERY = 4
"""A ticker frame follows every fourth step that traded."""


@dataclass(frozen=True, slots=True)
class BlastStream:
    """``payloads[0]`` is the book snapshot; the rest are updates, trades and tickers.

    ``final_book`` is the subscriber's top-``depth`` view after the last frame (the same
    shape as ``MaxSimulator.book_view``), so a client's book can be checked at the end.
    """

    market: str
    depth: int
    payloads: list[bytes]
    final_book: dict[str, Any]
    counts: dict[str, int]


def blast_stream(
    n_frames: int, *, market: str = "btcusdt", depth: int = 50, seed: int = 0
) -> BlastStream:
    """Build ``n_frames`` JSON payloads for one ``book`` subscription of ``market``."""
    if type(n_frames) is not int or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    now = BLAST_START_MS
    simulated = Market(market_spec(market), seed=seed, now_ms=now, history=DEFAULT_HISTORY)
    view = BookView(simulated, depth)
    encode = frames.encode
    payloads = [encode(view.snapshot(now))]
    counts = {"snapshot": 1, "update": 0, "trade": 0, "ticker": 0}
    traded_steps = 0
    while len(payloads) < n_frames:
        now += 1
        trades = simulated.step(now)
        update = view.update(now)
        if update is not None:
            payloads.append(encode(update))
            counts["update"] += 1
        if trades and len(payloads) < n_frames:
            payloads.append(
                encode(frames.market_data("trade", "update", market, {"t": trades}, now))
            )
            counts["trade"] += 1
            traded_steps += 1
            if traded_steps % TICKER_EVERY == 0 and len(payloads) < n_frames:
                ticker = frames.market_data(
                    "ticker", "update", market, {"tk": simulated.ticker()}, now
                )
                payloads.append(encode(ticker))
                counts["ticker"] += 1
    last_sent = view.last_update_id
    state = simulated.book.state_at(last_sent)
    fp, fv = simulated.format_price, simulated.format_volume
    final_book = {
        "asks": [[fp(p), fv(v)] for p, v in state.asks[:depth]],
        "bids": [[fp(p), fv(v)] for p, v in state.bids[:depth]],
        "last_update_id": last_sent,
        "version": state.version,
    }
    return BlastStream(market, depth, payloads, final_book, counts)


def websocket_frame(payload: bytes, *, compressed: bool = False) -> bytes:
    """One unmasked, final text frame as a server writes it; ``compressed`` sets RSV1 (the
    payload is a permessage-deflate message)."""
    first = 0xC1 if compressed else 0x81
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def frame_chunks(payloads: list[bytes], chunk_size: int = 256 * 1024) -> list[tuple[bytes, int]]:
    """Whole WebSocket frames joined into writes of about ``chunk_size`` bytes.

    Returns (chunk, number of frames in it) pairs. Chunks end on frame boundaries, so a
    control frame (pong, close) can go between them.
    """
    chunks: list[tuple[bytes, int]] = []
    pending: list[bytes] = []
    size = 0
    for payload in payloads:
        frame = websocket_frame(payload)
        pending.append(frame)
        size += len(frame)
        if size >= chunk_size:
            chunks.append((b"".join(pending), len(pending)))
            pending, size = [], 0
    if pending:
        chunks.append((b"".join(pending), len(pending)))
    return chunks
