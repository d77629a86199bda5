"""The ``stream`` and ``record`` commands: a Stream to MAX (or MAX_WS_URI) from the shell.

Both take ``--metrics-port`` (``metrics_option``); ``record`` reports its progress on
stderr (``progress.RecordStatus``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .._io.connect import checked_uri
from ..reconnect import ReconnectPolicy
from ..stream import MAX_WS_URI, Stream
from ..subscription import Subscription
from .metrics_option import stream_metrics
from .progress import RecordStatus, live_status
from .recording import RecordingWriter, frame_text, tapped_connect
from .runner import Interrupt, UsageError, drive_stream, run_command, silence_stdout
from .specs import SPEC_FORMS, is_private

__all__ = ["record_command", "stream_command", "stream_from_args"]


def stream_from_args(args: argparse.Namespace) -> Stream:
    """A Stream for ``stream``/``record``: subscriptions, credentials, URI, retries."""
    subscriptions: list[Subscription] = args.subscriptions
    key, secret = os.environ.get("MAX_API_KEY") or None, os.environ.get("MAX_API_SECRET") or None
    if (key is None) != (secret is None):
        missing = "MAX_API_SECRET" if secret is None else "MAX_API_KEY"
        raise UsageError(f"{missing} is missing or empty (both credentials are needed)")
    if key is None:
        if is_private(subscriptions):
            raise UsageError(
                "private channels (order, trade_update, balance_update) need MAX_API_KEY and "
                "MAX_API_SECRET in the environment"
            )
        if args.filters:
            raise UsageError("--filters needs MAX_API_KEY and MAX_API_SECRET in the environment")
        if not subscriptions:
            raise UsageError(
                f"nothing to subscribe to: name subscriptions ({', '.join(SPEC_FORMS)}) "
                "or set MAX_API_KEY and MAX_API_SECRET for private events"
            )
    uri = args.uri if args.uri is not None else (os.environ.get("MAX_WS_URI") or MAX_WS_URI)
    try:
        checked_uri(uri, source="--uri" if args.uri is not None else "MAX_WS_URI")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stream = Stream(
        key,
        secret,
        uri=uri,
        reconnect_policy=ReconnectPolicy(max_retries=args.retries),
        auth_filters=args.filters,
    )
    stream.subscribe(subscriptions)
    return stream


class _LineOutput:
    """Writes lines to stdout until ``limit`` lines, then stops the stream."""

    def __init__(self, stream: Stream, limit: int | None) -> None:
        self._stream = stream
        self._remaining = limit
        self.reader_gone = False

    def write(self, line: str) -> None:
        if self._remaining is not None:
            if self._remaining <= 0:
                return  # frames still in flight after the limit
            self._remaining -= 1
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # `| head`: the reader has all it wanted.
            self.reader_gone = True
            self._remaining = 0
            self._stream.stop()
            return
        if self._remaining == 0:
            self._stream.stop()


def stream_command(args: argparse.Namespace) -> int:
    """``stream``: one JSON line per response (or raw frame) on stdout."""
    stream = stream_from_args(args)
    output = _LineOutput(stream, args.count)
    if args.raw:
        stream.connect_factory = tapped_connect(
            stream.connect_factory, lambda frame: output.write(frame_text(frame))
        )
    else:
        stream.add_handler(
            lambda response: output.write(response.model_dump_json(exclude_none=True))
        )

    async def run(interrupt: Interrupt) -> int:
        await drive_stream(stream, interrupt, duration=args.duration)
        if output.reader_gone:
            silence_stdout()
        return interrupt.exit_status(limited=args.count is not None or args.duration is not None)

    with stream_metrics(stream, args):
        return run_command(run)


def record_command(args: argparse.Namespace) -> int:
    """``record``: every frame received, with its receive time, to FILE; progress on stderr."""
    stream = stream_from_args(args)
    try:
        file = args.file.open("wb")
    except OSError as exc:
        raise UsageError(f"cannot write {args.file}: {exc.strerror or exc}") from None
    limit: int | None = args.count
    with file:
        writer = RecordingWriter(file)
        status = RecordStatus(str(args.file), writer, stream)

        def on_frame(frame: str | bytes) -> None:
            if limit is not None and writer.frames >= limit:
                return
            writer.write(frame, time.time())
            if writer.frames == limit:
                stream.stop()

        stream.connect_factory = tapped_connect(stream.connect_factory, on_frame)

        async def run(interrupt: Interrupt) -> int:
            try:
                with live_status(status.line, sys.stderr, every=args.status_every):
                    try:
                        await drive_stream(stream, interrupt, duration=args.duration)
                    finally:
                        status.running = False
            finally:
                print(status.summary(), file=sys.stderr, flush=True)
            return interrupt.exit_status(limited=limit is not None or args.duration is not None)

        with stream_metrics(stream, args):
            return run_command(run)
