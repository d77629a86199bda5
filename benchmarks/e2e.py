"""End-to-end benchmark: ``python benchmarks/e2e.py [--frames N] [--repeat R] [--memory]``.

Writes benchmarks/results/e2e.md (tables), e2e.json (raw results) and e2e.png (chart; needs
matplotlib). The measuring lives in ``maicoin.ws.benchmark``; this script only chooses and
writes. ``--memory`` adds the RSS of one Stream per mode over ``--memory-frames`` frames.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from maicoin.ws.benchmark import (
    LOOPS,
    MODES,
    QUEUE_SIZE,
    TRANSPORTS,
    Result,
    format_memory,
    format_ratios,
    format_stages,
    format_table,
    run_benchmark,
    run_memory,
    write_chart,
)

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
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)

    started = time.strftime("%Y-%m-%d %H:%M")
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
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/e2e.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / "e2e.md").write_text(_markdown(results, memory, args, started, command.strip()))
    raw = {"results": [r.as_dict() for r in results], "memory": [r.as_dict() for r in memory]}
    (args.out / "e2e.json").write_text(json.dumps(raw, indent=1) + "\n")
    try:
        write_chart(results, args.out / "e2e.png")
    except ImportError:
        print("matplotlib is not installed: no chart (pip install 'maicoin-ws[bench]')")
    print(format_table(results))
    failed = [r for r in (*results, *memory) if not r.ok]
    return 1 if failed else 0


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
        "Stream rows take frames from the transport's own callback. Every row checks itself:",
        "frames counted == frames sent, book synced and equal to the server's, no resync.",
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
