"""The ``replay`` command: a recording through decode, book and dispatch, or served."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..response import Response
from .progress import ClientBoard
from .recording import RecordingError
from .replay import ServedClient, replay_recording, serve_recording
from .runner import CommandError, Interrupt, UsageError, run_command

__all__ = ["replay_command"]


def replay_command(args: argparse.Namespace) -> int:
    """``replay``: a recording through a Stream (summary), or served to clients (a line per
    client that connects or leaves; a bar per connected client on a terminal)."""
    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such recording")
    if args.serve:
        if args.print_responses:
            raise UsageError("--print and --serve do not go together")

        async def serve(interrupt: Interrupt) -> int:
            clients: dict[int, ServedClient] = {}
            with ClientBoard(sys.stdout, clients) as board:
                await serve_recording(
                    args.file,
                    host=args.host,
                    port=args.port,
                    speed=args.speed,
                    stop=interrupt.on_stop,
                    announce=board.say,
                    clients=clients,
                )
            return interrupt.exit_status(limited=False)

        return _recording_command(serve)

    summary_out = sys.stderr if args.print_responses else sys.stdout

    def print_response(response: Response) -> None:
        sys.stdout.write(response.model_dump_json(exclude_none=True) + "\n")

    async def replay(interrupt: Interrupt) -> int:
        summary = await replay_recording(
            args.file,
            on_response=print_response if args.print_responses else None,
            stop=interrupt.on_stop,
        )
        sys.stdout.flush()
        print("\n".join(summary.lines()), file=summary_out, flush=True)
        return interrupt.exit_status(limited=True)

    return _recording_command(replay)


def _recording_command(main: Callable[[Interrupt], Any]) -> int:
    try:
        return run_command(main)
    except RecordingError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CommandError(str(exc)) from None
