"""The demo's live view: one market's book, trades, ticker and kline, refreshed in place.

``LiveView`` is a stream handler that keeps the latest public data of one market and
renders it, reading the top of the book from the stream's local order book. The demo draws
``screen()`` in place on a terminal (with rich) and prints ``line()`` anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from ..book import BookResync, Level
from ..kline import KLine
from ..response import Response
from ..stats import StreamStats
from ..stream import Stream
from ..ticker import Ticker
from ..trade import Trade

__all__ = ["LineScreen", "LiveView", "format_stats", "price_decimals"]


class LiveView:
    """Keeps what the view shows of ``market``; call it with every response."""

    def __init__(self, market: str, stream: Stream, *, depth: int = 5) -> None:
        self.market = market
        self.depth = depth
        self._stream = stream
        self.ticker: Ticker | None = None
        self.kline: KLine | None = None
        self.trades: list[Trade] = []
        self.statuses: dict[str, str] = {}
        self.last_resync: BookResync | None = None

    def __call__(self, response: Response) -> None:
        if response.market not in (None, self.market):
            return
        channel = response.channel
        if channel == "ticker" and response.ticker is not None:
            self.ticker = response.ticker
        elif channel == "kline" and response.kline is not None:
            self.kline = response.kline
        elif channel == "trade" and response.trades:
            batch = list(response.trades)
            if response.event != "snapshot":
                batch.reverse()  # an update lists its trades oldest first, a snapshot newest first
            # Stable sort: trades of one millisecond keep the order just established.
            newest_first = sorted([*batch, *self.trades], key=lambda t: t.created_at, reverse=True)
            self.trades = newest_first[: self.depth]
        elif channel == "market_status" and response.market_status:
            for entry in response.market_status:
                self.statuses[entry.market] = str(entry.status)

    def on_resync(self, resync: BookResync) -> None:
        """``on_book_resync`` callback: remember the last resync to show it."""
        self.last_resync = resync

    # -- rendering -----------------------------------------------------------------------

    def screen(self, header: str) -> list[str]:
        """The full view, as lines."""
        lines = [header, "", *self._book_lines(), ""]
        lines.append(f"ticker   {_ticker(self.ticker)}")
        lines.append(f"kline    {_kline(self.kline)}")
        trades = [_trade(trade) for trade in self.trades] or ["-"]
        lines.append(f"trades   {trades[0]}")
        lines.extend(f"         {text}" for text in trades[1:])
        statuses = "  ".join(f"{market} {status}" for market, status in self.statuses.items())
        lines.append(f"markets  {statuses or '-'}")
        stats = self._stream.stats
        lines.append(
            f"stream   messages {stats.messages}  bytes {stats.bytes}  "
            f"decode errors {stats.decode_errors}  reconnects {stats.reconnects}"
        )
        return lines

    def line(self, elapsed: float) -> str:
        """The view as one line, for output that is not a terminal."""
        book = self._stream.books.get(self.market)
        parts = [f"[{elapsed:6.1f}s] {self.market}"]
        if book is None or not book.synced:
            parts.append("book not synced")
        else:
            parts.append(
                f"book synced li={book.last_update_id} "
                f"bid {_level(book.best_bid)} ask {_level(book.best_ask)} "
                f"spread {_number(book.spread, price_decimals(book.best_bid))}"
            )
        if self.trades:
            parts.append(f"trade {_trade(self.trades[0])}")
        if self.ticker is not None:
            parts.append(f"ticker close {self.ticker.close}")
        if self.kline is not None:
            parts.append(f"kline {self.kline.resolution} close {self.kline.close}")
        parts.append(f"messages {self._stream.stats.messages}")
        return " | ".join(parts)

    def _book_lines(self) -> list[str]:
        book = self._stream.books.get(self.market)
        if book is None or not book.synced:
            return [f"book {self.market}: waiting for a snapshot"]
        resync = self.last_resync
        last = f" (last: {resync.reason} at li {resync.last_update_id})" if resync else ""
        lines = [
            f"book {self.market}  synced  li {book.last_update_id}  v {book.version}  "
            f"resyncs {self._stream.stats.resyncs}{last}"
        ]
        lines.extend(_book_table(book.bids(self.depth), book.asks(self.depth)))
        decimals = price_decimals(book.best_bid)
        lines.append(
            f"spread {_number(book.spread, decimals)}  mid {_number(book.mid, decimals + 1)}"
        )
        return lines


def _book_table(bids: Sequence[Level], asks: Sequence[Level]) -> list[str]:
    rows = max(len(bids), len(asks))
    cells = [
        (
            bids[i].volume_text if i < len(bids) else "",
            bids[i].price_text if i < len(bids) else "",
            asks[i].price_text if i < len(asks) else "",
            asks[i].volume_text if i < len(asks) else "",
        )
        for i in range(rows)
    ]
    header = ("bid volume", "bid", "ask", "ask volume")
    widths = [max(len(row[col]) for row in [header, *cells]) for col in range(4)]
    return [
        f"  {bv:>{widths[0]}}  {bp:>{widths[1]}} | {ap:<{widths[2]}}  {av:<{widths[3]}}"
        for bv, bp, ap, av in [header, *cells]
    ]


def _level(level: Level | None) -> str:
    return "-" if level is None else f"{level.price_text} x {level.volume_text}"


def price_decimals(level: Level | None) -> int:
    """Decimals of a level's price as the exchange wrote it (``"60000.12"``: 2)."""
    return 0 if level is None else len(level.price_text.partition(".")[2])


def _number(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def _ticker(ticker: Ticker | None) -> str:
    if ticker is None:
        return "-"
    return (
        f"open {ticker.open}  high {ticker.high}  low {ticker.low}  close {ticker.close}  "
        f"volume {ticker.volume}"
    )


def _kline(kline: KLine | None) -> str:
    if kline is None:
        return "-"
    span = f"{kline.start_time:%H:%M:%S}-{kline.end_time:%H:%M:%S}"
    state = "closed" if kline.closed else "open"
    return (
        f"{kline.resolution} {span}  O {kline.open}  H {kline.high}  L {kline.low}  "
        f"C {kline.close}  volume {kline.volume}  ({state})"
    )


def _trade(trade: Trade) -> str:
    trend = f"  {trade.trend}" if trade.trend else ""
    return f"{trade.created_at:%H:%M:%S.%f}"[:-3] + f"  {trade.price} x {trade.volume}{trend}"


def format_stats(stats: StreamStats) -> list[str]:
    """``stream.stats`` as aligned ``name value`` lines."""
    values = stats.as_dict()
    received = values.get("last_receive_time")
    if received is not None:
        values["last_receive_time"] = datetime.fromtimestamp(received, UTC).isoformat()
    width = max(map(len, values))
    return [f"  {name:<{width}}  {value}" for name, value in values.items()]


class LineScreen:
    """Prints one line per refresh (pipes, files, CI logs)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def draw_line(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()
