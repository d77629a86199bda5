"""Private (``user`` channel) events of one API key: wallet state, orders, fills, M-Wallet."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .market import Market

FILTERS = frozenset(
    {
        "order",
        "trade",
        "account",
        "trade_update",
        "fast_trade_update",
        "mwallet_order",
        "mwallet_trade",
        "mwallet_fast_trade_update",
        "mwallet_account",
        "ad_ratio",
        "borrowing",
    }
)
DEFAULT_FILTERS = frozenset({"order", "trade", "account"})

# Which auth filters receive each private event.
EVENT_FILTERS: dict[str, frozenset[str]] = {
    "order_snapshot": frozenset({"order"}),
    "order_update": frozenset({"order"}),
    "trade_snapshot": frozenset({"trade"}),
    "trade_update": frozenset({"trade", "trade_update"}),
    "fast_trade_update": frozenset({"fast_trade_update"}),
    "account_snapshot": frozenset({"account"}),
    "account_update": frozenset({"account"}),
    "mwallet_order_snapshot": frozenset({"mwallet_order"}),
    "mwallet_order_update": frozenset({"mwallet_order"}),
    "mwallet_trade_snapshot": frozenset({"mwallet_trade"}),
    "mwallet_trade_update": frozenset({"mwallet_trade"}),
    "mwallet_fast_trade_update": frozenset({"mwallet_fast_trade_update"}),
    "mwallet_account_snapshot": frozenset({"mwallet_account"}),
    "mwallet_account_update": frozenset({"mwallet_account"}),
    "ad_ratio_snapshot": frozenset({"ad_ratio"}),
    "ad_ratio_update": frozenset({"ad_ratio"}),
    "borrowing_snapshot": frozenset({"borrowing"}),
    "borrowing_update": frozenset({"borrowing"}),
}

RECENT_PRIVATE_TRADES = 20
_FEE_RATE = Decimal("0.0015")
_AMOUNT = Decimal("0.00000001")
_STARTING_BALANCE = {"btc": "10", "eth": "100", "usdt": "1000000", "usdc": "1000000"}
_DEFAULT_BALANCE = "30000000"
_SIDES = {"bid": "bid", "buy": "bid", "ask": "ask", "sell": "ask"}


@dataclass(frozen=True, slots=True)
class PrivateEvent:
    """One private frame to deliver: ``{"c": "user", "e": event, key: value, "T": ...}``."""

    event: str
    key: str
    value: Any

    def wanted_by(self, filters: frozenset[str]) -> bool:
        return not EVENT_FILTERS[self.event].isdisjoint(filters)


@dataclass(slots=True)
class _Wallet:
    """Balances, orders and recent trades of one wallet (spot or M-Wallet)."""

    prefix: str  # "" for spot, "mwallet_" for M-Wallet
    balances: dict[str, list[Decimal]]  # currency -> [available, locked]
    orders: dict[int, dict[str, Any]]
    trades: deque[dict[str, Any]]


class Account:
    """The simulated wallets of one API key; every change returns the events it causes."""

    def __init__(self, api_key: str, markets: Mapping[str, Market], *, seed: int, now_ms: int):
        self._markets = markets
        self._rng = random.Random(f"{seed}:account:{api_key}")
        self._next_id = 10_000_000 + self._rng.randrange(1_000_000)
        currencies = sorted({c for m in markets.values() for c in (m.spec.base, m.spec.quote)})
        spot = {
            c: [Decimal(_STARTING_BALANCE.get(c, _DEFAULT_BALANCE)), Decimal(0)] for c in currencies
        }
        margin = {c: [Decimal(0), Decimal(0)] for c in currencies}
        margin["usdt"] = [Decimal("10000"), Decimal(0)]
        self._spot = _Wallet("", spot, {}, deque(maxlen=RECENT_PRIVATE_TRADES))
        self._margin = _Wallet("mwallet_", margin, {}, deque(maxlen=RECENT_PRIVATE_TRADES))
        self._borrowings: dict[str, list[Decimal]] = {"usdt": [Decimal("1000"), Decimal("0.5")]}
        self._updated_ms = now_ms
        first = next(iter(markets.values()))
        resting_price = first.last_price() * 98 // 100
        self.place_order(
            first.spec.name,
            "bid",
            first.format_price(resting_price),
            str(first.spec.minimal_base_amount),
            fill=False,
            now_ms=now_ms,
        )
        for side in ("ask", "bid"):
            price = first.format_price(first.last_price())
            volume = str(first.spec.minimal_base_amount)
            self.place_order(first.spec.name, side, price, volume, fill=True, now_ms=now_ms)

    # -- snapshots --------------------------------------------------------------------------

    def snapshots(self, filters: frozenset[str], now_ms: int) -> list[PrivateEvent]:
        """The snapshot events sent right after ``authenticated``, for these filters."""
        events: list[PrivateEvent] = []
        for wallet in (self._spot, self._margin):
            p = wallet.prefix
            events.append(PrivateEvent(f"{p}order_snapshot", "o", list(wallet.orders.values())))
            events.append(PrivateEvent(f"{p}trade_snapshot", "t", list(wallet.trades)))
            events.append(PrivateEvent(f"{p}account_snapshot", "B", self._balances(wallet)))
        events.append(PrivateEvent("ad_ratio_snapshot", "ad", self._ad_ratio(now_ms)))
        events.append(PrivateEvent("borrowing_snapshot", "db", self._debts(now_ms)))
        return [event for event in events if event.wanted_by(filters)]

    # -- orders -----------------------------------------------------------------------------

    def place_order(
        self,
        market: str,
        side: str,
        price: str,
        volume: str,
        *,
        m_wallet: bool = False,
        fill: bool = True,
        now_ms: int,
        client_order_id: str | None = None,
    ) -> tuple[int, list[PrivateEvent]]:
        """Place a limit order, filled at once in full when ``fill``; return (order id, events)."""
        spec = self._market(market).spec
        if side not in _SIDES:
            raise ValueError(f"side must be one of {sorted(_SIDES)}, got {side!r}")
        side = _SIDES[side]
        price_d = _positive(price, "price", spec.price_decimals)
        volume_d = _positive(volume, "volume", spec.volume_decimals)
        wallet = self._margin if m_wallet else self._spot
        locked_currency = spec.quote if side == "bid" else spec.base
        locked = price_d * volume_d if side == "bid" else volume_d
        balance = wallet.balances[locked_currency]
        if balance[0] < locked:
            raise ValueError(
                f"insufficient {locked_currency}: order needs {locked}, available {balance[0]}"
            )
        self._updated_ms = now_ms
        balance[0] -= locked
        balance[1] += locked
        order_id = self._new_id()
        order = {
            "i": order_id,
            "sd": side,
            "ot": "limit",
            "p": f"{price_d:.{spec.price_decimals}f}",
            "sp": None,
            "ap": "0",
            "v": f"{volume_d:.{spec.volume_decimals}f}",
            "rv": f"{volume_d:.{spec.volume_decimals}f}",
            "ev": "0",
            "S": "wait",
            "M": market,
            "tc": 0,
            "T": now_ms,
            "TU": now_ms,
            "gi": None,
            "ci": client_order_id,
        }
        wallet.orders[order_id] = order
        p = wallet.prefix
        events = [
            PrivateEvent(f"{p}order_update", "o", [dict(order)]),
            PrivateEvent(f"{p}account_update", "B", self._balances(wallet, [locked_currency])),
        ]
        if fill:
            events += self._fill(
                wallet, order, price=price_d, volume=volume_d, locked=locked, now_ms=now_ms
            )
        return order_id, events

    def cancel_order(self, order_id: int, now_ms: int) -> list[PrivateEvent]:
        """Cancel a resting order; raise ``ValueError`` when it is unknown or already done."""
        for wallet in (self._spot, self._margin):
            order = wallet.orders.pop(order_id, None)
            if order is not None:
                break
        else:
            raise ValueError(f"no open order with id {order_id!r}")
        spec = self._market(order["M"]).spec
        remaining = Decimal(order["rv"])
        currency = spec.quote if order["sd"] == "bid" else spec.base
        unlocked = remaining * Decimal(order["p"]) if order["sd"] == "bid" else remaining
        balance = wallet.balances[currency]
        balance[0] += unlocked
        balance[1] -= unlocked
        self._updated_ms = now_ms
        order.update(S="cancel", TU=now_ms)
        p = wallet.prefix
        return [
            PrivateEvent(f"{p}order_update", "o", [order]),
            PrivateEvent(f"{p}account_update", "B", self._balances(wallet, [currency])),
        ]

    def open_orders(self, *, m_wallet: bool = False) -> list[dict[str, Any]]:
        """The resting orders of one wallet, as wire ``o`` objects."""
        wallet = self._margin if m_wallet else self._spot
        return [dict(order) for order in wallet.orders.values()]

    def simulate_activity(self, now_ms: int) -> list[PrivateEvent]:
        """One random filled order (spot, or M-Wallet on a supported market) near the market."""
        rng = self._rng
        market = self._markets[rng.choice(sorted(self._markets))]
        spec = market.spec
        m_wallet = spec.mwallet_supported and spec.quote == "usdt" and rng.random() < 0.3
        side = rng.choice(("bid", "ask"))
        wallet = self._margin if m_wallet else self._spot
        if side == "ask" and wallet.balances[spec.base][0] < Decimal(
            str(spec.minimal_base_amount * 3)
        ):
            side = "bid"
        price = market.format_price(market.last_price())
        volume = str(Decimal(str(spec.minimal_base_amount)) * rng.randint(1, 3))
        try:
            return self.place_order(
                spec.name, side, price, volume, m_wallet=m_wallet, fill=True, now_ms=now_ms
            )[1]
        except ValueError:  # the wallet ran dry: skip this round
            return []

    # -- internals --------------------------------------------------------------------------

    def _fill(
        self,
        wallet: _Wallet,
        order: dict[str, Any],
        *,
        price: Decimal,
        volume: Decimal,
        locked: Decimal,
        now_ms: int,
    ) -> list[PrivateEvent]:
        spec = self._market(order["M"]).spec
        bought, paid = (spec.base, spec.quote) if order["sd"] == "bid" else (spec.quote, spec.base)
        received = volume if order["sd"] == "bid" else price * volume
        fee = (received * _FEE_RATE).quantize(_AMOUNT)
        wallet.balances[paid][1] -= locked
        wallet.balances[bought][0] += received - fee
        del wallet.orders[order["i"]]
        order.update(S="done", ap=order["p"], rv="0", ev=order["v"], tc=1, TU=now_ms)
        trade = {
            "i": self._new_id(),
            "M": order["M"],
            "sd": order["sd"],
            "p": order["p"],
            "v": order["v"],
            "f": f"{fee:f}",
            "fc": bought,
            "fd": False,
            "fn": f"{(price * volume).quantize(_AMOUNT):f}",
            "T": now_ms,
            "TU": now_ms,
            "m": True,
            "oi": order["i"],
        }
        wallet.trades.appendleft(trade)
        fast = {k: v for k, v in trade.items() if k not in ("f", "fc", "fd")}
        p = wallet.prefix
        events = [
            PrivateEvent(f"{p}trade_update", "t", [trade]),
            PrivateEvent(f"{p}fast_trade_update", "t", [fast]),
            PrivateEvent(f"{p}order_update", "o", [order]),
            PrivateEvent(f"{p}account_update", "B", self._balances(wallet, [paid, bought])),
        ]
        if wallet is self._margin:
            interest = self._borrowings["usdt"][1]
            self._borrowings["usdt"][1] = interest + Decimal("0.01")
            events.append(PrivateEvent("ad_ratio_update", "ad", self._ad_ratio(now_ms)))
            events.append(PrivateEvent("borrowing_update", "db", self._debts(now_ms)))
        return events

    def _balances(self, wallet: _Wallet, only: list[str] | None = None) -> list[dict[str, Any]]:
        currencies = sorted(wallet.balances) if only is None else only
        return [
            {
                "cu": cu,
                "av": f"{wallet.balances[cu][0].quantize(_AMOUNT):f}",
                "l": f"{wallet.balances[cu][1].quantize(_AMOUNT):f}",
                "stk": None,
                "TU": self._updated_ms,
            }
            for cu in currencies
        ]

    def _debts(self, now_ms: int) -> list[dict[str, Any]]:
        return [
            {"cu": cu, "dbp": f"{principal:f}", "dbi": f"{interest:f}", "TU": now_ms}
            for cu, (principal, interest) in sorted(self._borrowings.items())
        ]

    def _ad_ratio(self, now_ms: int) -> dict[str, Any]:
        assets = sum(
            ((av + lk) * self._usdt_price(cu) for cu, (av, lk) in self._margin.balances.items()),
            Decimal(0),
        )
        debt = sum(
            ((p + i) * self._usdt_price(cu) for cu, (p, i) in self._borrowings.items()), Decimal(0)
        )
        ratio = (assets / debt).quantize(Decimal("0.0001")) if debt else Decimal(0)
        index_prices = [
            {"M": m.spec.name, "p": m.format_price(m.last_price())}
            for m in self._markets.values()
            if m.spec.mwallet_supported
        ]
        return {
            "ad": f"{ratio:f}",
            "as": f"{assets.quantize(_AMOUNT):f}",
            "db": f"{debt.quantize(_AMOUNT):f}",
            "idxp": index_prices,
            "TU": now_ms,
        }

    def _usdt_price(self, currency: str) -> Decimal:
        if currency in ("usdt", "usdc"):
            return Decimal(1)
        for market in self._markets.values():
            if market.spec.base == currency and market.spec.quote == "usdt":
                return Decimal(market.format_price(market.last_price()))
        return Decimal(0)

    def _market(self, market: str) -> Market:
        found = self._markets.get(market)
        if found is None:
            raise ValueError(f"unknown market {market!r}; simulated: {sorted(self._markets)}")
        return found

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id


def _positive(value: str, name: str, decimals: int) -> Decimal:
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValueError(f"{name} must be a decimal string, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if number != number.quantize(Decimal(1).scaleb(-decimals)):
        raise ValueError(f"{name} {value!r} has more than {decimals} decimals")
    return number
