"""Serve the simulator from the command line: ``python -m maicoin.ws.testing --port 8765``.

``add_arguments``/``run_from_args`` let another command line (``python -m maicoin.ws
simulate``) offer the same options.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Sequence

from .server import MaxSimulator

DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the simulator's options to ``parser`` (a top-level parser or a subcommand)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--markets",
        nargs="+",
        default=["btcusdt", "ethusdt"],
        help="markets to simulate, space- or comma-separated",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the markets")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="market steps per second (default 20)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        metavar="KEY:SECRET",
        help="an accepted API key and its secret (repeatable; default key:secret)",
    )
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run a simulator configured by ``add_arguments`` options until interrupted."""
    markets = [name for item in args.markets for name in item.split(",") if name]
    api_keys: dict[str, str] = {}
    for pair in args.api_key or ["key:secret"]:
        key, sep, secret = pair.partition(":")
        if not sep or not key or not secret:
            print(f"--api-key must look like KEY:SECRET, got {key!r}:...", file=sys.stderr)
            return 2
        api_keys[key] = secret
    if not args.rate > 0:
        print(f"--rate must be positive, got {args.rate}", file=sys.stderr)
        return 2
    return run_simulator(
        host=args.host,
        port=args.port,
        markets=markets,
        seed=args.seed,
        rate=args.rate,
        api_keys=api_keys,
    )


def run_simulator(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    markets: Sequence[str] = ("btcusdt", "ethusdt"),
    seed: int = 0,
    rate: float = 20.0,
    api_keys: dict[str, str] | None = None,
    on_ready: Callable[[MaxSimulator], None] | None = None,
) -> int:
    """Serve a simulator until Ctrl-C / SIGTERM, printing its URI; return an exit status.

    ``rate`` is market steps per second. ``on_ready`` is called once it listens.
    """
    try:
        simulator = MaxSimulator(
            markets=markets,
            seed=seed,
            api_keys=api_keys,
            host=host,
            port=port,
            update_interval=1.0 / rate,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        await simulator.start()
        keys = ", ".join(sorted(simulator.api_keys))
        print(
            f"MAX simulator listening on {simulator.uri} "
            f"(markets: {' '.join(simulator.markets)}; API keys: {keys})",
            flush=True,
        )
        if on_ready is not None:
            on_ready(simulator)
        await simulator.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(serve())
        except OSError as exc:
            print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m maicoin.ws.testing``."""
    parser = argparse.ArgumentParser(
        prog="python -m maicoin.ws.testing", description="Serve the embedded MAX simulator."
    )
    return run_from_args(add_arguments(parser).parse_args(argv))
