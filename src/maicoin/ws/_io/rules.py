"""What both twins of the receive loop follow, defined once: the turn size and fragment joining."""

from __future__ import annotations

from typing import Final

__all__ = ["FRAMES_PER_TURN", "FragmentJoiner", "MessageTooBig"]

FRAMES_PER_TURN: Final = 128
"""Frames handled in one go before other tasks get a turn: a single read can carry thousands."""


class FragmentJoiner:
    """Joins a fragmented WebSocket message: a first data frame, then continuations.

    Every transport and both receive twins join fragments here, so the rules (a new first
    frame abandons an unfinished message, a continuation without a start is dropped, the
    joined size is bounded like a whole message) exist once. Rare on MAX: it sends whole
    frames, so this is never on the per-frame hot path.
    """

    __slots__ = ("_parts", "_size", "max_size")

    def __init__(self, max_size: int | None = None) -> None:
        self.max_size = max_size
        self._parts: list[bytes] | None = None
        self._size = 0

    def add(self, first: bool, fin: bool, payload: bytes) -> bytes | None:
        """Take one fragment; the whole message once ``fin`` ends it, else None.

        Raises ``MessageTooBig`` when the joined message would pass ``max_size``.
        """
        if first:
            self._parts = [payload]
            self._size = len(payload)
        elif self._parts is None:
            return None  # a continuation without a start: nothing to complete
        else:
            self._parts.append(payload)
            self._size += len(payload)
        if self.max_size is not None and self._size > self.max_size:
            size = self._size
            self.reset()
            raise MessageTooBig(size, self.max_size)
        if not fin:
            return None
        message = b"".join(self._parts)
        self.reset()
        return message

    def reset(self) -> None:
        """Forget an unfinished message."""
        self._parts = None
        self._size = 0


class MessageTooBig(ValueError):
    """A fragmented message grew past the connection's ``max_size``."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"message of at least {size} bytes exceeds max_size={max_size}")
        self.size = size
        self.max_size = max_size
