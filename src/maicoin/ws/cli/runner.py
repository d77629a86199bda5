"""How every command runs: its event loop, Ctrl-C and SIGTERM, and its exit status.

The statuses (0 done, 1 failed while running, 2 usage error, 128 + signal number when
interrupted before the command's own limit) are described for users in
``cli.EXIT_STATUSES``, which ``--help`` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final

from websockets.exceptions import WebSocketException

from .._event_loop import loop_factory
from .._io.connect import redacted_uri, retry_after
from ..errors import AuthenticationError, HandshakeError, SubscriptionError
from ..stream import Stream

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CommandError",
    "Interrupt",
    "UsageError",
    "drive_stream",
    "run_command",
    "silence_stdout",
]

PROG: Final = "maicoin-ws"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class UsageError(Exception):
    """The command line is wrong: reported with the usage line, exit status 2."""


class CommandError(Exception):
    """The command failed while running: reported on stderr, exit status 1."""


class Interrupt:
    """Ctrl-C / SIGTERM as a graceful stop request: the first signal runs the callbacks.

    A second signal is not caught, so a stop that hangs can still be cut short.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._callbacks: list[Callable[[], object]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when the first signal arrives."""
        self._callbacks.append(callback)

    def exit_status(self, *, limited: bool) -> int:
        """0 unless a signal cut short a command that had a limit of its own."""
        return 128 + self.signum if self.signum is not None and limited else EXIT_OK

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for signum in _STOP_SIGNALS:
            # Not available on Windows event loops: Ctrl-C then ends with KeyboardInterrupt.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._fire, signum)

    def uninstall(self) -> None:
        if self._loop is not None:
            for signum in _STOP_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    self._loop.remove_signal_handler(signum)
            self._loop = None

    def _fire(self, signum: int) -> None:
        self.uninstall()
        if self.signum is not None:
            return
        self.signum = signum
        for callback in self._callbacks:
            callback()


def run_command(main: Callable[[Interrupt], Awaitable[int]]) -> int:
    """Run ``main(interrupt)`` on uvloop (unless ``MAICOIN_WS_NO_UVLOOP``); its exit status.

    ``UsageError`` and ``CommandError`` propagate to the caller. A reader that went away
    (``| head``) ends the command quietly with 0.
    """
    interrupt = Interrupt()

    async def supervised() -> int:
        interrupt.install(asyncio.get_running_loop())
        try:
            return await main(interrupt)
        finally:
            interrupt.uninstall()

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(supervised())
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except BrokenPipeError:
        silence_stdout()
        return EXIT_OK


def silence_stdout() -> None:
    """Point stdout at the null device once its reader has gone, so that Python's final
    flush does not complain about the broken pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def drive_stream(stream: Stream, interrupt: Interrupt, *, duration: float | None) -> None:
    """Run ``stream`` until it is stopped: by a signal, after ``duration`` seconds, or by a
    handler calling ``stream.stop()``. A first connection that fails, refused credentials or
    a connection lost for good raise ``CommandError``.
    """
    failure: list[BaseException] = []
    user_reconnecting = stream.on_reconnecting

    def on_reconnecting(error: BaseException | None) -> object:
        if stream.stats.connections == 0 and error is not None:
            failure.append(error)  # never connected: report instead of retrying forever
            stream.stop()
            return None
        return user_reconnecting(error) if user_reconnecting is not None else None

    stream.on_reconnecting = on_reconnecting
    user_refused = stream.on_subscription_error

    def on_subscription_error(error: SubscriptionError) -> object:
        # Nothing left to wait for once every subscription asked for was refused.
        if not stream.subscriptions and not stream.requests:
            refused.append(error)
            stream.stop()
        else:
            print(f"maicoin-ws: {error}", file=sys.stderr)
        return user_refused(error) if user_refused is not None else None

    refused: list[SubscriptionError] = []
    stream.on_subscription_error = on_subscription_error
    interrupt.on_stop(stream.stop)
    timer = None
    if duration is not None:
        timer = asyncio.get_running_loop().call_later(duration, stream.stop)
    try:
        await stream.arun()
    except (AuthenticationError, HandshakeError) as exc:
        raise CommandError(str(exc)) from None
    except (OSError, WebSocketException) as exc:
        where = redacted_uri(stream.uri)
        raise CommandError(f"connection to {where} lost: {_describe(exc)}") from None
    finally:
        if timer is not None:
            timer.cancel()
    if refused:
        raise CommandError(str(refused[-1]))
    if failure:
        raise CommandError(f"cannot connect to {redacted_uri(stream.uri)}: {_describe(failure[0])}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    banned_until = retry_after(exc)
    if banned_until is not None:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(banned_until))
        text += f" (rate limited: MAX asks not to reconnect before {when})"
    return text
