"""What both twins of each frame-path stage follow, defined once and owned by neither.

The book's result codes, ``Level`` and ``BookResync`` and the wording of its resync logs;
the dispatcher's modes and its task-limit rule. The compiled modules import these names, so
a value can never differ between ``_x_c`` and ``_x_py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from ..errors import ValidationError
from ..response import Event
from .decode import frame_error

if TYPE_CHECKING:
    from ..response import Response
    from ..stats import StreamStats

__all__ = [
    "APPLIED",
    "CLEARED",
    "DISPATCH_MODES",
    "EARLY_UPDATE_LIMIT",
    "GAP",
    "IGNORED",
    "LAG_EXCLUDED_EVENTS",
    "RESYNC_REASONS",
    "SNAPSHOT_EVENTS",
    "STALE",
    "VERSION_CHANGED",
    "BookResync",
    "Level",
    "checked_dispatch_mode",
    "checked_early_limit",
    "checked_task_limit",
    "early_overflow",
    "frame_excerpt",
    "malformed_frame",
    "out_of_sequence",
    "undecodable_frame",
]

log = logging.getLogger("maicoin.ws")

# ---------------------------------------------------------------- decoding
EXCERPT_CHARS: Final = 200
"""How much of a bad frame a log line shows."""


def frame_excerpt(frame: object) -> str:
    """The start of ``frame`` for a log line: at most ``EXCERPT_CHARS`` of it, and its size.

    Only the start is ever copied (``%.200r`` would build the repr of a whole 1 MiB frame).
    """
    try:
        size = len(frame)  # type: ignore[arg-type]
        head = frame[:EXCERPT_CHARS]  # type: ignore[index]
    except TypeError:
        return f"<{type(frame).__name__}>"
    if not isinstance(head, bytes | str):
        head = bytes(head)
    if size <= EXCERPT_CHARS:
        return repr(head)
    unit = "characters" if isinstance(head, str) else "bytes"
    return f"{head!r}... ({size} {unit})"


def undecodable_frame(stats: StreamStats, frame: object, exc: Exception) -> None:
    """Count and log a frame the decoder refused (or failed on); the path skips it.

    Any exception counts: every known failure is named as a ``ValidationError`` (whose
    message names the field), whichever decoder raised it; anything else by its type.
    """
    stats.decode_errors += 1
    exc = frame_error(exc)  # a raw decoder's failure is named as the checked one names it
    problem = str(exc) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
    if len(problem) > EXCERPT_CHARS:
        problem = problem[:EXCERPT_CHARS] + "..."
    log.warning("dropped a frame that does not decode (%s): %s", problem, frame_excerpt(frame))


# ---------------------------------------------------------------- the order book
APPLIED = 0
"""The snapshot or update was applied; the book is synced."""
STALE = 1
"""The update was entirely old (its ``li`` <= the local ``li``) and was dropped."""
GAP = 2
"""The update does not cover the local ``li + 1``: the book was invalidated."""
VERSION_CHANGED = 3
"""The update's version differs from the snapshot's: the book was invalidated."""
CLEARED = 4
"""The snapshot was empty: the book was cleared and waits for the next snapshot."""
IGNORED = 5
"""An update arrived while the book was not synced (waiting for a snapshot)."""

# The exchange's documentation once spelt the event "snaptshot"; treat it as a snapshot.
SNAPSHOT_EVENTS: Final = frozenset({"snapshot", "snaptshot"})


class Level(NamedTuple):
    """One price level: floats for arithmetic, the exact strings as sent for decimals."""

    price: float
    volume: float
    price_text: str
    volume_text: str


@dataclass(frozen=True, slots=True)
class BookResync:
    """Why a book was resubscribed: passed to ``on_book_resync``."""

    market: str
    reason: str
    """"gap", "version_changed", "invalid_level" or "early_overflow" (more updates came
    before the book's snapshot than the keeper holds)."""
    last_update_id: int
    """The local book's last update id when the problem was seen."""
    first_update_id: int | None = None
    """The offending update's ``fi`` (None for a malformed frame)."""


RESYNC_REASONS: Final = {GAP: "gap", VERSION_CHANGED: "version_changed"}

EARLY_UPDATE_LIMIT: Final = 256
"""Updates a book keeper holds per market while the book waits for its snapshot.

On large subscribes the exchange can send a market's first update before its snapshot;
the keeper holds such updates and, when the snapshot comes, drops those it covers (``li``
<= the snapshot's) and applies the rest by the sequencing rule. One more than this many
held updates is an overflow: they are dropped and the book resyncs.
"""


def checked_early_limit(early_limit: object) -> int:
    """``early_limit`` if it is an int >= 0 (not a bool); else ValueError. 0 holds nothing:
    updates before a snapshot are ignored, as a lone ``OrderBook`` does."""
    if isinstance(early_limit, int) and not isinstance(early_limit, bool) and early_limit >= 0:
        return early_limit
    raise ValueError(f"early_limit must be an int >= 0; got {early_limit!r}")


def early_overflow(
    stats: StreamStats, market: str, held: int, last_update_id: int, response: Response
) -> BookResync:
    """Count and log an overflow of updates held before a snapshot; the book asks for a
    resync."""
    stats.resyncs += 1
    log.warning(
        "book %s: %d updates came before its snapshot, more than are held; resubscribing",
        market,
        held + 1,
    )
    return BookResync(market, "early_overflow", last_update_id, response.first_update_id)


def malformed_frame(
    stats: StreamStats, market: str, last_update_id: int, exc: ValueError
) -> BookResync:
    """Count and log a frame the book refused; the book asks for a resync."""
    stats.decode_errors += 1
    log.warning("book %s: malformed frame, resyncing: %s", market, exc)
    stats.resyncs += 1
    return BookResync(market, "invalid_level", last_update_id)


def out_of_sequence(
    stats: StreamStats, market: str, reason: str, last_update_id: int, response: Response
) -> BookResync:
    """Count and log a gap or version change; the book asks for a resync."""
    stats.resyncs += 1
    log.warning(
        "book %s: %s at update %s-%s (local %d); resubscribing",
        market,
        reason,
        response.first_update_id,
        response.last_update_id,
        last_update_id,
    )
    return BookResync(market, reason, last_update_id, response.first_update_id)


# ---------------------------------------------------------------- feed lag
LAG_EXCLUDED_EVENTS: Final = frozenset(
    {*SNAPSHOT_EVENTS, *(event for event in Event if event.value.endswith("_snapshot"))}
)
"""Events whose ``T`` says nothing of the feed's lag: every kind of snapshot (a book's ``T``
can be hours old). The frame paths measure every other frame that has a channel."""


# ---------------------------------------------------------------- the dispatcher
DISPATCH_MODES: Final = ("inline", "task", "queue")
"""``inline``: handlers in order before the next frame; ``task``: async handlers as tasks;
``queue``: responses put on a queue."""


def checked_dispatch_mode(mode: object) -> str:
    """``mode`` as the canonical mode string, or ValueError naming the valid ones."""
    if isinstance(mode, str) and mode in DISPATCH_MODES:
        return DISPATCH_MODES[DISPATCH_MODES.index(mode)]
    valid = ", ".join(repr(name) for name in DISPATCH_MODES)
    raise ValueError(f"dispatch must be one of {valid}; got {mode!r}")


def checked_task_limit(max_pending_tasks: object) -> int | None:
    """``max_pending_tasks`` if it is None or an int >= 1 (not a bool); else ValueError."""
    if max_pending_tasks is None or (
        isinstance(max_pending_tasks, int)
        and not isinstance(max_pending_tasks, bool)
        and max_pending_tasks >= 1
    ):
        return max_pending_tasks
    raise ValueError(f"max_pending_tasks must be None or an int >= 1; got {max_pending_tasks!r}")
