"""What the simulator knows about markets and channel options: precisions, start prices, limits."""

from __future__ import annotations

from dataclasses import dataclass

BOOK_DEPTHS = (1, 5, 10, 20, 50)
DEFAULT_BOOK_DEPTH = 50

KLINE_RESOLUTIONS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "12h": 43200,
    "1d": 86400,
}
"""Kline resolution -> candle length in seconds."""
DEFAULT_KLINE_RESOLUTION = "1m"

# Price of one BTC in each quote currency, for the ticker's volume-in-BTC (`V`).
_BTC_PRICE_IN_QUOTE = {"usdt": 60000.0, "usdc": 60000.0, "twd": 1900000.0, "btc": 1.0, "eth": 20.0}


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One market's fixed properties.

    Prices and volumes are kept as integers in units of their last decimal place:
    ``price_decimals=2`` means the integer 6000012 is the string ``"60000.12"``.
    """

    name: str
    base: str
    quote: str
    price_decimals: int
    volume_decimals: int
    start_price: str
    tick: int
    """Smallest price step, in units of the last price decimal."""
    mean_volume: str
    """Typical size of one book level, in base currency."""
    minimal_base_amount: float
    minimal_quote_amount: float
    mwallet_supported: bool = True

    @property
    def btc_price(self) -> float:
        """Price of one BTC in this market's quote currency."""
        return _BTC_PRICE_IN_QUOTE[self.quote]


_KNOWN = (
    MarketSpec("btcusdt", "btc", "usdt", 2, 6, "60000.00", 1, "0.05", 0.0001, 8.0),
    MarketSpec("ethusdt", "eth", "usdt", 2, 5, "3000.00", 1, "0.8", 0.0015, 8.0),
    MarketSpec("btctwd", "btc", "twd", 1, 8, "1900000.0", 1, "0.05", 0.0001, 250.0),
    MarketSpec("ethtwd", "eth", "twd", 1, 6, "95000.0", 1, "0.8", 0.0015, 250.0),
    MarketSpec("usdttwd", "usdt", "twd", 3, 2, "32.000", 1, "2000", 8.0, 250.0),
    MarketSpec("maxtwd", "max", "twd", 4, 2, "0.5000", 1, "5000", 50.0, 250.0, False),
    MarketSpec("ethbtc", "eth", "btc", 6, 4, "0.050000", 1, "0.8", 0.0015, 0.0001, False),
)
MARKETS: dict[str, MarketSpec] = {spec.name: spec for spec in _KNOWN}


def market_spec(name: str) -> MarketSpec:
    """The spec of a known market, or a generic one for ``<base><quote>`` with a known quote.

    Raises ``ValueError`` naming the market when its quote currency cannot be recognised.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"market must be a non-empty string, got {name!r}")
    known = MARKETS.get(name)
    if known is not None:
        return known
    for quote in sorted(_BTC_PRICE_IN_QUOTE, key=len, reverse=True):
        base = name[: -len(quote)]
        if name.endswith(quote) and base.isalnum() and base.islower():
            start = "3000.0000" if quote == "twd" else "100.0000"
            minimal_quote = 250.0 if quote == "twd" else 8.0
            return MarketSpec(name, base, quote, 4, 4, start, 1, "10", 0.1, minimal_quote, False)
    raise ValueError(
        f"unknown market {name!r}: expected <base><quote> with quote one of "
        f"{sorted(_BTC_PRICE_IN_QUOTE)}"
    )


def to_units(value: str, decimals: int) -> int:
    """``"60000.12"`` with 2 decimals -> 6000012; more decimals than allowed is an error."""
    whole, _, fraction = value.partition(".")
    if len(fraction) > decimals or not (whole + fraction).lstrip("-").isdigit():
        raise ValueError(f"{value!r} is not a number with at most {decimals} decimals")
    return int(whole + fraction.ljust(decimals, "0"))


def format_units(value: int, decimals: int) -> str:
    """6000012 with 2 decimals -> ``"60000.12"``: fixed decimals, exact, no float rounding."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"
