"""What one end-to-end measurement runs: transport, event loop and mode, as JSON for the child."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Final

TRANSPORTS: Final = ("websockets", "picows")
LOOPS: Final = ("asyncio", "uvloop")
STREAM_MODES: Final = ("inline", "task", "queue", "recv")
"""A full ``Stream`` (decode, book, dispatch to a counting sync handler) in each dispatch mode;
``recv`` is inline mode reading with ``await connection.recv()`` per frame instead of taking
frames from the transport's callback."""
BARE_MODES: Final = ("receive", "decode", "book", "onepass")
"""Plain loops without a Stream: the transport alone (the ceiling), plus decoding, plus the book;
``onepass`` offers each frame to the compiled book's ``apply_frame`` first (a Stream's path),
decoding and applying only what it declines."""
MODES: Final = BARE_MODES + STREAM_MODES
ORIGINAL: Final = "original"
"""The transport name of the original ``maicoin.ws`` (pydantic, websockets; inline only): its
client runs in the interpreter that has the original installed (``original_client``)."""
QUEUE_SIZE: Final = 10_000
"""``maxsize`` of the bounded ``response_queue`` in queue mode."""


@dataclass(frozen=True, slots=True)
class RunConfig:
    """One client run against a blast server."""

    transport: str
    loop: str
    mode: str
    uri: str
    market: str
    depth: int
    expected: int
    """Frames the client must count per connection: the ``subscribed`` reply plus the stream."""
    connections: int = 1
    """Connections in a row (memory runs); the server closes each after its blast."""
    compression: bool = False
    """Offer permessage-deflate (websockets and the original only); off: offer nothing."""
    stamps: str = ""
    """Latency runs: the file the handler-entry times (int64 CLOCK_MONOTONIC ns) go to."""
    gc_pauses: str = ""
    """GC runs: the file the duration of every garbage collection (int64 ns) goes to."""
    gc_freeze: bool = False
    """Call ``gc.freeze()`` once connected, before the stream (GC runs)."""

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("transport", self.transport, (*TRANSPORTS, ORIGINAL)),
            ("loop", self.loop, LOOPS),
            ("mode", self.mode, MODES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        if self.connections < 1:
            raise ValueError(f"connections must be at least 1, got {self.connections!r}")
        if self.connections > 1 and self.mode not in STREAM_MODES:
            raise ValueError("only Stream modes reconnect; bare loops run one connection")
        if self.compression and self.transport == "picows":
            raise ValueError("picows never compresses: compression must be off")
        if self.transport == ORIGINAL and self.mode != "inline":
            raise ValueError("the original is measured in inline mode only")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls(**json.loads(text))

    @property
    def subscription(self) -> dict[str, Any]:
        return {"channel": "book", "market": self.market, "depth": self.depth}
