"""Results of the end-to-end runner and their Markdown: table, ratios, stages, memory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MODE_LABELS = {
    "receive": "receive only (ceiling)",
    "decode": "receive + decode",
    "book": "receive + decode + book",
    "onepass": "receive + one-pass book",
    "inline": "Stream, inline",
    "task": "Stream, task",
    "queue": "Stream, queue",
    "recv": "Stream, inline, recv() loop",
}


@dataclass(frozen=True, slots=True)
class Result:
    """One configuration's best run, and whether every run of it was correct."""

    transport: str
    loop: str
    mode: str
    frames: int
    """Frames the client had to count (the ``subscribed`` reply included)."""
    received: int
    seconds: float
    cpu_seconds: float
    problems: tuple[str, ...] = ()
    """Why the run is not correct; empty when it is."""
    runs: int = 1
    rss: tuple[int, ...] = field(default=())
    """Resident bytes at the end of each connection (memory runs)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def messages_per_second(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_message(self) -> float:
        return self.cpu_seconds / self.received * 1e6 if self.received else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "loop": self.loop,
            "mode": self.mode,
            "frames": self.frames,
            "received": self.received,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "messages_per_second": self.messages_per_second,
            "cpu_us_per_message": self.cpu_us_per_message,
            "ok": self.ok,
            "problems": list(self.problems),
            "runs": self.runs,
            "rss": list(self.rss),
        }


def _find(results: Iterable[Result], transport: str, loop: str, mode: str) -> Result | None:
    for result in results:
        if (result.transport, result.loop, result.mode) == (transport, loop, mode):
            return result
    return None


def _groups(results: Sequence[Result]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for result in results:
        if (result.transport, result.loop) not in seen:
            seen.append((result.transport, result.loop))
    return seen


def format_table(results: Sequence[Result]) -> str:
    """Markdown table: one row per configuration, rates relative to the transport's ceiling."""
    lines = [
        "| transport | loop | path | msgs/s | CPU µs/msg | vs receive only | vs decode | correct |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for transport, loop in _groups(results):
        ceiling = _find(results, transport, loop, "receive")
        decoded = _find(results, transport, loop, "decode")
        for result in results:
            if (result.transport, result.loop) != (transport, loop):
                continue
            lines.append(
                f"| {transport} | {loop} | {MODE_LABELS.get(result.mode, result.mode)} "
                f"| {result.messages_per_second:,.0f} | {result.cpu_us_per_message:.2f} "
                f"| {_ratio(result, ceiling)} | {_ratio(result, decoded)} "
                f"| {'yes' if result.ok else 'NO: ' + '; '.join(result.problems)} |"
            )
    return "\n".join(lines)


def _ratio(result: Result, reference: Result | None) -> str:
    if reference is None or reference is result or not reference.messages_per_second:
        return ""
    return f"{result.messages_per_second / reference.messages_per_second:.0%}"


def format_stages(results: Sequence[Result]) -> str:
    """CPU µs per message spent in each stage, from the differences between rows.

    transport = the receive-only row; decode = decode row - receive row; book = book row -
    decode row; one-pass book = one-pass row - receive row (decode and book together, as a
    Stream does them); stream + dispatch = ``recv()`` Stream row - one-pass row (stats, the
    per-frame path, the dispatcher); push saving = inline row - ``recv()`` row (negative:
    what taking frames from the transport's callback saves over an ``await`` per frame).
    """
    lines = [
        "| transport | loop | transport | decode | book | one-pass book | stream + dispatch "
        "| push saving | total (inline) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    modes = ("receive", "decode", "book", "onepass", "recv", "inline")
    for transport, loop in _groups(results):
        rows = [_find(results, transport, loop, mode) for mode in modes]
        if any(row is None for row in rows):
            continue
        receive, decode, book, onepass, recv, inline = (
            row.cpu_us_per_message for row in rows if row is not None
        )
        stages = [receive, decode - receive, book - decode, onepass - receive, recv - onepass]
        cells = " | ".join(f"{value:.2f}" for value in stages)
        lines.append(f"| {transport} | {loop} | {cells} | {inline - recv:+.2f} | {inline:.2f} |")
    return "\n".join(lines)


def format_ratios(results: Sequence[Result]) -> str:
    """The performance targets as sentences: each transport's path against its ceilings."""
    lines = []
    for transport, loop in _groups(results):
        ceiling = _find(results, transport, loop, "receive")
        decoded = _find(results, transport, loop, "decode")
        inline = _find(results, transport, loop, "inline")
        if ceiling is None or inline is None:
            continue
        parts = [
            f"inline Stream at {_ratio(inline, ceiling)} of the bare receive loop "
            f"({inline.messages_per_second:,.0f} vs {ceiling.messages_per_second:,.0f} msgs/s)"
        ]
        if decoded is not None:
            parts.append(f"{_ratio(inline, decoded)} of the decode-only loop")
        for mode in ("task", "queue"):
            other = _find(results, transport, loop, mode)
            if other is not None and inline.messages_per_second:
                share = other.messages_per_second / inline.messages_per_second
                parts.append(f"{mode} mode at {share:.0%} of inline")
        lines.append(f"- {transport} / {loop}: " + ", ".join(parts) + ".")
    return "\n".join(lines)


def format_memory(results: Sequence[Result]) -> str:
    """Resident memory at the start, middle and end of long runs (first connection = start)."""
    lines = [
        "| transport | loop | mode | frames | RSS start (MB) | middle (MB) | end (MB) "
        "| growth (MB) | correct |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        if not result.rss:
            continue
        rss = [value / 1e6 for value in result.rss]
        start, middle, end = rss[0], rss[len(rss) // 2], rss[-1]
        lines.append(
            f"| {result.transport} | {result.loop} | {result.mode} | {result.received:,} "
            f"| {start:.1f} | {middle:.1f} | {end:.1f} | {max(rss) - start:+.1f} "
            f"| {'yes' if result.ok else 'NO: ' + '; '.join(result.problems)} |"
        )
    return "\n".join(lines)
