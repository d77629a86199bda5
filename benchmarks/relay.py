"""Fan-out benchmark: ``python benchmarks/relay.py [--seconds S] [--redis redis://HOST:PORT/DB]``.

Writes benchmarks/results/relay.md: the relay's added latency per frame (p50/p99) with 1, 10
and 50 consumers, the upstream connections during a restart storm of every consumer, and
with ``--redis`` the Redis path's lag and throughput. The measuring lives in
``maicoin.ws.benchmark.fanout``; this script only chooses and writes.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from maicoin.ws.benchmark.fanout import format_fanout, run_fanout

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per latency run")
    parser.add_argument("--rate", type=float, default=100.0, help="simulator steps a second")
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--redis", metavar="URL", help="also measure the Redis path there")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M")
    report = run_fanout(
        consumer_counts=args.consumers,
        seconds=args.seconds,
        rate=args.rate,
        redis_url=args.redis,
        progress=print,
    )
    header = (
        f"# Fan-out: the relay and the Redis path\n\n{started}, Python "
        f"{platform.python_version()} on {platform.machine()} (a shared 2-core VM: absolute "
        "numbers are noisy). Reproduce: `python benchmarks/relay.py --redis "
        "redis://127.0.0.1:6379/0`.\n\n"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "relay.md").write_text(header + format_fanout(report))
    print(format_fanout(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
