"""End-to-end benchmark: ``python benchmarks/e2e.py [--frames N] [--memory] [--latency]``.

Writes benchmarks/results/e2e.md (tables), e2e.json (raw results) and e2e.png (chart; needs
matplotlib). The measuring lives in ``maicoin.ws.benchmark``; this script only chooses and
writes. ``--memory`` adds the RSS of one Stream per mode over ``--memory-frames`` frames.
``--latency`` adds the wire-to-handler latency of every path (latency.md, latency.json,
latency.png) in the same run; the original ``maicoin.ws`` rows need ``--original-python``
(an interpreter with ``maicoin`` from PyPI installed, e.g. a venv of its own). ``--storm``
adds the 74-market snapshot storm and ``--gc`` the GC pauses over ``--gc-frames`` frames,
both to latency.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from maicoin.ws.benchmark import (
    LATENCY_PATHS,
    LOOPS,
    MODES,
    QUEUE_SIZE,
    TRANSPORTS,
    Result,
    format_latency,
    format_memory,
    format_ratios,
    format_stages,
    format_table,
    run_benchmark,
    run_latency,
    run_memory,
    write_chart,
    write_latency_chart,
)
from maicoin.ws.benchmark.gc_pauses import GcPauses, format_gc_pauses, run_gc_pauses
from maicoin.ws.benchmark.latency import WARMUP, Latency
from maicoin.ws.benchmark.storm import Storm, format_storm, run_storm

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000, help="frames per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (best kept)")
    parser.add_argument("--transports", nargs="+", default=list(TRANSPORTS), choices=TRANSPORTS)
    parser.add_argument("--loops", nargs="+", default=list(LOOPS), choices=LOOPS)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--memory", action="store_true", help="also run the RSS check")
    parser.add_argument("--memory-frames", type=int, default=2_000_000)
    parser.add_argument(
        "--memory-blast", type=int, default=200_000, help="frames per connection of the RSS check"
    )
    parser.add_argument("--latency", action="store_true", help="also measure latency")
    parser.add_argument("--rates", nargs="+", type=float, default=[1_000.0, 20_000.0])
    parser.add_argument("--latency-seconds", type=float, default=6.0, help="seconds per run")
    parser.add_argument("--latency-repeat", type=int, default=3, help="runs per latency row")
    parser.add_argument("--burst", type=int, default=300, help="frames per burst")
    parser.add_argument("--burst-every", type=float, default=0.5, help="seconds between bursts")
    parser.add_argument(
        "--original-python",
        default=os.environ.get("MAICOIN_ORIGINAL_PYTHON"),
        help="interpreter with the original maicoin installed (env MAICOIN_ORIGINAL_PYTHON)",
    )
    parser.add_argument("--storm", action="store_true", help="also the 74-market storm")
    parser.add_argument("--gc", action="store_true", help="also the GC pauses")
    parser.add_argument("--gc-frames", type=int, default=2_000_000)
    parser.add_argument("--skip-throughput", action="store_true", help="latency alone")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)

    started = time.strftime("%Y-%m-%d %H:%M")
    command = "python benchmarks/e2e.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    latency: list[Latency] = []
    storms: list[Storm] = []
    pauses: list[GcPauses] = []
    if args.latency:
        latency = run_latency(
            rates=args.rates,
            seconds=args.latency_seconds,
            burst=args.burst,
            burst_every=args.burst_every,
            paths=LATENCY_PATHS,
            loop=args.loops[-1],
            original_python=args.original_python,
            repeat=args.latency_repeat,
            progress=print,
        )
    if args.storm:
        storms = run_storm(progress=print)
    if args.gc:
        pauses = run_gc_pauses(args.gc_frames, loop=args.loops[-1], progress=print)
    checked = [*latency, *storms, *pauses]
    written = {"started": started, "command": command.strip()}
    if args.skip_throughput:
        _write_latency(latency, storms, pauses, [], args, **written)
        return 1 if any(not r.ok for r in checked) else 0
    results = run_benchmark(
        args.frames,
        transports=args.transports,
        loops=args.loops,
        modes=args.modes,
        repeat=args.repeat,
        progress=print,
    )
    memory: list[Result] = []
    if args.memory:
        memory = run_memory(
            args.memory_frames,
            blast_frames=args.memory_blast,
            transports=args.transports,
            loops=args.loops,
            progress=print,
        )
    (args.out / "e2e.md").write_text(_markdown(results, memory, args, started, command.strip()))
    raw = {"results": [r.as_dict() for r in results], "memory": [r.as_dict() for r in memory]}
    (args.out / "e2e.json").write_text(json.dumps(raw, indent=1) + "\n")
    try:
        write_chart(results, args.out / "e2e.png")
    except ImportError:
        print("matplotlib is not installed: no chart (pip install 'maicoin-ws[bench]')")
    print(format_table(results))
    _write_latency(latency, storms, pauses, results, args, **written)
    failed = [r for r in (*results, *memory) if not r.ok] + [r for r in checked if not r.ok]
    return 1 if failed else 0


def _write_latency(
    results: list[Latency],
    storms: list[Storm],
    pauses: list[GcPauses],
    throughput: list[Result],
    args: argparse.Namespace,
    *,
    started: str,
    command: str,
) -> None:
    """latency.md, .json and .png: the latency rows, the storm, the GC pauses and the
    throughput rows of the same run (nothing when none of the three was measured)."""
    if not (results or storms or pauses):
        return
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    text = [
        "# Wire-to-handler latency",
        "",
        f"`{command}` ({started}; {machine}; event loop {args.loops[-1]}).",
        "",
        "**The machine is a shared VM with 2 cores** (the server, the client and other",
        "developers' work share them): absolute microseconds move from run to run; the ratios",
        "between rows of one run are the figures.",
        "",
        "A paced blast server in its own process (picows, the realistic mixed btcusdt stream:",
        "a depth-50 snapshot, then about 70% book updates, 24% trades, 6% tickers) writes the",
        f"stream every millisecond at the row's rate, and every {args.burst_every} s also",
        f"{args.burst} frames back to back in one write (a 74-market subscribe's worth). It",
        "keeps each write's `time.monotonic_ns()`; the client's handler keeps its own at entry",
        "(CLOCK_MONOTONIC is one clock for both processes), so a row is the time from the",
        "server's write to the handler, kernel and loopback included. Frames are unchanged: the",
        "n-th handler call is the n-th frame. Each row is a fresh client process running",
        f"{args.latency_seconds} s; the first {WARMUP} s are left out; each figure is the",
        f"median of {args.latency_repeat} runs, interleaved with the other rows. *burst",
        "drained* is the median latency of each burst's last frame (the time until a whole",
        "burst reached the handler); CPU µs/frame is the client process's CPU time per",
        "frame over the run, idle wake-ups included. *deflate* rows: the",
        "client offers permessage-deflate and the server answers as the live exchange does",
        "(`server_no_context_takeover; client_no_context_takeover`), every frame compressed;",
        "*plain*: nothing offered. picows never compresses. The bare rows are the transports'",
        "own receive loops (the floor); *ours* is a full `Stream` with the book kept and a",
        "counting sync handler in each dispatch mode; the original is `maicoin` 0.7.0 from",
        "PyPI (pydantic models, `recv()` loop, no book), in its own interpreter.",
        "*p50 vs bare* divides by the bare loop of the same transport (websockets for the",
        "original) and compression.",
        "",
        format_latency(results),
        "",
        "![latency chart](latency.png)",
        "",
    ]
    if storms:
        text += [
            "## Snapshot storm",
            "",
            "The embedded simulator in its own process serves 74 markets (live-like: snapshot",
            "bids worst first, shuffled levels, subscribe races); a fresh client process's",
            "Stream subscribes all 74 books at depth 50 at once. The time runs from the",
            "connection to the first frame after which every book is synced; best of 3",
            "interleaved runs.",
            "",
            format_storm(storms),
            "",
        ]
    if pauses:
        text += [
            "## Garbage-collection pauses",
            "",
            f"One inline Stream (book kept, counting handler) over {args.gc_frames:,} frames",
            "of the blast server's stream (reconnecting to a 200,000-frame blast), every",
            "collection timed with `gc.callbacks` from the first connection on. *gc.freeze()*:",
            "`gc.collect(); gc.freeze()` once connected. Wall times include preemption by",
            "other processes during a collection (shared machine); CPU times are the",
            "collecting thread's own.",
            "",
            format_gc_pauses(pauses),
            "",
        ]
    if throughput:
        text += [
            "## Throughput in the same run",
            "",
            f"The blast (as fast as the socket takes it; {args.frames:,} frames, best of",
            f"{args.repeat}) measured right after the rows above, on the same machine state;",
            "see [e2e.md](e2e.md) for what each path is.",
            "",
            format_table(throughput),
            "",
            format_ratios(throughput),
            "",
        ]
    (args.out / "latency.md").write_text("\n".join(text))
    raw = {
        "latency": [r.as_dict() for r in results],
        "storm": [r.as_dict() for r in storms],
        "gc": [r.as_dict() for r in pauses],
        "throughput": [r.as_dict() for r in throughput],
    }
    (args.out / "latency.json").write_text(json.dumps(raw, indent=1) + "\n")
    try:
        if results:
            write_latency_chart(results, args.out / "latency.png")
    except ImportError:
        print("matplotlib is not installed: no chart (pip install 'maicoin-ws[bench]')")
    print(format_latency(results))


def _markdown(
    results: list[Result],
    memory: list[Result],
    args: argparse.Namespace,
    started: str,
    command: str,
) -> str:
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    parts = [
        "# End to end: blast server -> Stream, book kept",
        "",
        f"`{command}` ({started}; {machine}). The blast server (a separate process, picows,",
        "pre-encoded frames) sends the realistic mixed btcusdt stream: one depth-50 snapshot,",
        "then about 70% book updates, 24% trades, 6% tickers. Each row is a fresh client",
        f"process; {args.frames:,} frames plus the `subscribed` reply, best of {args.repeat}",
        "interleaved runs. msgs/s is wall time from the subscription to the last frame",
        "counted; CPU µs/msg is the client process's CPU time over the same span.",
        "",
        "Paths: *receive only* is the transport's own loop handing each payload to a",
        "counting function (websockets: `await recv(decode=False)`; picows: a listener's",
        "`on_ws_frame`), the ceiling; *+ decode* adds `make_decoder()`; *+ book* adds",
        "`BookKeeper.apply`; *Stream* rows are a full `Stream` with the book kept and a counting",
        "sync handler (queue mode: a consumer task awaiting `response_queue.get()` on a queue",
        f"of maxsize {QUEUE_SIZE:,}). *recv() loop* is inline mode reading with",
        "`await connection.recv()` per frame, as for a user's `connect_factory`; the other",
        "Stream rows take frames from the transport's own callback (on picows, the compiled",
        "listener, a C subclass of picows' `WSListener`; the rows above it use one written in",
        "Python, as a user would). Every row checks itself: frames counted == frames sent, book",
        "synced and equal to the server's, no resync.",
        "",
        format_table(results),
        "",
        "![throughput chart](e2e.png)",
        "",
        "## Ratios",
        "",
        format_ratios(results),
        "",
        "## CPU µs per message by stage",
        "",
        "Differences between rows of the table: transport = receive only; decode, book =",
        "what each step adds; stream + dispatch = the `recv()` Stream row minus the book row",
        "(stats, the per-frame path, the dispatcher); push saving = the inline Stream row",
        "minus the `recv()` row (the transport's callback instead of an `await` per frame).",
        "",
        format_stages(results),
        "",
        "Profiling notes and what remains: [e2e-profile.md](e2e-profile.md).",
        "",
    ]
    if memory:
        total, connections = memory[0].frames, max(len(memory[0].rss), 1)
        parts += [
            "## Memory",
            "",
            f"One Stream per mode over {total:,} frames: {connections} connections in a row,",
            f"each a {total // connections - 1:,}-frame blast the server closes, the stream",
            "reconnecting each time. RSS is sampled after every connection; *start* is after",
            "the first one, once buffers and the book exist.",
            "",
            format_memory(memory),
            "",
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
