"""``--metrics-port``: Prometheus metrics of a command's stream, through ``maicoin.ws.metrics``.

A command that runs a ``Stream`` offers the option in two calls::

    add_metrics_arguments(parser)              # when building its parser
    with stream_metrics(stream, args):         # around the run
        return run_command(run)

``stream`` and ``record`` do; the series are those of ``maicoin.ws.metrics``, labelled
``stream="default"``, in prometheus-client's global registry (so the process metrics come
along).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, TextIO

from ..stream import Stream
from .runner import PROG, CommandError, UsageError

if TYPE_CHECKING:
    from ..metrics import MetricsServer

__all__ = ["DEFAULT_METRICS_ADDR", "add_metrics_arguments", "stream_metrics"]

DEFAULT_METRICS_ADDR: Final = "127.0.0.1"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number (0-65535), got {text!r}")
    return port


def add_metrics_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--metrics-port`` and ``--metrics-addr`` to a command's parser."""
    parser.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics of the stream on http://ADDR:PORT/metrics "
        "(0: any free port, printed on stderr; needs the metrics extra)",
    )
    parser.add_argument(
        "--metrics-addr",
        metavar="ADDR",
        help=f"--metrics-port: address to listen on (default {DEFAULT_METRICS_ADDR}; "
        "0.0.0.0 for every interface)",
    )


@contextlib.contextmanager
def stream_metrics(
    stream: Stream, args: argparse.Namespace, *, out: TextIO | None = None
) -> Iterator[MetricsServer | None]:
    """Serve ``stream``'s metrics during the block when ``args.metrics_port`` is set; the URL
    goes to ``out`` (stderr). A missing prometheus-client or a bad address is a
    ``UsageError``, a port that cannot be bound a ``CommandError``."""
    port: int | None = args.metrics_port
    addr: str | None = args.metrics_addr
    if port is None:
        if addr is not None:
            raise UsageError("--metrics-addr needs --metrics-port")
        yield None
        return
    from ..metrics import serve_metrics

    addr = DEFAULT_METRICS_ADDR if addr is None else addr
    try:
        server = serve_metrics(stream, port, addr=addr)
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise CommandError(f"cannot serve metrics on {addr}:{port}: {reason}") from None
    out = sys.stderr if out is None else out
    print(f"{PROG} {args.command}: Prometheus metrics on {server.url}", file=out, flush=True)
    try:
        yield server
    finally:
        server.close()
