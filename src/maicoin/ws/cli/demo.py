"""``python -m maicoin.ws demo``: the guide's public example against the embedded simulator."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING, TextIO

from ..channel import Channel
from ..stream import Stream
from ..subscription import Subscription
from ..testing import MaxSimulator
from .liveview import LineScreen, LiveView, format_stats
from .progress import logs_through, make_console
from .runner import Interrupt, UsageError, drive_stream, run_command

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["demo_command", "guide_subscriptions", "run_demo"]

_OTHER_MARKETS = ("btcusdt", "ethusdt")


def guide_subscriptions(market: str) -> list[Subscription]:
    """The seed guide's "Public channels" example, for ``market``."""
    return [
        Subscription(channel=Channel.BOOK, market=market, depth=5),
        Subscription(channel=Channel.TICKER, market=market),
        Subscription(channel=Channel.TRADE, market=market),
        Subscription(channel=Channel.KLINE, market=market),
        Subscription(channel=Channel.MARKET_STATUS),
    ]


async def run_demo(
    interrupt: Interrupt,
    *,
    market: str = "btcusdt",
    duration: float | None = None,
    rate: float = 20.0,
    seed: int = 0,
    gap_every: float | None = None,
    out: TextIO | None = None,
) -> int:
    """Serve a simulator in-process, stream the guide's subscriptions from it with a live
    view until ``duration`` seconds passed or Ctrl-C, then print the stream's stats.

    ``gap_every``: withhold one book update every so many seconds, to show the book
    noticing the gap and resynchronising by itself.
    """
    out = sys.stdout if out is None else out
    markets = dict.fromkeys((market, *_OTHER_MARKETS))
    try:
        simulator = MaxSimulator(markets=markets, seed=seed, update_interval=1.0 / rate)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    async with simulator:
        stream = Stream(uri=simulator.uri)
        view = LiveView(market, stream)
        stream.on_book_resync = view.on_resync
        stream.subscribe(guide_subscriptions(market))
        stream.add_handler(view)
        tasks = [asyncio.create_task(_refresh(view, simulator.uri, duration, out))]
        if gap_every is not None:
            tasks.append(asyncio.create_task(_inject_gaps(simulator, market, gap_every)))
        try:
            await drive_stream(stream, interrupt, duration=duration)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    out.write("\nstream stats\n" + "\n".join(format_stats(stream.stats)) + "\n")
    out.flush()
    return interrupt.exit_status(limited=duration is not None)


async def _refresh(view: LiveView, uri: str, duration: float | None, out: TextIO) -> None:
    out.write(f"maicoin.ws demo: {view.market} from the embedded MAX simulator at {uri}\n")
    console = make_console(out)
    if console.is_interactive:
        await _redraw(view, duration, console, out)
    else:
        await _print_lines(view, out)


async def _print_lines(view: LiveView, out: TextIO) -> None:
    """A line a second, and one at the end."""
    started = time.monotonic()
    lines = LineScreen(out)
    try:
        while True:
            lines.draw_line(view.line(time.monotonic() - started))
            await asyncio.sleep(1.0)
    finally:
        lines.draw_line(view.line(time.monotonic() - started))


async def _redraw(view: LiveView, duration: float | None, console: Console, out: TextIO) -> None:
    """The whole screen, redrawn in place ten times a second; the last one stays."""
    from rich.live import Live
    from rich.text import Text

    started = time.monotonic()
    limit = f" of {duration:g} s" if duration is not None else ""

    def screen(state: str) -> Text:
        header = f"{time.monotonic() - started:5.1f} s{limit}  ({state})"
        # Cropped, not wrapped: the screen keeps its shape on a narrow terminal.
        return Text("\n".join(view.screen(header)), no_wrap=True, overflow="crop")

    # Redrawn from this loop (no refresh thread): the view is read where it is written.
    live = Live(screen("Ctrl-C to stop"), console=console, auto_refresh=False)
    with live, logs_through(console, out):
        try:
            while True:
                await asyncio.sleep(0.1)
                live.update(screen("Ctrl-C to stop"), refresh=True)
        finally:
            live.update(screen("stopped"), refresh=True)


async def _inject_gaps(simulator: MaxSimulator, market: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        simulator.inject_gap(market)


def demo_command(args: argparse.Namespace) -> int:
    """``demo``: the live view against the embedded simulator."""
    return run_command(
        lambda interrupt: run_demo(
            interrupt,
            market=args.market.lower(),
            duration=args.duration,
            rate=args.rate,
            seed=args.seed,
            gap_every=args.gap_every,
        )
    )
