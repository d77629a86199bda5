"""Frame decoding: our msgspec decoder against a pydantic v2 model of the same shape.

The pydantic models below mirror the original client's: wire keys as aliases, ``datetime``
timestamps read as the original reads them (``int(value)`` Unix ms, before pydantic's own
parsing), the same enums. pydantic appears only here, never in the package.

Times are per round of 100 decodes. Run: ``PYTHONPATH=src .venv/bin/python -m pytest
benchmarks/test_decode_bench.py --benchmark-only --benchmark-columns=min,median,ops``
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from maicoin.ws import Channel, Event, OrderState, OrderType, Side
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.market_status import Status

# --- the pydantic reference models ----------------------------------------------------------


def _from_unix_ms(value: Any) -> Any:
    return None if value is None else datetime.fromtimestamp(int(value) / 1000, tz=UTC)


UnixMs = Annotated[datetime, BeforeValidator(_from_unix_ms)]


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PSubscription(_Wire):
    channel: Channel
    market: str | None = None
    depth: int | None = None
    resolution: str | None = None
    currency: str | None = None


class PTicker(_Wire):
    market: str = Field(alias="M")
    open: str = Field(alias="O")
    high: str = Field(alias="H")
    low: str = Field(alias="L")
    close: str = Field(alias="C")
    volume: str = Field(alias="v")
    volume_in_btc: str = Field(alias="V")


class PTrade(_Wire):
    id: int | None = Field(default=None, alias="i")
    market: str | None = Field(default=None, alias="M")
    side: Side | None = Field(default=None, alias="sd")
    price: str = Field(alias="p")
    volume: str = Field(alias="v")
    fee: str | None = Field(default=None, alias="f")
    fee_currency: str | None = Field(default=None, alias="fc")
    fee_discounted: bool | None = Field(default=None, alias="fd")
    funds: str | None = Field(default=None, alias="fn")
    created_at: UnixMs = Field(alias="T")
    updated_at: UnixMs | None = Field(default=None, alias="TU")
    maker: bool | None = Field(default=None, alias="m")
    order_id: int | None = Field(default=None, alias="oi")
    trend: str | None = Field(default=None, alias="tr")


class PKLine(_Wire):
    start_time: UnixMs = Field(alias="ST")
    end_time: UnixMs = Field(alias="ET")
    market: str = Field(alias="M")
    resolution: str = Field(alias="R")
    open: str = Field(alias="O")
    high: str = Field(alias="H")
    low: str = Field(alias="L")
    close: str = Field(alias="C")
    volume: str = Field(alias="v")
    last_trade_id: int = Field(alias="ti")
    closed: bool = Field(alias="x")


class POrder(_Wire):
    order_id: int = Field(alias="i")
    side: Side = Field(alias="sd")
    order_type: OrderType = Field(alias="ot")
    price: str = Field(alias="p")
    stop_price: str | None = Field(default=None, alias="sp")
    average_price: str = Field(alias="ap")
    state: OrderState = Field(alias="S")
    market: str = Field(alias="M")
    created_at: UnixMs = Field(alias="T")
    updated_at: UnixMs | None = Field(default=None, alias="TU")
    volume: str = Field(alias="v")
    remaining_volume: str = Field(alias="rv")
    executed_volume: str = Field(alias="ev")
    trade_count: int = Field(alias="tc")
    client_order_id: str | None = Field(default=None, alias="ci")
    group_id: int | None = Field(default=None, alias="gi")


class PBalance(_Wire):
    currency: str = Field(alias="cu")
    available: str = Field(alias="av")
    locked: str = Field(alias="l")
    staked: str | None = Field(default=None, alias="stk")
    balance_updated_time: UnixMs | None = Field(default=None, alias="TU")


class PMarketStatus(_Wire):
    market: str = Field(alias="M")
    status: Status = Field(alias="st")
    base_unit: str = Field(alias="bu")
    base_unit_precision: int = Field(alias="bup")
    minimal_base_amount: float = Field(alias="mba")
    quote_unit: str = Field(alias="qu")
    quote_unit_precision: int = Field(alias="qup")
    minimal_quote_amount: float = Field(alias="mqa")
    mwallet_supported: bool = Field(alias="mws")


class PPoolQuota(_Wire):
    currency: str = Field(alias="cu")
    available: str = Field(alias="av")
    updated_at: UnixMs = Field(alias="TU")


class PMWalletIndexPrice(_Wire):
    market: str = Field(alias="M")
    price: str = Field(alias="p")


class PMWalletADRatio(_Wire):
    ad_ratio: str = Field(alias="ad")
    asset_in_usdt: str = Field(alias="as")
    debt_in_usdt: str = Field(alias="db")
    index_prices: list[PMWalletIndexPrice] = Field(alias="idxp")
    updated_at: UnixMs = Field(alias="TU")


class PMWalletBorrowing(_Wire):
    currency: str = Field(alias="cu")
    debt_principal: str = Field(alias="dbp")
    debt_interest: str = Field(alias="dbi")
    updated_at: UnixMs = Field(alias="TU")


class PResponse(_Wire):
    event: Event = Field(alias="e")
    created_at: UnixMs = Field(alias="T")
    id: str | None = Field(default=None, alias="i")
    errors: list[str] | None = Field(default=None, alias="E")
    subscriptions: list[PSubscription] | None = Field(default=None, alias="s")
    channel: Channel | None = Field(default=None, alias="c")
    balances: list[PBalance] | None = Field(default=None, alias="B")
    market: str | None = Field(default=None, alias="M")
    asks: list[list[str]] | None = Field(default=None, alias="a")
    bids: list[list[str]] | None = Field(default=None, alias="b")
    first_update_id: int | None = Field(default=None, alias="fi")
    last_update_id: int | None = Field(default=None, alias="li")
    version: int | None = Field(default=None, alias="v")
    orders: list[POrder] | None = Field(default=None, alias="o")
    ticker: PTicker | None = Field(default=None, alias="tk")
    trades: list[PTrade] | None = Field(default=None, alias="t")
    currency: str | None = Field(default=None, alias="cu")
    kline: PKLine | None = Field(default=None, alias="k")
    market_status: list[PMarketStatus] | None = Field(default=None, alias="ms")
    pool_quota: PPoolQuota | None = Field(default=None, alias="qta")
    m_wallet_ad_ratio: PMWalletADRatio | None = Field(default=None, alias="ad")
    m_wallet_borrowings: list[PMWalletBorrowing] | None = Field(default=None, alias="db")


# --- the frames -----------------------------------------------------------------------------

T = 1700000000123


def _book(event: str, asks: list[list[str]], bids: list[list[str]]) -> bytes:
    frame = {
        "c": "book",
        "M": "btcusdt",
        "e": event,
        "a": asks,
        "b": bids,
        "T": T,
        "fi": 1001,
        "li": 1003,
        "v": 7,
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def _levels(start: float, step: float, count: int) -> list[list[str]]:
    return [[f"{start + step * i:.1f}", f"{0.125 + i * 0.01:.4f}"] for i in range(count)]


FRAMES: dict[str, bytes] = {
    "book_update": _book(
        "update",
        [["37000.1", "0"]],
        [["36999.9", "0.8"], ["36995.5", "0.01"]],
    ),
    "book_snapshot_50": _book("snapshot", _levels(37000.1, 0.1, 50), _levels(36999.9, -0.1, 50)),
    "trade": (
        b'{"c":"trade","M":"btcusdt","e":"update",'
        b'"t":[{"p":"37001.0","v":"0.001","T":1700000000123,"tr":"up"}],"T":1700000000123}'
    ),
    "ticker": (
        b'{"c":"ticker","M":"btcusdt","e":"update","tk":{"M":"btcusdt","O":"36500.0",'
        b'"H":"37100.5","L":"36400.2","C":"37000.1","v":"152.3","V":"152.3"},"T":1700000000123}'
    ),
    "kline": (
        b'{"c":"kline","M":"btcusdt","e":"update","k":{"ST":1700000000000,"ET":1700000059999,'
        b'"M":"btcusdt","R":"1m","O":"37000.1","H":"37010.0","L":"36990.5","C":"37005.2",'
        b'"v":"1.25","ti":19881,"x":false},"T":1700000000123}'
    ),
    "order_update": (
        b'{"c":"user","e":"order_update","o":[{"i":8813,"sd":"ask","ot":"stop_limit",'
        b'"p":"38000.0","sp":"37900.0","ap":"38000.0","S":"done","M":"btcusdt",'
        b'"T":1700000000000,"TU":1700000000123,"v":"0.1","rv":"0.0","ev":"0.1","tc":2,'
        b'"ci":"grid-7"}],"T":1700000000123}'
    ),
    "account_update": (
        b'{"c":"user","e":"account_update","B":[{"cu":"usdt","av":"250.75","l":"3800.0",'
        b'"TU":1700000000123},{"cu":"btc","av":"1.5","l":"0.2","TU":1700000000123}],'
        b'"T":1700000000123}'
    ),
}

DECODES_PER_ROUND = 100
DECODERS: dict[str, Callable[[bytes], Any]] = {
    "ours": make_decoder(),
    "pydantic": PResponse.model_validate_json,
}


# Timestamp forms the original reads besides large ints: small, negative, float, text, bool.
TIMESTAMP_FORMS = [
    "as sent",
    "123456789",
    "-123456789",
    "1700000000123.7",
    '"1700000000123"',
    "true",
]
_TIMESTAMP = re.compile(rb'"(T|TU|ST|ET)":\d+')


@pytest.mark.parametrize("form", TIMESTAMP_FORMS)
@pytest.mark.parametrize("message", list(FRAMES))
def test_both_decoders_agree(message: str, form: str) -> None:
    frame = FRAMES[message]
    if form != "as sent":
        frame = _TIMESTAMP.sub(lambda m: b'"' + m[1] + b'":' + form.encode(), frame)
    ours = DECODERS["ours"](frame)
    reference = DECODERS["pydantic"](frame)
    assert ours.model_dump() == reference.model_dump()
    assert ours.model_dump(mode="json") == reference.model_dump(mode="json")


@pytest.mark.parametrize("implementation", list(DECODERS))
@pytest.mark.parametrize("message", list(FRAMES))
def test_decode(benchmark: Any, message: str, implementation: str) -> None:
    # A round decodes the frame DECODES_PER_ROUND times: pytest-benchmark's own per-call
    # overhead (~150 ns) would otherwise swamp a sub-microsecond decode.
    benchmark.group = f"decode {message} (x{DECODES_PER_ROUND})"
    decode = DECODERS[implementation]
    frame = FRAMES[message]
    loop = range(DECODES_PER_ROUND)

    def decode_many() -> Any:
        for _ in loop:
            response = decode(frame)
        return response

    response = benchmark(decode_many)
    assert response.event in (Event.UPDATE, Event.SNAPSHOT, Event.ORDER_UPDATE, "account_update")
