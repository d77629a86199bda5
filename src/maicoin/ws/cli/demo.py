"""``python -m maicoin.ws demo``: the guide's public example against the embedded simulator."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TextIO

from ..channel import Channel
from ..stream import Stream
from ..subscription import Subscription
from ..testing import MaxSimulator
from .liveview import LineScreen, LiveView, TerminalScreen, format_stats
from .runner import Interrupt, UsageError, drive_stream, run_command

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
    started = time.monotonic()
    limit = f" of {duration:g} s" if duration is not None else ""
    terminal = out.isatty()
    screen = TerminalScreen(out) if terminal else None
    lines = LineScreen(out)
    out.write(f"maicoin.ws demo: {view.market} from the embedded MAX simulator at {uri}\n")
    try:
        while True:
            elapsed = time.monotonic() - started
            if screen is not None:
                screen.draw(view.screen(f"{elapsed:5.1f} s{limit}  (Ctrl-C to stop)"))
                await asyncio.sleep(0.1)
            else:
                lines.draw_line(view.line(elapsed))
                await asyncio.sleep(1.0)
    finally:
        if screen is not None:
            elapsed = time.monotonic() - started
            screen.draw(view.screen(f"{elapsed:5.1f} s{limit}  (stopped)"))
            screen.close()
        else:
            lines.draw_line(view.line(time.monotonic() - started))


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
