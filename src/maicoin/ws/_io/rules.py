"""What both twins of the receive loop follow, defined once: the turn size and fragment joining."""

from __future__ import annotations

from typing import Final

__all__ = ["FRAMES_PER_TURN", "FragmentJoiner"]

FRAMES_PER_TURN: Final = 128
"""Frames handled in one go before other tasks get a turn: a single read can carry thousands."""


class FragmentJoiner:
    """Joins a fragmented WebSocket message: a first data frame, then continuations.

    Every transport and both receive twins join fragments here, so the rules (a new first
    frame abandons an unfinished message, a continuation without a start is dropped) exist
    once. Rare on MAX: it sends whole frames, so this is never on the per-frame hot path.
    """

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] | None = None

    def add(self, first: bool, fin: bool, payload: bytes) -> bytes | None:
        """Take one fragment; the whole message once ``fin`` ends it, else None."""
        if first:
            self._parts = [payload]
        elif self._parts is None:
            return None  # a continuation without a start: nothing to complete
        else:
            self._parts.append(payload)
        if not fin:
            return None
        message = b"".join(self._parts)
        self._parts = None
        return message

    def reset(self) -> None:
        """Forget an unfinished message."""
        self._parts = None
