"""Wire-to-handler latency: a paced blast server, each client in its own process.

For every frame, latency = the client's handler-entry time - the server's write time (both
CLOCK_MONOTONIC ns: one machine, one clock). The first ``WARMUP`` seconds of each run are
left out (first calls import and allocate). Frames go in order over one socket and every
path counts them in order, so the n-th handler call belongs to the n-th frame sent. A
burst's frames share one write: *burst drained* is the latency of each burst's last frame.
Each path runs ``repeat`` times, interleaved with the others; every figure is the median
of its runs (a shared machine's noise moves single runs).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..testing.blast import BlastServer, start_blast_server
from ..testing.paced import Pace, read_stamps
from .config import ORIGINAL, RunConfig
from .runner import _run_client

Progress = Callable[[str], None]
WARMUP = 0.25
"""Seconds at the start of a run whose frames are not counted."""
ORIGINAL_SCRIPT = Path(__file__).resolve().with_name("original_client.py")


@dataclass(frozen=True, slots=True)
class ClientPath:
    """One measured client path: transport, mode (``receive``: the bare loop), compression."""

    transport: str
    mode: str
    compression: bool = False

    @property
    def label(self) -> str:
        names = {
            ("websockets", "receive"): "websockets, bare recv() loop",
            ("picows", "receive"): "picows, bare frame callback",
            (ORIGINAL, "inline"): "original maicoin.ws (pydantic), inline",
        }
        name = names.get((self.transport, self.mode), f"ours, {self.transport}, {self.mode}")
        return f"{name}, {'deflate' if self.compression else 'plain'}"


LATENCY_PATHS: tuple[ClientPath, ...] = (
    ClientPath("websockets", "receive"),
    ClientPath("websockets", "receive", True),
    ClientPath("picows", "receive"),
    ClientPath(ORIGINAL, "inline"),
    ClientPath(ORIGINAL, "inline", True),
    *(
        ClientPath("websockets", mode, deflate)
        for deflate in (False, True)
        for mode in ("inline", "task", "queue")
    ),
    *(ClientPath("picows", mode) for mode in ("inline", "task", "queue")),
)


@dataclass(frozen=True, slots=True)
class Latency:
    """The latency percentiles of one path at one rate (µs), and whether the run was right."""

    path: ClientPath
    rate: float
    samples: int
    p50: float
    p99: float
    p999: float
    max: float
    burst: float
    """Median latency of the last frame of each burst (µs): the time to drain a burst."""
    cpu_us: float
    """The client process's CPU µs per frame over the run (idle wake-ups included)."""
    runs: int = 1
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "transport": self.path.transport,
            "mode": self.path.mode,
            "compression": self.path.compression,
            "label": self.path.label,
            "rate": self.rate,
            "samples": self.samples,
            "p50_us": self.p50,
            "p99_us": self.p99,
            "p99.9_us": self.p999,
            "max_us": self.max,
            "burst_drained_us": self.burst,
            "cpu_us_per_frame": self.cpu_us,
            "runs": self.runs,
            "problems": list(self.problems),
        }


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not ordered:
        return 0.0
    # The rank is ceil(fraction * n); the epsilon keeps 0.999 * 1000 from rounding up.
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered) - 1e-9) - 1))
    return ordered[index]


def latencies(
    sent: Sequence[int], handled: Sequence[int], warmup_ns: int, burst: int = 0
) -> tuple[list[float], list[float]]:
    """Sorted µs from each frame's send to its handler, past ``warmup_ns``, and the µs of
    the last frame of each write of at least ``burst`` frames (0: none), sorted.

    ``handled[0]`` is the ``subscribed`` reply (no send time); ``handled[k]`` is frame k-1.
    """
    if not sent:
        return [], []
    first = sent[0] + warmup_ns
    values = []
    drained = []
    run = 0
    pairs = list(zip(sent, handled[1:], strict=False))
    for index, (send, handler) in enumerate(pairs):
        run = run + 1 if index and sent[index - 1] == send else 1
        if send < first:
            continue
        values.append((handler - send) / 1e3)
        last_of_write = index + 1 == len(pairs) or sent[index + 1] != send
        if burst and last_of_write and run >= burst:
            drained.append((handler - send) / 1e3)
    values.sort()
    drained.sort()
    return values, drained


def summarize(
    path: ClientPath,
    rate: float,
    runs: Sequence[tuple[list[float], list[float], float]],
    problems: Sequence[str],
) -> Latency:
    """The median over ``runs`` (sorted latencies, sorted burst drains, CPU µs) of each figure."""
    measured = [run for run in runs if run[0]] or [([], [], 0.0)]

    def median_of(figure: Callable[[tuple[list[float], list[float], float]], float]) -> float:
        return percentile(sorted(figure(run) for run in measured), 0.5)

    return Latency(
        path,
        rate,
        round(median_of(lambda run: float(len(run[0])))),
        median_of(lambda run: percentile(run[0], 0.50)),
        median_of(lambda run: percentile(run[0], 0.99)),
        median_of(lambda run: percentile(run[0], 0.999)),
        median_of(lambda run: run[0][-1] if run[0] else 0.0),
        median_of(lambda run: percentile(run[1], 0.5)),
        median_of(lambda run: run[2]),
        len(runs),
        tuple(dict.fromkeys(problems)),
    )


def run_latency(
    *,
    rates: Sequence[float] = (1_000, 20_000),
    seconds: float = 6.0,
    burst: int = 300,
    burst_every: float = 0.5,
    paths: Sequence[ClientPath] = LATENCY_PATHS,
    loop: str = "uvloop",
    market: str = "btcusdt",
    depth: int = 50,
    original_python: str | None = None,
    repeat: int = 3,
    timeout: float = 300.0,
    progress: Progress | None = None,
) -> list[Latency]:
    """Measure every path at every rate: ``seconds`` of the steady stream plus the bursts,
    ``repeat`` interleaved runs each.

    The original's rows run in ``original_python`` (an interpreter with ``maicoin`` from
    PyPI installed); without one they are left out.
    """
    if not rates or any(not rate > 0 for rate in rates):
        raise ValueError(f"rates must be positive frames a second, got {list(rates)!r}")
    if not seconds > WARMUP:
        raise ValueError(f"seconds must be more than the {WARMUP} s warm-up, got {seconds!r}")
    if type(repeat) is not int or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    chosen = [p for p in paths if p.transport != ORIGINAL or original_python]
    results = []
    with tempfile.TemporaryDirectory(prefix="maicoin-latency-") as scratch:
        for rate in rates:
            frames = int(seconds * (rate + burst / burst_every))
            pace = Pace(rate, scratch, burst, burst_every, deflate=True)
            runs: dict[ClientPath, list[tuple[list[float], list[float], float]]] = {
                path: [] for path in chosen
            }
            problems: dict[ClientPath, list[str]] = {path: [] for path in chosen}
            with start_blast_server(frames, market=market, depth=depth, pace=pace) as server:
                for round_number in range(repeat):
                    for number, path in enumerate(chosen):
                        handled = Path(scratch) / f"handled-{number}.bin"
                        run, wrong = _measure(
                            server,
                            path,
                            burst,
                            loop=loop,
                            handled=handled,
                            original_python=original_python,
                            timeout=timeout,
                        )
                        runs[path].append(run)
                        problems[path] += wrong
                        if progress is not None:
                            one = summarize(path, rate, [run], wrong)
                            progress(f"[{round_number + 1}/{repeat}] {_describe(one)}")
            results += [summarize(p, rate, runs[p], problems[p]) for p in chosen]
    return results


def _measure(
    server: BlastServer,
    path: ClientPath,
    burst: int,
    *,
    loop: str,
    handled: Path,
    original_python: str | None,
    timeout: float,
) -> tuple[tuple[list[float], list[float], float], list[str]]:
    """One client run: (sorted latencies, sorted burst drains, CPU µs a frame), problems."""
    config = RunConfig(
        transport=path.transport,
        loop=loop,
        mode=path.mode,
        uri=server.uri,
        market=server.market,
        depth=server.depth,
        expected=server.n_frames + 1,
        compression=path.compression,
        stamps=str(handled),
    )
    if path.transport == ORIGINAL:
        assert original_python is not None
        command: tuple[str, ...] = (original_python, str(ORIGINAL_SCRIPT))
        report = _run_client(config, server, timeout, command, this_package=False)
    else:
        report = _run_client(config, server, timeout)
    problems = list(report.get("problems", []))
    sent_files = report.get("sent_stamps", [])
    if not sent_files or not handled.exists():
        return ([], [], 0.0), problems or ["no send or handler times"]
    values, drained = latencies(
        read_stamps(sent_files[0]), read_stamps(handled), int(WARMUP * 1e9), burst
    )
    handled.unlink()
    cpu = report.get("cpu_seconds", 0.0) / max(report.get("received", 0), 1) * 1e6
    return (values, drained, cpu), problems


def _describe(result: Latency) -> str:
    verdict = "ok" if result.ok else "WRONG: " + "; ".join(result.problems)
    return (
        f"{result.rate:>7,.0f}/s {result.path.label:<52} p50 {result.p50:8.1f} µs "
        f"p99 {result.p99:8.1f} p99.9 {result.p999:8.1f} max {result.max:8.1f} "
        f"burst {result.burst:8.1f} cpu {result.cpu_us:5.2f} µs  {verdict}"
    )


def format_latency(results: Sequence[Latency]) -> str:
    """Markdown: one row per path and rate, with p50 relative to the bare transport's."""
    lines = [
        "| rate | path | frames | p50 µs | p99 µs | p99.9 µs | max µs | burst drained µs "
        "| CPU µs/frame | p50 vs bare | correct |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        bare = _bare(results, result)
        ratio = f"{result.p50 / bare.p50:.2f}x" if bare and bare.p50 else ""
        verdict = "yes" if result.ok else "NO: " + "; ".join(result.problems)
        lines.append(
            f"| {result.rate:,.0f}/s | {result.path.label} | {result.samples:,} "
            f"| {result.p50:.1f} | {result.p99:.1f} | {result.p999:.1f} | {result.max:.1f} "
            f"| {result.burst:.1f} | {result.cpu_us:.2f} | {ratio} | {verdict} |"
        )
    return "\n".join(lines)


def _bare(results: Sequence[Latency], result: Latency) -> Latency | None:
    """The bare loop of ``result``'s transport (websockets for the original), same rate and
    compression; None for a bare loop itself."""
    if result.path.mode == "receive":
        return None
    transport = "websockets" if result.path.transport == ORIGINAL else result.path.transport
    for other in results:
        if (other.rate, other.path.transport, other.path.mode, other.path.compression) == (
            result.rate,
            transport,
            "receive",
            result.path.compression,
        ):
            return other
    return None
