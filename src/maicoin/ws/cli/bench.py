"""The ``bench`` command: the end-to-end benchmark of ``maicoin.ws.benchmark``, as a table."""

from __future__ import annotations

import argparse
import importlib.util
import sys

from .progress import BenchProgress
from .runner import EXIT_FAILURE, EXIT_OK, UsageError

__all__ = ["bench_command"]


def bench_command(args: argparse.Namespace) -> int:
    """Run ``benchmark.run_benchmark`` and print its Markdown table; progress on stderr (a bar
    on a terminal, else a line per run with the runs done and the time left)."""
    from ..benchmark import (
        LOOPS,
        MODES,
        TRANSPORTS,
        format_ratios,
        format_table,
        run_benchmark,
        write_chart,
    )

    if args.chart is not None and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--chart needs matplotlib: python -m pip install 'maicoin-ws[bench]'")
    transports = args.transports
    if transports is None:
        # The optional fast transport is measured only when it is installed.
        transports = [t for t in TRANSPORTS if importlib.util.find_spec(t) is not None]

    loops = args.loops or LOOPS
    modes = args.modes or MODES
    runs = len(transports) * len(loops) * len(modes) * args.repeat
    try:
        with BenchProgress(runs, sys.stderr) as progress:
            results = run_benchmark(
                args.frames,
                transports=transports,
                loops=loops,
                modes=modes,
                repeat=args.repeat,
                progress=progress,
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        return 130
    print(format_table(results))
    print()
    print(format_ratios(results))
    if args.chart is not None:
        print(f"chart written to {write_chart(results, args.chart)}", file=sys.stderr)
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILURE
