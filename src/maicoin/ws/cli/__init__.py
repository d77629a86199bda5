"""The ``maicoin-ws`` command line (also ``python -m maicoin.ws``).

Subcommands: ``demo``, ``stream``, ``record``, ``replay``, ``simulate``, ``bench`` and
``relay``;
``maicoin-ws COMMAND --help`` describes each, and ``maicoin-ws --help`` the exit statuses.
From Python, ``main(["stream", "ticker:btcusdt", "--count", "5"])`` runs a command and
returns its exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._client.registry import BOOK_DEPTHS
from ..filter import Filter
from ..kline import RESOLUTIONS
from ..relay.outbox import DEFAULT_MAX_BUFFER
from ..stream import DEFAULT_URI
from ..subscription import Subscription
from .metrics_option import add_metrics_arguments
from .runner import (
    EXIT_FAILURE,
    EXIT_USAGE,
    PROG,
    CommandError,
    UsageError,
)
from .specs import SPEC_FORMS, SpecError, accepted_filters, parse_filters
from .specs import parse_subscription as _parse_subscription

__all__ = ["build_parser", "main"]

EXIT_STATUSES = """\
exit status:
  0    done: the limit was reached, the input ended, or a command without a limit was
       stopped with Ctrl-C or SIGTERM
  1    failed while running: cannot connect, authentication refused, connection lost
  2    usage error: bad arguments, unknown channel, bad depth or resolution, not a recording
  130  interrupted by Ctrl-C before its --count/--duration limit or the end of its input
       (143 for SIGTERM)
"""

SUBSCRIPTION_HELP = f"""\
subscriptions (CHANNEL[:ARG[:OPTION]]):
  {"  ".join(SPEC_FORMS[:3])}
  {"  ".join(SPEC_FORMS[3:6])}
  {"  ".join(SPEC_FORMS[6:])}  (private: need MAX_API_KEY and MAX_API_SECRET)
  DEPTH: {", ".join(map(str, BOOK_DEPTHS))} (default 50)
  RESOLUTION: {", ".join(RESOLUTIONS)} (default 1m)
  e.g. book:btcusdt:5 ticker:btcusdt trade:btcusdt kline:ethusdt:1m market_status

environment:
  MAX_WS_URI                    endpoint (default {DEFAULT_URI}); --uri overrides
  MAX_API_KEY, MAX_API_SECRET   authenticate: private events (orders, trades, balances)
"""


# -- argument types ---------------------------------------------------------------------------


def _subscription(text: str) -> Subscription:
    try:
        return _parse_subscription(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _filters(text: str) -> list[Filter]:
    try:
        return parse_filters(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(kind: Callable[[str], Any], *, minimum: float, inclusive: bool) -> Callable[[str], Any]:
    word = "non-negative" if inclusive else "positive"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {word} number, got {text!r}") from None
        if value < minimum or (value == minimum and not inclusive) or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a {word} number, got {text!r}")
        return value

    return parse


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


_positive_int = _number(int, minimum=0, inclusive=False)
_positive_float = _number(float, minimum=0.0, inclusive=False)
_non_negative_float = _number(float, minimum=0.0, inclusive=True)
_non_negative_int = _number(int, minimum=0, inclusive=True)


# -- the parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand (``set_defaults(run=...)`` names the handler)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv: debug) to stderr"
    )
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fast client for the MAX (MaiCoin) WebSocket API: demo, stream, record, "
        "replay, simulate, bench, relay.",
        epilog=EXIT_STATUSES,
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add_command(
        name: str, handler: str, *, help: str, description: str, epilog: str = EXIT_STATUSES
    ) -> argparse.ArgumentParser:
        command = commands.add_parser(
            name,
            parents=[common],
            formatter_class=formatter,
            help=help,
            description=description,
            epilog=epilog,
        )
        command.set_defaults(run=_lazy_handler(handler), command_parser=command)
        return command

    demo = add_command(
        "demo",
        "cli.demo:demo_command",
        help="live view of the guide's public example against the embedded simulator",
        description="Start the embedded MAX simulator and run the guide's public example "
        "against it (book depth 5, ticker, trade, kline, market_status), showing the top of "
        "the local order book, the last trades, ticker and kline as they change. Prints the "
        "stream's stats at the end.",
    )
    demo.add_argument("--duration", type=_positive_float, help="seconds to run (default: Ctrl-C)")
    demo.add_argument("--market", default="btcusdt", help="market to show (default btcusdt)")
    demo.add_argument(
        "--rate", type=_positive_float, default=20.0, help="market steps per second (default 20)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed of the simulated markets")
    demo.add_argument(
        "--gap-every",
        type=_positive_float,
        metavar="SECONDS",
        help="withhold a book update this often, to watch the book resync by itself",
    )

    stream = add_command(
        "stream",
        "cli.stream_command:stream_command",
        help="print responses from MAX (or MAX_WS_URI) as JSON lines",
        description="Connect to MAX_WS_URI and print one JSON line per response "
        "(model_dump_json(exclude_none=True)), or each raw frame with --raw.",
        epilog=SUBSCRIPTION_HELP + "\n" + EXIT_STATUSES,
    )
    _add_connection_arguments(stream)
    stream.add_argument("--raw", action="store_true", help="print raw frames instead")

    record = add_command(
        "record",
        "cli.stream_command:record_command",
        help="write raw frames with receive times to a file",
        description='Write every frame received to FILE as JSON lines {"t": <receive time, '
        'Unix seconds>, "frame": "<the frame\'s text>"}, for `replay`. Progress (frames, '
        "bytes, rate, elapsed) goes to stderr: a live line on a terminal, else a line every "
        "--status-every seconds.",
        epilog=SUBSCRIPTION_HELP + "\n" + EXIT_STATUSES,
    )
    record.add_argument("file", type=Path, metavar="FILE", help="recording to write")
    _add_connection_arguments(record, count_help="stop after N frames")
    record.add_argument(
        "--status-every",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="when stderr is not a terminal: a status line this often (default 60); "
        "a terminal gets a live status line",
    )

    replay = add_command(
        "replay",
        "cli.replay_command:replay_command",
        help="feed a recording through decode, book and dispatch, or serve it",
        description="Feed a recording through a Stream (decode, local order books, dispatch) "
        "and print a summary: frames, responses per event and channel, decode errors, "
        "resyncs, the final top of each book. With --serve, serve the recording over "
        "WebSocket instead: every client that connects gets it from the start, and a line "
        "says when each client connects and leaves, with the frames it was sent.",
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="recording made by `record`")
    replay.add_argument(
        "--print",
        dest="print_responses",
        action="store_true",
        help="print each response as a JSON line (the summary then goes to stderr)",
    )
    replay.add_argument("--serve", action="store_true", help="serve the recording to clients")
    replay.add_argument("--host", default="127.0.0.1", help="--serve: address (127.0.0.1)")
    replay.add_argument(
        "--port", type=_non_negative_int, default=8765, help="--serve: port (8765; 0: any)"
    )
    replay.add_argument(
        "--speed",
        type=_non_negative_float,
        default=1.0,
        help="--serve: times the recorded pace (default 1; 0: as fast as possible)",
    )

    simulate = add_command(
        "simulate",
        "testing:run_from_args",
        help="serve the embedded MAX simulator",
        description="Serve the embedded MAX simulator until Ctrl-C; point a bot at it with "
        "MAX_WS_URI=ws://127.0.0.1:8765/ws.",
    )
    from ..testing import add_arguments

    add_arguments(simulate)

    bench = add_command(
        "bench",
        "cli.bench:bench_command",
        help="run the end-to-end benchmark and print its table",
        description="Run the end-to-end throughput benchmark (the simulator blasting frames "
        "from one process, a client in another) for every transport x event loop x path, and "
        "print its Markdown table. The full default run takes several minutes; progress "
        "goes to stderr (a bar with the time left on a terminal, else a line per run). "
        "Exits 1 when a run was not correct (lost frames, book off).",
    )
    bench.add_argument(
        "--frames", type=_positive_int, default=200_000, help="frames per run (200000)"
    )
    bench.add_argument(
        "--repeat", type=_positive_int, default=3, help="runs per configuration; best kept (3)"
    )
    bench.add_argument(
        "--transports", type=_names, metavar="T1,T2", help="websockets,picows (installed ones)"
    )
    bench.add_argument("--loops", type=_names, metavar="L1,L2", help="asyncio,uvloop (both)")
    bench.add_argument(
        "--modes",
        type=_names,
        metavar="M1,M2",
        help="receive,decode,book,inline,task,queue (all)",
    )
    bench.add_argument("--chart", type=Path, metavar="PNG", help="also write a chart here")

    relay = add_command(
        "relay",
        "cli.relay_command:relay_command",
        help="take the feed once, serve it to many local bots over WebSocket",
        description="Hold one connection to MAX_WS_URI (or --uri) and serve the MAX protocol "
        "on --host:--port, so that bots pointed at MAX_WS_URI=ws://HOST:PORT/ws share it: "
        "each sub is answered at once from the relay's own books, topics are subscribed "
        "upstream when first asked for and dropped when nobody needs them. SUBSCRIPTIONs "
        "are held from the start and always. A consumer that falls --max-buffer bytes "
        "behind is disconnected (close code 1008). With --redis, every frame also goes to "
        'Redis Streams, read back by Stream(uri="redis://...") on any machine (public '
        "channels only). With --private (MAX_API_KEY and MAX_API_SECRET in the "
        "environment) the relay authenticates and serves the account to consumers that "
        "authenticate with the same key and secret: anyone who reaches the port and knows "
        "them gets it, so keep --host on loopback.",
        epilog=SUBSCRIPTION_HELP + "\n" + EXIT_STATUSES,
    )
    relay.add_argument(
        "subscriptions",
        nargs="*",
        type=_subscription,
        metavar="SUBSCRIPTION",
        help="held from the start, e.g. book:btcusdt:5 (listed below)",
    )
    relay.add_argument("--uri", help="upstream (default: MAX_WS_URI, else the exchange)")
    relay.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    relay.add_argument(
        "--port", type=_non_negative_int, default=8765, help="port to serve on (8765; 0: any)"
    )
    relay.add_argument(
        "--max-buffer",
        type=_positive_int,
        default=DEFAULT_MAX_BUFFER,
        metavar="BYTES",
        help=f"bytes queued for one consumer before it is cut off ({DEFAULT_MAX_BUFFER})",
    )
    relay.add_argument(
        "--redis",
        metavar="URL",
        help="also publish every frame to Redis Streams at URL (redis://HOST:PORT/DB, "
        "rediss:// for TLS, redis://:PASSWORD@HOST...), for Stream(uri=URL) anywhere",
    )
    relay.add_argument(
        "--redis-prefix",
        default="maicoin-ws",
        metavar="NAME",
        help="hash tag and prefix of the Redis keys: {NAME}:book:btcusdt (maicoin-ws)",
    )
    relay.add_argument(
        "--redis-maxlen",
        type=_positive_int,
        default=10_000,
        metavar="N",
        help="entries kept per Redis stream, about (MAXLEN ~; 10000)",
    )
    relay.add_argument(
        "--private",
        action="store_true",
        help="authenticate upstream with MAX_API_KEY/MAX_API_SECRET and relay private "
        "events to consumers that authenticate with the same key and secret",
    )
    relay.add_argument("--duration", type=_positive_float, metavar="SECONDS", help="stop after")
    relay.add_argument(
        "--retries",
        type=_non_negative_int,
        metavar="N",
        help="give up after N failed upstream reconnects in a row (default: never)",
    )
    add_metrics_arguments(relay)
    return parser


def _add_connection_arguments(
    parser: argparse.ArgumentParser, *, count_help: str = "stop after N responses"
) -> None:
    parser.add_argument(
        "subscriptions",
        nargs="*",
        type=_subscription,
        metavar="SUBSCRIPTION",
        help="what to subscribe to, e.g. book:btcusdt:5 (listed below)",
    )
    parser.add_argument("--uri", help="endpoint (default: MAX_WS_URI, else the exchange)")
    parser.add_argument(
        "--filters",
        type=_filters,
        metavar="F1,F2",
        help=f"private event families when authenticated (default order,trade,account): "
        f"{accepted_filters()}",
    )
    parser.add_argument("--count", type=_positive_int, metavar="N", help=count_help)
    parser.add_argument("--duration", type=_positive_float, metavar="SECONDS", help="stop after")
    parser.add_argument(
        "--retries",
        type=_non_negative_int,
        metavar="N",
        help="give up after N failed reconnects in a row (default: never); "
        "a first connection that fails is never retried",
    )
    add_metrics_arguments(parser)


# -- commands ---------------------------------------------------------------------------------


def _lazy_handler(target: str) -> Callable[[argparse.Namespace], int]:
    """The command ``MODULE:FUNCTION`` (relative to ``maicoin.ws``), imported when it runs."""
    module, name = target.split(":")

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int]
        command = getattr(importlib.import_module(f"..{module}", __package__), name)
        return command(args)

    return run


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    parser = build_parser()
    # Subscriptions may follow options (``record FILE --uri X book:btcusdt``), which plain
    # argparse refuses after a first positional argument.
    args, extra = parser.parse_known_args(argv)
    command: argparse.ArgumentParser = args.command_parser
    if extra:
        if not hasattr(args, "subscriptions") or any(text.startswith("-") for text in extra):
            command.error(f"unrecognized arguments: {' '.join(extra)}")
        for text in extra:
            try:
                args.subscriptions.append(_parse_subscription(text))
            except SpecError as exc:
                command.error(f"argument SUBSCRIPTION: {exc}")
    # The demo shows resyncs and reconnects in its view; warnings would break the redraw.
    quiet = logging.ERROR if args.command == "demo" else logging.WARNING
    level = (quiet, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format=f"{PROG}: %(levelname)s %(name)s: %(message)s")
    try:
        status: int = args.run(args)
    except UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        print(f"(see {PROG} {args.command} --help)", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return status
