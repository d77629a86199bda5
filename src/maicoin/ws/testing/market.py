"""One simulated market: a seeded random walk driving its true book, trades, ticker and candles."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from .book import ASK, BID, TrueBook
from .catalog import KLINE_RESOLUTIONS, MarketSpec, format_units, to_units

RECENT_TRADES = 50
"""How many public trades a ``trade`` snapshot carries at most (newest first)."""

_LEVELS_MIN = 60
_LEVELS_MAX = 90
_TRADE_PROBABILITY = 0.35
_SPREAD_SCALE = 20.0  # mean distance of a new level from the fair price, in ticks


@dataclass(slots=True)
class Candle:
    """The running candle of one resolution, prices and volume in integer units."""

    start_ms: int
    length_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    last_trade_id: int


class Market:
    """A market whose book, trades, ticker and candles evolve one ``step`` at a time.

    The evolution depends only on the seed and the number of steps, never on timing.
    """

    def __init__(
        self, spec: MarketSpec, *, seed: int, now_ms: int, history: int, first_update_id: int = 1000
    ) -> None:
        self.spec = spec
        self.status = "active"
        self.book = TrueBook(first_update_id=first_update_id, history=history)
        self._rng = random.Random(f"{seed}:{spec.name}")
        self._pd = spec.price_decimals
        self._vd = spec.volume_decimals
        self._tick = spec.tick
        self._fair = to_units(spec.start_price, self._pd)
        self._mean_volume = max(1, to_units(spec.mean_volume, self._vd))
        self._trade_id = 0
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_TRADES)
        self._open = self._high = self._low = self._close = self._fair
        self._volume = 0
        self._candles = {
            resolution: self._new_candle(now_ms, seconds * 1000)
            for resolution, seconds in KLINE_RESOLUTIONS.items()
        }
        self._refill(BID)
        self._refill(ASK)
        self.book.commit()

    # -- evolution --------------------------------------------------------------------------

    def step(self, now_ms: int) -> list[dict[str, Any]]:
        """Advance one step (one new update id); return the public trades it made (wire dicts)."""
        rng, book, tick = self._rng, self.book, self._tick
        if rng.random() < 0.5:
            self._fair = max(10 * tick, self._fair + rng.choice((-2, -1, 1, 2)) * tick)
        fair = self._fair
        # Levels the fair price moved through are pulled, keeping the book uncrossed.
        while (best := book.best_ask()) is not None and best <= fair:
            book.set_level(ASK, best, 0)
        while (best := book.best_bid()) is not None and best >= fair:
            book.set_level(BID, best, 0)
        trades = self._trade(now_ms) if rng.random() < _TRADE_PROBABILITY else []
        for _ in range(rng.randint(1, 3)):
            self._add_level(rng.choice((ASK, BID)))
        for _ in range(rng.randint(0, 2)):
            self._modify_level(rng.choice((ASK, BID)))
        for side in (ASK, BID):
            while book.side_size(side) > _LEVELS_MAX:
                book.set_level(side, book.worst_price(side), 0)
            self._refill(side)
        book.commit()
        return trades

    def _trade(self, now_ms: int) -> list[dict[str, Any]]:
        rng, book = self._rng, self.book
        trades: list[dict[str, Any]] = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            taker_buys = rng.random() < 0.5
            side = ASK if taker_buys else BID
            price = book.best_ask() if taker_buys else book.best_bid()
            if price is None:
                break
            available = book.volume(side, price)
            taken = min(available, self._random_volume())
            book.set_level(side, price, available - taken)
            trades.append(self._record_trade(price, taken, "up" if taker_buys else "down", now_ms))
        return trades

    def _record_trade(self, price: int, volume: int, trend: str, now_ms: int) -> dict[str, Any]:
        self._trade_id += 1
        self._close = price
        self._high = max(self._high, price)
        self._low = min(self._low, price)
        self._volume += volume
        for candle in self._candles.values():
            candle.high = max(candle.high, price)
            candle.low = min(candle.low, price)
            candle.close = price
            candle.volume += volume
            candle.last_trade_id = self._trade_id
        trade = {
            "p": format_units(price, self._pd),
            "v": format_units(volume, self._vd),
            "T": now_ms,
            "tr": trend,
        }
        self._recent.appendleft(trade)
        return trade

    def _add_level(self, side: int) -> None:
        offset = self._tick * (1 + int(self._rng.expovariate(1.0 / _SPREAD_SCALE)))
        price = self._fair + offset if side == ASK else self._fair - offset
        if price > 0:
            self.book.set_level(side, price, self._random_volume())

    def _modify_level(self, side: int) -> None:
        size = self.book.side_size(side)
        if not size:
            return
        index = min(int(self._rng.expovariate(1.0 / 8.0)), size - 1)
        price = self.book.price_at(side, index)
        volume = 0 if self._rng.random() < 0.25 else self._random_volume()
        self.book.set_level(side, price, volume)

    def _refill(self, side: int) -> None:
        while self.book.side_size(side) < _LEVELS_MIN:
            self._add_level(side)

    def _random_volume(self) -> int:
        return 1 + int(self._mean_volume * self._rng.expovariate(1.0))

    # -- candles ----------------------------------------------------------------------------

    def _new_candle(self, now_ms: int, length_ms: int) -> Candle:
        start = now_ms - now_ms % length_ms
        price = self._close
        return Candle(start, length_ms, price, price, price, price, 0, self._trade_id)

    def roll_candles(self, now_ms: int) -> dict[str, dict[str, Any]]:
        """Close every candle whose period ended before ``now_ms``; return them (``x`` true)."""
        closed: dict[str, dict[str, Any]] = {}
        for resolution, candle in self._candles.items():
            if now_ms >= candle.start_ms + candle.length_ms:
                closed[resolution] = self._candle_payload(resolution, candle, closed=True)
                self._candles[resolution] = self._new_candle(now_ms, candle.length_ms)
        return closed

    def candle(self, resolution: str) -> dict[str, Any]:
        """The running candle of ``resolution`` as a wire ``k`` object."""
        return self._candle_payload(resolution, self._candles[resolution], closed=False)

    def _candle_payload(self, resolution: str, candle: Candle, *, closed: bool) -> dict[str, Any]:
        pd = self._pd
        return {
            "ST": candle.start_ms,
            "ET": candle.start_ms + candle.length_ms - 1,
            "M": self.spec.name,
            "R": resolution,
            "O": format_units(candle.open, pd),
            "H": format_units(candle.high, pd),
            "L": format_units(candle.low, pd),
            "C": format_units(candle.close, pd),
            "v": format_units(candle.volume, self._vd),
            "ti": candle.last_trade_id,
            "x": closed,
        }

    # -- other public views -----------------------------------------------------------------

    def recent_trades(self) -> list[dict[str, Any]]:
        """Up to ``RECENT_TRADES`` public trades, newest first."""
        return list(self._recent)

    def ticker(self) -> dict[str, Any]:
        """The ticker as a wire ``tk`` object."""
        pd, vd = self._pd, self._vd
        volume = self._volume / 10**vd
        in_btc = volume * (self._close / 10**pd) / self.spec.btc_price
        return {
            "M": self.spec.name,
            "O": format_units(self._open, pd),
            "H": format_units(self._high, pd),
            "L": format_units(self._low, pd),
            "C": format_units(self._close, pd),
            "v": format_units(self._volume, vd),
            "V": f"{in_btc:.8f}",
        }

    def status_entry(self) -> dict[str, Any]:
        """This market's entry of a ``market_status`` ``ms`` list."""
        spec = self.spec
        return {
            "M": spec.name,
            "st": self.status,
            "bu": spec.base,
            "bup": spec.volume_decimals,
            "mba": spec.minimal_base_amount,
            "qu": spec.quote,
            "qup": spec.price_decimals,
            "mqa": spec.minimal_quote_amount,
            "mws": spec.mwallet_supported,
        }

    def format_price(self, price: int) -> str:
        return format_units(price, self._pd)

    def format_volume(self, volume: int) -> str:
        return format_units(volume, self._vd)

    def last_price(self) -> int:
        """The last trade price (the start price before any trade), in integer units."""
        return self._close
