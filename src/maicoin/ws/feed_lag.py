"""Feed lag: per channel, how long after the exchange stamped a frame (its ``T``) it arrived.

Each frame's lag is local receive time minus ``T``, in whole milliseconds (``T``'s unit);
snapshots are left out (their ``T`` can be hours old), and so are frames without a channel
(lifecycle answers) and with a ``T`` that is not an integer. Lags go into a fixed histogram
per channel: buckets exact up to 16 ms, then 16 per power of two, so a percentile read back
is within about 3% of the true lag; negative lags (a local clock behind the exchange's) have
their own mirrored buckets; beyond about 24.8 days a lag counts in the last bucket. Memory is
fixed once the first connection opens, and a frame costs one bucket increment.

``stream.stats.feed_lag`` is the stream's ``FeedLag``: ``feed_lag["book"].p99_ms``. Both
frame paths count into ``FeedLag.counts`` (which events they skip is ``rules.LAG_EXCLUDED_
EVENTS``); the compiled one does in C what ``lag_bucket`` does, with the constants read from
here.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping, MutableSequence
from dataclasses import dataclass
from typing import Any, Final

from ._model import wire_slot
from .response import Response

__all__ = [
    "BUCKETS",
    "CHANNEL_SLOTS",
    "MAGNITUDES",
    "MAX_LAG_MS",
    "SUB_BITS",
    "WIRE_TIME",
    "ZERO",
    "FeedLag",
    "LagSummary",
    "bucket_bounds",
    "lag_bucket",
]

SUB_BITS: Final = 4
"""Buckets per power of two: ``2**SUB_BITS`` (and lags below that many ms are exact)."""
MAX_LAG_MS: Final = 2**31 - 1
"""The largest lag told apart (about 24.8 days); beyond, a lag counts in the last bucket."""
MAGNITUDES: Final = (MAX_LAG_MS.bit_length() - SUB_BITS + 1) << SUB_BITS
"""Buckets of lags >= 0 (and of lags <= 0, the bucket of 0 being one)."""
ZERO: Final = MAGNITUDES - 1
"""The bucket of a lag of 0 ms: lags below it are negative, most negative first."""
BUCKETS: Final = 2 * MAGNITUDES - 1
"""Buckets of one channel, symmetric around ``ZERO``."""
CHANNEL_SLOTS: Final = 8
"""Channels measured at most (the wire has seven; a stranger takes a free slot, if any)."""
WIRE_TIME: Final = wire_slot(Response, "created_at")
"""The slot where a ``Response`` keeps ``T`` as the wire gave it (``.created_at`` would build
a ``datetime``): what the frame paths read."""

_SUB: Final = 1 << SUB_BITS
# Unknown channels remembered as unmeasured, at most this many (the wire picks their names).
_STRANGERS: Final = 64


def lag_bucket(lag_ms: int) -> int:
    """The bucket, 0 <= bucket < BUCKETS, of a lag in ms (clamped to +-MAX_LAG_MS)."""
    # One function, no helper calls: the pure-Python frame path runs this for every frame.
    value = lag_ms if lag_ms >= 0 else -lag_ms
    if value >= _SUB:
        value = min(value, MAX_LAG_MS)
        exponent = value.bit_length() - 1
        value = ((exponent - SUB_BITS + 1) << SUB_BITS) + (
            (value >> (exponent - SUB_BITS)) & (_SUB - 1)
        )
    return ZERO + value if lag_ms >= 0 else ZERO - value


def _magnitude_bounds(bucket: int) -> tuple[int, int]:
    if bucket < _SUB:
        return bucket, bucket
    exponent = (bucket >> SUB_BITS) + SUB_BITS - 1
    width = 1 << (exponent - SUB_BITS)
    low = (_SUB + (bucket & (_SUB - 1))) * width
    return low, low + width - 1


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The lags, in ms, a bucket holds: ``(lowest, highest)``, both included."""
    if not 0 <= bucket < BUCKETS:
        raise ValueError(f"bucket must be in 0..{BUCKETS - 1}; got {bucket!r}")
    if bucket >= ZERO:
        return _magnitude_bounds(bucket - ZERO)
    low, high = _magnitude_bounds(ZERO - bucket)
    return -high, -low


@dataclass(frozen=True, slots=True)
class LagSummary:
    """One channel's feed lag: frames measured and the median and 99th percentile, in ms."""

    count: int
    p50_ms: float
    p99_ms: float


class FeedLag(Mapping[str, LagSummary]):
    """Per channel, the histogram of feed lags; a mapping of channel to ``LagSummary``.

    Only channels with a frame measured are keys. Readings are made when asked for (the
    frame path only counts), so a read costs a pass over one channel's buckets.
    """

    def __init__(self) -> None:
        # Allocated with the first frame path bound to it, never resized (the compiled path
        # holds a view of it): a StreamStats that never streams costs nothing.
        self._counts: MutableSequence[int] | None = None
        #: Channel -> its slot in the counts (-1: not measured, the slots were all taken).
        self.slots: dict[Any, int] = {}
        self._channels: list[str] = []

    @property
    def counts(self) -> MutableSequence[int]:
        """Every channel's buckets, slot after slot (``BUCKETS`` each): an ``array("Q")``."""
        if self._counts is None:
            self._counts = array("Q", bytes(8 * BUCKETS * CHANNEL_SLOTS))
        return self._counts

    def slot_for(self, channel: Any) -> int:
        """The slot of ``channel``'s buckets, given at its first frame; -1 when all are taken."""
        slot = self.slots.get(channel)
        if slot is not None:
            return slot
        if len(self._channels) < CHANNEL_SLOTS:
            slot = len(self._channels)
            self._channels.append(str(channel))
        else:
            slot = -1
            if len(self.slots) >= CHANNEL_SLOTS + _STRANGERS:
                return slot
        self.slots[channel] = slot
        return slot

    def buckets(self, channel: str) -> list[int]:
        """The frames counted in each bucket of ``channel`` (``bucket_bounds`` gives their lags)."""
        slot = self._channels.index(channel) if channel in self._channels else -1
        if slot < 0 or self._counts is None:
            raise KeyError(channel)
        return list(self._counts[slot * BUCKETS : (slot + 1) * BUCKETS])

    def percentile(self, channel: str, fraction: float) -> float:
        """The lag, in ms, that ``fraction`` (0 < fraction <= 1) of ``channel``'s frames did not
        exceed: the middle of the bucket it falls in."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1]; got {fraction!r}")
        return self._percentile(self.buckets(channel), fraction)

    @staticmethod
    def _percentile(counts: list[int], fraction: float) -> float:
        rank = max(1, math.ceil(fraction * sum(counts)))
        seen = 0
        for bucket, count in enumerate(counts):
            seen += count
            if seen >= rank:
                low, high = bucket_bounds(bucket)
                return (low + high) / 2
        raise KeyError("no frame measured")

    def __getitem__(self, channel: str) -> LagSummary:
        counts = self.buckets(channel)
        total = sum(counts)
        if total == 0:
            raise KeyError(channel)
        return LagSummary(total, self._percentile(counts, 0.5), self._percentile(counts, 0.99))

    def __iter__(self) -> Iterator[str]:
        return iter([channel for channel in list(self._channels) if channel in self])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, channel: object) -> bool:
        try:
            return any(self.buckets(channel))  # type: ignore[arg-type]
        except KeyError:
            return False

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{channel: {"count": ..., "p50_ms": ..., "p99_ms": ...}}`` (for logging or JSON)."""
        return {
            channel: {"count": s.count, "p50_ms": s.p50_ms, "p99_ms": s.p99_ms}
            for channel, s in self.items()
        }

    def __repr__(self) -> str:
        return f"FeedLag({self.as_dict()!r})"
