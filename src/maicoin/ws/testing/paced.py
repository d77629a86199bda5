"""Paced mode of the blast server: the same stream at a set rate, with bursts, send times kept.

A latency measurement needs the stream at a rate a client keeps up with, not as fast as the
socket takes it. A paced server writes the blast stream every ``TICK`` seconds at ``rate``
frames a second on average, and every ``burst_every`` seconds also ``burst`` frames back to
back in the same write (what a 74-market subscribe does to a socket). Each write's
``time.monotonic_ns()`` is the send time of every frame in it; CLOCK_MONOTONIC is shared by
the processes of one machine, so a client on the same host subtracts it from its own
handler-entry time. The times are written to a file per connection, named in its
``BlastResult.stamps``, so frames stay exactly what the live exchange sends.

With ``deflate`` the server negotiates permessage-deflate as the live exchange does
(``server_no_context_takeover; client_no_context_takeover``) when the client offers it, and
sends each frame compressed on its own (built once, before the run).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TICK = 0.001
"""Seconds between two writes of the steady stream."""
DEFLATE_EXTENSION = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
"""The extension the live exchange answers an offer of permessage-deflate with."""
_SYNC_TAIL = b"\x00\x00\xff\xff"


@dataclass(frozen=True, slots=True)
class Pace:
    """How a paced server sends: the steady rate, the bursts, compression, where times go."""

    rate: float
    """Frames a second, on average, outside bursts."""
    stamps_dir: str
    """Directory the send-time file of each connection is written to."""
    burst: int = 300
    """Frames written back to back, in one write, every ``burst_every`` seconds (0: none)."""
    burst_every: float = 0.5
    deflate: bool = False
    """Negotiate permessage-deflate when the client offers it."""

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive frames a second, got {self.rate!r}")
        if type(self.burst) is not int or self.burst < 0:
            raise ValueError(f"burst must be a non-negative integer, got {self.burst!r}")
        if not self.burst_every > 0:
            raise ValueError(f"burst_every must be positive seconds, got {self.burst_every!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def offers_deflate(extension_headers: Iterable[str]) -> bool:
    """Whether a client's ``Sec-WebSocket-Extensions`` values offer permessage-deflate."""
    return any(
        offer.split(";")[0].strip().lower() == "permessage-deflate"
        for header in extension_headers
        for offer in header.split(",")
    )


def deflate_message(payload: bytes) -> bytes:
    """``payload`` compressed as one permessage-deflate message without context takeover."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[: -len(_SYNC_TAIL)] if data.endswith(_SYNC_TAIL) else data


def inflate_message(payload: bytes) -> bytes:
    """A permessage-deflate message (no context takeover) back to its bytes."""
    return zlib.decompressobj(wbits=-zlib.MAX_WBITS).decompress(payload + _SYNC_TAIL)


def write_stamps(path: Path, stamps: array[int]) -> None:
    with path.open("wb") as out:
        stamps.tofile(out)


def read_stamps(path: Path | str) -> array[int]:
    """The int64 nanosecond times of a stamps file (a paced server's or a latency client's)."""
    target = Path(path)
    stamps = array("q")
    with target.open("rb") as source:
        stamps.frombytes(source.read())
    return stamps
