"""What both twins of the receive loop follow, defined once: the turn size and fragment joining."""

from __future__ import annotations

import logging
from typing import Any, Final

__all__ = [
    "FRAMES_PER_TURN",
    "MESSAGE_TOO_BIG",
    "FragmentJoiner",
    "MessageTooBig",
    "count_message_too_big",
    "refused_as_too_big",
]

log = logging.getLogger("maicoin.ws")

FRAMES_PER_TURN: Final = 128
"""Frames handled in one go before other tasks get a turn: a single read can carry thousands."""

MESSAGE_TOO_BIG: Final = 1009
"""The close code of a connection that received a message longer than its ``max_size``."""


class MessageTooBig(ValueError):
    """A fragmented message grew past the connection's ``max_size``; it was not assembled."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"message of at least {size} bytes exceeds max_size={max_size}")
        self.size = size
        self.max_size = max_size


def refused_as_too_big(exc: BaseException) -> str | None:
    """The close reason when ``exc`` ends a connection this side closed with 1009 (a message
    longer than ``max_size``), on either transport; else None (the peer's 1009 is not ours).
    """
    sent = getattr(exc, "sent", None)
    if sent is None or sent.code != MESSAGE_TOO_BIG:
        return None
    if getattr(exc, "rcvd", None) is not None and getattr(exc, "rcvd_then_sent", False):
        return None
    reason: str = sent.reason
    return reason


def count_message_too_big(stats: Any, reason: str) -> None:
    """Count a message refused for its size as a frame that does not decode, and log it."""
    stats.messages += 1
    stats.decode_errors += 1
    log.warning("closed the connection with 1009: a message was longer than max_size (%s)", reason)


class FragmentJoiner:
    """Joins a fragmented WebSocket message: a first data frame, then continuations.

    Every transport and both receive twins join fragments here, so the rules (a new first
    frame abandons an unfinished message, a continuation without a start is dropped, the
    whole message is bounded by ``max_size`` as an unfragmented one is) exist once. Rare on
    MAX: it sends whole frames, so this is never on the per-frame hot path.
    """

    __slots__ = ("_parts", "_size", "max_size")

    def __init__(self, max_size: int | None = None) -> None:
        self.max_size = max_size
        self._parts: list[bytes] | None = None
        self._size = 0

    def add(self, first: bool, fin: bool, payload: bytes) -> bytes | None:
        """Take one fragment; the whole message once ``fin`` ends it, else None.

        Raises ``MessageTooBig`` as soon as the fragments so far add up to more than
        ``max_size``: the fragment that passes it is not kept and the message is forgotten,
        so at most ``max_size`` bytes of it are ever held.
        """
        if first:
            self._parts = []
            self._size = 0
        elif self._parts is None:
            return None  # a continuation without a start: nothing to complete
        size = self._size + len(payload)
        if self.max_size is not None and size > self.max_size:
            self.reset()
            raise MessageTooBig(size, self.max_size)
        self._parts.append(payload)
        self._size = size
        if not fin:
            return None
        message = b"".join(self._parts)
        self.reset()
        return message

    def reset(self) -> None:
        """Forget an unfinished message."""
        self._parts = None
        self._size = 0
