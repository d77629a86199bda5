"""Garbage-collection pauses on the hot path: one Stream over millions of blasted frames.

The client process times every collection with ``gc.callbacks`` (from the first connection
to the last frame, start-up excluded) while an inline ``Stream`` keeps the book and counts
frames, reconnecting to a blast server until the frames are done. With ``freeze`` it calls
``gc.collect(); gc.freeze()`` once connected, so what start-up built (modules, the stream,
the book's first levels) is never scanned again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..testing.blast import start_blast_server
from ..testing.paced import read_stamps
from .config import TRANSPORTS
from .latency import percentile
from .runner import _config, _run_client

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GcPauses:
    """The collections one run saw: counts per generation and pause times (ms).

    Wall times include preemption during a collection (the machine is shared); CPU times
    are the collecting thread's own.
    """

    transport: str
    freeze: bool
    frames: int
    counts: tuple[int, int, int]
    total_ms: float
    p99_ms: float
    max_ms: float
    max_by_generation: tuple[float, float, float]
    max_cpu_ms: float
    max_cpu_by_generation: tuple[float, float, float]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "freeze": self.freeze,
            "frames": self.frames,
            "collections_by_generation": list(self.counts),
            "total_ms": self.total_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "max_ms_by_generation": list(self.max_by_generation),
            "max_cpu_ms": self.max_cpu_ms,
            "max_cpu_ms_by_generation": list(self.max_cpu_by_generation),
            "problems": list(self.problems),
        }


def summarize_pauses(
    transport: str, freeze: bool, frames: int, log: Sequence[int], problems: Sequence[str]
) -> GcPauses:
    """``log`` is (generation, wall ns, CPU ns) after (generation, wall ns, CPU ns), as the
    client writes it."""
    generations = log[0::3]
    walls = [ns / 1e6 for ns in log[1::3]]
    cpus = [ns / 1e6 for ns in log[2::3]]

    def worst(values: Sequence[float]) -> tuple[float, float, float]:
        by_generation = [
            max((v for g, v in zip(generations, values, strict=True) if g == n), default=0.0)
            for n in range(3)
        ]
        return by_generation[0], by_generation[1], by_generation[2]

    counts = [sum(1 for g in generations if g == n) for n in range(3)]
    ordered = sorted(walls)
    return GcPauses(
        transport,
        freeze,
        frames,
        (counts[0], counts[1], counts[2]),
        sum(walls),
        percentile(ordered, 0.99),
        ordered[-1] if ordered else 0.0,
        worst(walls),
        max(cpus, default=0.0),
        worst(cpus),
        tuple(problems),
    )


def run_gc_pauses(
    frames: int = 2_000_000,
    *,
    blast_frames: int = 200_000,
    transports: Sequence[str] = TRANSPORTS,
    freeze: Sequence[bool] = (False, True),
    loop: str = "uvloop",
    timeout: float = 900.0,
    progress: Progress | None = None,
) -> list[GcPauses]:
    """One inline Stream per transport x freeze over ``frames`` frames; every pause timed."""
    connections = max(1, -(-frames // blast_frames))
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="maicoin-gc-") as scratch,
        start_blast_server(blast_frames) as server,
    ):
        for transport in transports:
            for frozen in freeze:
                log = Path(scratch) / f"gc-{transport}-{frozen}.bin"
                config = replace(
                    _config(server, transport, loop, "inline", connections),
                    gc_pauses=str(log),
                    gc_freeze=frozen,
                )
                report = _run_client(config, server, timeout)
                pauses = read_stamps(log) if log.exists() else []
                result = summarize_pauses(
                    transport,
                    frozen,
                    report.get("received", 0),
                    pauses,
                    report.get("problems", []) or ([] if log.exists() else ["no GC log"]),
                )
                results.append(result)
                if progress is not None:
                    progress(
                        f"{transport:<10} freeze={frozen!s:<5} {result.counts} collections, "
                        f"max {result.max_ms:.3f} ms (CPU {result.max_cpu_ms:.3f} ms), "
                        f"total {result.total_ms:.1f} ms"
                    )
    return results


def format_gc_pauses(results: Sequence[GcPauses]) -> str:
    """Markdown: collections per generation and the pauses of each run."""
    lines = [
        "| transport | gc.freeze() | frames | gen 0 / 1 / 2 collections | total ms "
        "| p99 ms | max ms | max gen 0 / 1 / 2 ms | max CPU gen 0 / 1 / 2 ms | correct |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        counts = " / ".join(f"{c:,}" for c in r.counts)
        worst = " / ".join(f"{m:.3f}" for m in r.max_by_generation)
        worst_cpu = " / ".join(f"{m:.3f}" for m in r.max_cpu_by_generation)
        verdict = "yes" if r.ok else "NO: " + "; ".join(r.problems)
        lines.append(
            f"| {r.transport} | {'yes' if r.freeze else 'no'} | {r.frames:,} | {counts} "
            f"| {r.total_ms:.1f} | {r.p99_ms:.3f} | {r.max_ms:.3f} | {worst} | {worst_cpu} "
            f"| {verdict} |"
        )
    return "\n".join(lines)
