"""Private (``user`` channel) events of one API key: wallet state, orders, fills, M-Wallet."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from .._auth_check import EVENT_FILTERS
from .market import Market

RECENT_PRIVATE_TRADES = 20
"""Trades of a wallet its ``trade_snapshot`` carries (the newest)."""
TRADE_HISTORY = 10_000
"""Trades of a wallet the simulator remembers as the truth (the newest)."""
MAX_RESTING_ORDERS = 8
"""Resting orders per wallet beyond which simulated activity places no more."""
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

    @property
    def is_snapshot(self) -> bool:
        return self.event.endswith("_snapshot")


@dataclass(slots=True)
class _Wallet:
    """Balances, orders and trades of one wallet (spot or M-Wallet)."""

    prefix: str  # "" for spot, "mwallet_" for M-Wallet
    balances: dict[str, list[Decimal]]  # currency -> [available, locked]
    balance_times: dict[str, int]  # currency -> TU of its last change
    orders: dict[int, dict[str, Any]]
    trades: deque[dict[str, Any]]  # newest first


class Account:
    """The simulated wallets of one API key; every change returns the events it causes.

    Every change is stamped with its own ``TU``, later than the last one (and never before
    the clock), so the versions of an order or a balance are ordered as on the exchange,
    even when a ``ManualClock`` stands still.
    """

    def __init__(self, api_key: str, markets: Mapping[str, Market], *, seed: int, now_ms: int):
        self._markets = markets
        self._rng = random.Random(f"{seed}:account:{api_key}")
        self._next_id = 10_000_000 + self._rng.randrange(1_000_000)
        self._stamped = now_ms - 1
        currencies = sorted({c for m in markets.values() for c in (m.spec.base, m.spec.quote)})
        spot = {
            c: [Decimal(_STARTING_BALANCE.get(c, _DEFAULT_BALANCE)), Decimal(0)] for c in currencies
        }
        margin = {c: [Decimal(0), Decimal(0)] for c in currencies}
        margin["usdt"] = [Decimal("10000"), Decimal(0)]
        self._spot = _Wallet("", spot, dict.fromkeys(spot, now_ms), {}, deque(maxlen=TRADE_HISTORY))
        self._margin = _Wallet(
            "mwallet_", margin, dict.fromkeys(margin, now_ms), {}, deque(maxlen=TRADE_HISTORY)
        )
        self._borrowings: dict[str, list[Decimal]] = {"usdt": [Decimal("1000"), Decimal("0.5")]}
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

    # -- snapshots and the truth ------------------------------------------------------------

    def snapshots(self, filters: frozenset[str], now_ms: int) -> list[PrivateEvent]:
        """The snapshot events sent right after ``authenticated``, for these filters."""
        events: list[PrivateEvent] = []
        for wallet in (self._spot, self._margin):
            p = wallet.prefix
            recent = list(islice(wallet.trades, RECENT_PRIVATE_TRADES))
            events.append(PrivateEvent(f"{p}order_snapshot", "o", self._orders(wallet)))
            events.append(PrivateEvent(f"{p}trade_snapshot", "t", recent))
            events.append(PrivateEvent(f"{p}account_snapshot", "B", self._balances(wallet)))
        events.append(PrivateEvent("ad_ratio_snapshot", "ad", self._ad_ratio(now_ms)))
        events.append(PrivateEvent("borrowing_snapshot", "db", self._debts(now_ms)))
        return [event for event in events if event.wanted_by(filters)]

    def open_orders(self, *, m_wallet: bool = False) -> list[dict[str, Any]]:
        """The resting orders of one wallet, as wire ``o`` objects, oldest first."""
        return self._orders(self._wallet(m_wallet))

    def balances(self, *, m_wallet: bool = False) -> dict[str, dict[str, Any]]:
        """Every balance of one wallet, as wire ``B`` objects by currency."""
        return {entry["cu"]: entry for entry in self._balances(self._wallet(m_wallet))}

    def trades(self, *, m_wallet: bool = False) -> list[dict[str, Any]]:
        """The trades of one wallet (the newest ``TRADE_HISTORY``), as wire ``t`` objects,
        newest first."""
        return [dict(trade) for trade in self._wallet(m_wallet).trades]

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
        wallet = self._wallet(m_wallet)
        locked_currency = spec.quote if side == "bid" else spec.base
        locked = price_d * volume_d if side == "bid" else volume_d
        balance = wallet.balances[locked_currency]
        if balance[0] < locked:
            raise ValueError(
                f"insufficient {locked_currency}: order needs {locked}, available {balance[0]}"
            )
        stamp = self._stamp(now_ms)
        balance[0] -= locked
        balance[1] += locked
        wallet.balance_times[locked_currency] = stamp
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
            "T": stamp,
            "TU": stamp,
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
            events += self._fill(wallet, order, volume_d, now_ms)
        return order_id, events

    def fill_order(
        self, order_id: int, volume: str | None = None, *, now_ms: int
    ) -> list[PrivateEvent]:
        """Fill a resting order, in part (``volume``) or in full (None): a trade with its fee,
        the order's update (done when nothing remains) and the balances it moved."""
        wallet, order = self._resting(order_id)
        remaining = Decimal(order["rv"])
        if volume is None:
            filled = remaining
        else:
            decimals = self._market(order["M"]).spec.volume_decimals
            filled = _positive(volume, "volume", decimals)
            if filled > remaining:
                raise ValueError(
                    f"volume {volume!r} exceeds the {order['rv']} remaining of order {order_id}"
                )
        return self._fill(wallet, order, filled, now_ms)

    def cancel_order(self, order_id: int, now_ms: int) -> list[PrivateEvent]:
        """Cancel a resting order; raise ``ValueError`` when it is unknown or already done."""
        wallet, order = self._resting(order_id)
        del wallet.orders[order_id]
        spec = self._market(order["M"]).spec
        remaining = Decimal(order["rv"])
        currency = spec.quote if order["sd"] == "bid" else spec.base
        unlocked = remaining * Decimal(order["p"]) if order["sd"] == "bid" else remaining
        stamp = self._stamp(now_ms)
        balance = wallet.balances[currency]
        balance[0] += unlocked
        balance[1] -= unlocked
        wallet.balance_times[currency] = stamp
        order.update(S="cancel", TU=stamp)
        p = wallet.prefix
        return [
            PrivateEvent(f"{p}order_update", "o", [dict(order)]),
            PrivateEvent(f"{p}account_update", "B", self._balances(wallet, [currency])),
        ]

    def simulate_activity(self, now_ms: int) -> list[PrivateEvent]:
        """One random step of a trader's day, in either wallet: rest an order away from the
        market, fill a resting one in part or in full, cancel one, or take the market."""
        rng = self._rng
        m_wallet = rng.random() < 0.3
        wallet = self._wallet(m_wallet)
        resting = sorted(wallet.orders)
        roll = rng.random()
        try:
            if resting and roll < 0.25:
                order = wallet.orders[rng.choice(resting)]
                return self.fill_order(order["i"], self._part_of(order), now_ms=now_ms)
            if resting and roll < 0.4:
                return self.fill_order(rng.choice(resting), now_ms=now_ms)
            if resting and roll < 0.55:
                return self.cancel_order(rng.choice(resting), now_ms)
            return self._new_order(
                wallet,
                m_wallet,
                rest=len(resting) < MAX_RESTING_ORDERS and roll < 0.85,
                now_ms=now_ms,
            )
        except ValueError:  # the wallet ran dry: skip this round
            return []

    # -- internals --------------------------------------------------------------------------

    def _new_order(
        self, wallet: _Wallet, m_wallet: bool, *, rest: bool, now_ms: int
    ) -> list[PrivateEvent]:
        """A resting order 1-5 % away from the market, or one filled at the market."""
        rng = self._rng
        names = sorted(
            name
            for name, market in self._markets.items()
            if not m_wallet or (market.spec.mwallet_supported and market.spec.quote == "usdt")
        )
        if not names:
            return []
        market = self._markets[rng.choice(names)]
        spec = market.spec
        side = rng.choice(("bid", "ask"))
        minimum = Decimal(str(spec.minimal_base_amount))
        if side == "ask" and wallet.balances[spec.base][0] < minimum * 5:
            side = "bid"
        last = market.last_price()
        if rest:
            away = rng.randint(1, 5)
            last = last * (100 - away) // 100 if side == "bid" else last * (100 + away) // 100
        volume = minimum * rng.randint(1, 5)
        return self.place_order(
            spec.name,
            side,
            market.format_price(last),
            f"{volume:f}",
            m_wallet=m_wallet,
            fill=not rest,
            now_ms=now_ms,
        )[1]

    def _part_of(self, order: dict[str, Any]) -> str | None:
        """A volume that fills part of a resting order (None when it is at its minimum)."""
        spec = self._market(order["M"]).spec
        minimum = Decimal(str(spec.minimal_base_amount))
        steps = int(Decimal(order["rv"]) / minimum)
        if steps < 2:
            return None
        return f"{minimum * self._rng.randint(1, steps - 1):f}"

    def _fill(
        self, wallet: _Wallet, order: dict[str, Any], volume: Decimal, now_ms: int
    ) -> list[PrivateEvent]:
        """Fill ``volume`` of an order at its price (a maker fill)."""
        spec = self._market(order["M"]).spec
        price = Decimal(order["p"])
        bid = order["sd"] == "bid"
        bought, paid = (spec.base, spec.quote) if bid else (spec.quote, spec.base)
        received = volume if bid else price * volume
        fee = (received * _FEE_RATE).quantize(_AMOUNT)
        stamp = self._stamp(now_ms)
        wallet.balances[paid][1] -= price * volume if bid else volume
        wallet.balances[bought][0] += received - fee
        wallet.balance_times[paid] = wallet.balance_times[bought] = stamp
        decimals = spec.volume_decimals
        remaining = Decimal(order["rv"]) - volume
        executed = Decimal(order["ev"]) + volume
        order.update(
            ap=order["p"],
            rv=f"{remaining:.{decimals}f}",
            ev=f"{executed:.{decimals}f}",
            tc=order["tc"] + 1,
            TU=stamp,
        )
        if remaining == 0:
            order["S"] = "done"
            del wallet.orders[order["i"]]
        trade = {
            "i": self._new_id(),
            "M": order["M"],
            "sd": order["sd"],
            "p": order["p"],
            "v": f"{volume:.{decimals}f}",
            "f": f"{fee:f}",
            "fc": bought,
            "fd": False,
            "fn": f"{(price * volume).quantize(_AMOUNT):f}",
            "T": stamp,
            "TU": stamp,
            "m": True,
            "oi": order["i"],
        }
        wallet.trades.appendleft(trade)
        fast = {k: v for k, v in trade.items() if k not in ("f", "fc", "fd")}
        p = wallet.prefix
        events = [
            # The fast one first: it is sent before the fees are known.
            PrivateEvent(f"{p}fast_trade_update", "t", [fast]),
            PrivateEvent(f"{p}trade_update", "t", [dict(trade)]),
            PrivateEvent(f"{p}order_update", "o", [dict(order)]),
            PrivateEvent(f"{p}account_update", "B", self._balances(wallet, [paid, bought])),
        ]
        if wallet is self._margin:
            interest = self._borrowings["usdt"][1]
            self._borrowings["usdt"][1] = interest + Decimal("0.01")
            events.append(PrivateEvent("ad_ratio_update", "ad", self._ad_ratio(now_ms)))
            events.append(PrivateEvent("borrowing_update", "db", self._debts(now_ms)))
        return events

    def _orders(self, wallet: _Wallet) -> list[dict[str, Any]]:
        return [dict(order) for order in wallet.orders.values()]

    def _balances(self, wallet: _Wallet, only: list[str] | None = None) -> list[dict[str, Any]]:
        currencies = sorted(wallet.balances) if only is None else only
        return [
            {
                "cu": cu,
                "av": f"{wallet.balances[cu][0].quantize(_AMOUNT):f}",
                "l": f"{wallet.balances[cu][1].quantize(_AMOUNT):f}",
                "stk": None,
                "TU": wallet.balance_times[cu],
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

    def _stamp(self, now_ms: int) -> int:
        """The ``TU`` of a new change: the clock, or 1 ms after the last change if later."""
        self._stamped = max(self._stamped + 1, now_ms)
        return self._stamped

    def _wallet(self, m_wallet: bool) -> _Wallet:
        return self._margin if m_wallet else self._spot

    def _resting(self, order_id: int) -> tuple[_Wallet, dict[str, Any]]:
        for wallet in (self._spot, self._margin):
            order = wallet.orders.get(order_id)
            if order is not None:
                return wallet, order
        raise ValueError(f"no open order with id {order_id!r}")


def reordered(
    events: list[PrivateEvent], rng: random.Random, probability: float
) -> list[PrivateEvent]:
    """The events of one change as a connection gets them: each update is held back behind
    the rest with ``probability`` (so it arrives stale), snapshots never."""
    if not probability or len(events) < 2:
        return events
    late = [not event.is_snapshot and rng.random() < probability for event in events]
    on_time = [event for event, held in zip(events, late, strict=True) if not held]
    return on_time + [event for event, held in zip(events, late, strict=True) if held]


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
