"""Progress of the long commands: drawn in place on a terminal, plain lines otherwise.

On a terminal (rich's own test: a TTY that is not ``TERM=dumb``, or ``FORCE_COLOR`` set)
``record`` keeps a status line up to date, ``bench`` a progress bar and ``replay --serve`` a
bar per connected client, all drawn by rich, with log records and announcements printed
above them (``demo`` draws its screen the same way). Anywhere else (a
pipe, a file, a CI log) the same facts come as plain lines at known moments and without
control codes: ``record`` every ``--status-every`` seconds, ``bench`` one per run,
``replay --serve`` one per client event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Protocol, TextIO

from ..stream import Stream
from .recording import RecordingWriter

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.progress import Progress, TaskID

__all__ = [
    "BenchProgress",
    "Client",
    "ClientBoard",
    "RateMeter",
    "RecordStatus",
    "format_duration",
    "format_size",
    "is_terminal",
    "live_status",
    "logs_through",
    "make_console",
]

_REFRESH_PER_SECOND: Final = 4.0


def make_console(out: TextIO) -> Console:
    """A rich console on ``out``; ``.is_interactive`` says whether to draw in place."""
    from rich.console import Console

    return Console(file=out, highlight=False, markup=False, emoji=False)


def format_size(count: int) -> str:
    """``count`` bytes in decimal units: ``"950 B"``, ``"12.3 kB"``, ``"4.6 MB"``."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 999.95:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"


def format_duration(seconds: float) -> str:
    """Whole seconds as ``H:MM:SS`` (``"0:01:05"``, ``"26:00:00"``)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class RateMeter:
    """Events per second over the last ``window`` seconds, from a running count."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, now: float, count: int) -> float:
        """Record ``count`` at ``now`` (seconds, any clock) and return the recent rate."""
        samples = self._samples
        samples.append((now, count))
        # Keep the newest sample at or before the window's start as the reference.
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        then, before = samples[0]
        return (count - before) / (now - then) if now > then else 0.0


# -- logs above a live display ----------------------------------------------------------------


@contextlib.contextmanager
def logs_through(console: Console, out: TextIO) -> Iterator[None]:
    """Route the root logger's handlers that write to ``out``, or to a terminal (stderr
    beside a display on stdout), through ``console``, above its live display, until the
    block ends."""
    from rich.file_proxy import FileProxy

    proxy = FileProxy(console, out)
    swapped = [
        (handler, handler.stream)
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and (handler.stream is out or is_terminal(handler.stream))
    ]
    for handler, _ in swapped:
        handler.setStream(proxy)
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)
        proxy.flush()


def is_terminal(stream: object) -> bool:
    """True when ``stream`` is a file open on a terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # closed
        return False


# -- record -----------------------------------------------------------------------------------


class RecordStatus:
    """What ``record`` says about itself: frames and bytes written, recent rate, elapsed time
    and, while not connected, that it is (re)connecting."""

    def __init__(
        self,
        path: str,
        writer: RecordingWriter,
        stream: Stream,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.running = True
        self._writer = writer
        self._stream = stream
        self._clock = clock
        self._started = clock()
        self._meter = RateMeter()
        self._meter.rate(self._started, 0)

    def elapsed(self) -> float:
        """Seconds since the recording started."""
        return self._clock() - self._started

    def line(self) -> str:
        """The current status as one line."""
        now = self._clock()
        frames = self._writer.frames
        parts = [
            f"{frames} frames",
            format_size(self._writer.bytes),
            f"{self._meter.rate(now, frames):.1f} frames/s",
            f"{format_duration(now - self._started)} elapsed",
        ]
        stats = self._stream.stats
        if self.running and not self._stream.connected:
            parts.append("connecting" if stats.connections == 0 else "reconnecting")
        if stats.reconnects:
            parts.append(f"{stats.reconnects} reconnects")
        return f"recording {self.path}: " + ", ".join(parts)

    def summary(self) -> str:
        """The closing line."""
        writer = self._writer
        return (
            f"recorded {writer.frames} frames to {self.path} "
            f"({format_size(writer.bytes)} in {format_duration(self.elapsed())})"
        )


@contextlib.contextmanager
def live_status(render: Callable[[], str], out: TextIO, *, every: float) -> Iterator[None]:
    """Show ``render()`` on ``out`` during the block: on a terminal a line redrawn in place
    (removed at the end), else a plain line every ``every`` seconds of the running loop."""
    console = make_console(out)
    if console.is_interactive:
        from rich.live import Live
        from rich.text import Text

        def renderable() -> RenderableType:
            return Text(render(), no_wrap=True, overflow="ellipsis")

        live = Live(
            console=console,
            get_renderable=renderable,
            refresh_per_second=_REFRESH_PER_SECOND,
            transient=True,
        )
        with live, logs_through(console, out):
            yield
        return
    loop = asyncio.get_running_loop()
    # Timers at fixed offsets from the start, scheduled before the block's own timers (a
    # --duration), so the lines due before the end are always written.
    started = loop.time()
    ticks = 0
    timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal timer, ticks
        out.write(render() + "\n")
        out.flush()
        # The next period's line; periods a busy loop missed are skipped, and a timer that
        # fires a little early (uvloop rounds to milliseconds) does not fire again at once.
        ticks = max(ticks + 1, math.floor((loop.time() - started) / every))
        timer = loop.call_at(started + (ticks + 1) * every, tick)

    timer = loop.call_at(started + every, tick)
    try:
        yield
    finally:
        assert timer is not None
        timer.cancel()


# -- bench ------------------------------------------------------------------------------------


class BenchProgress:
    """The ``progress`` callback of ``run_benchmark`` for ``total`` runs.

    On a terminal: a bar with the runs done and the time left, each run's line printed above
    it. Elsewhere: each run's line followed by ``(k/total runs, about H:MM:SS left)``, the
    estimate being the mean time of a run so far times the runs left.
    """

    def __init__(
        self, total: int, out: TextIO, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.done = 0
        self._out = out
        self._clock = clock
        self._started = clock()
        self._console = make_console(out)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> BenchProgress:
        self._started = self._clock()
        if self._console.is_interactive:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("bench"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs"),
                TimeElapsedColumn(),
                TextColumn("elapsed, {task.fields[left]}"),
                console=self._console,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "bench", total=self.total, left="estimating time left"
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, text: str) -> None:
        self.done += 1
        progress = self._progress
        if progress is not None and self._task is not None:
            progress.console.print(text)
            progress.update(self._task, advance=1, left=self.time_left())
            return
        self._out.write(f"{text}  ({self.done}/{self.total} runs, {self.time_left()})\n")
        self._out.flush()

    def time_left(self) -> str:
        """``about H:MM:SS left`` from the runs so far, or ``done``."""
        left = self.total - self.done
        if left <= 0:
            return "done"
        per_run = (self._clock() - self._started) / max(self.done, 1)
        return f"about {format_duration(per_run * left)} left"


# -- replay --serve ---------------------------------------------------------------------------


class Client(Protocol):
    """What the board reads of a connected client (``replay.ServedClient``)."""

    @property
    def number(self) -> int: ...
    @property
    def peer(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def connected_at(self) -> float: ...
    @property
    def sent(self) -> int: ...


class ClientBoard:
    """What ``replay --serve`` shows: a line per client event (``say``) and, on a terminal,
    a live bar per connected client of ``clients`` (the mapping the server keeps)."""

    def __init__(self, out: TextIO, clients: Mapping[int, Client]) -> None:
        self._out = out
        self._clients = clients
        self._console = make_console(out)
        self._live: contextlib.ExitStack | None = None
        self._print: Callable[[str], None] | None = None

    def __enter__(self) -> ClientBoard:
        if self._console.is_interactive:
            from rich.live import Live

            live = Live(
                console=self._console,
                get_renderable=self._render,
                refresh_per_second=_REFRESH_PER_SECOND,
                transient=True,
            )
            stack = contextlib.ExitStack()
            stack.enter_context(live)
            stack.enter_context(logs_through(self._console, self._out))
            self._live = stack
            self._print = live.console.print
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.close()
            self._live = None
            self._print = None

    def say(self, text: str) -> None:
        """Print one line (above the bars on a terminal)."""
        if self._print is not None:
            self._print(text)
            return
        self._out.write(text + "\n")
        self._out.flush()

    def _render(self) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        clients = list(self._clients.values())  # one step: the loop thread may change it
        if not clients:
            return Text("waiting for clients (Ctrl-C to stop)")
        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for client in clients:
            table.add_row(
                f"client {client.number}",
                client.peer,
                ProgressBar(total=max(client.total, 1), completed=client.sent, width=30),
                f"{client.sent}/{client.total} frames",
                format_duration(now - client.connected_at),
            )
        return table
