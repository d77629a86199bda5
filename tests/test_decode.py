"""Frame decoding: every frame of the corpus against its expected model_dump(), written out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import frames
import msgspec
import pytest

from maicoin.ws import (
    Channel,
    Event,
    Order,
    OrderState,
    OrderType,
    Response,
    Side,
    ValidationError,
)
from maicoin.ws._frames.decode import decode_response, make_decoder
from maicoin.ws.market_status import Status

T123 = datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)  # 1700000000123
T000 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000000
T999 = datetime(2023, 11, 14, 22, 14, 19, 999000, tzinfo=UTC)  # 1700000059999
T_PREV = datetime(2023, 11, 14, 22, 13, 19, tzinfo=UTC)  # 1699999999000

RESPONSE = {
    "event": None,
    "created_at": None,
    "id": None,
    "errors": None,
    "subscriptions": None,
    "channel": None,
    "balances": None,
    "market": None,
    "asks": None,
    "bids": None,
    "first_update_id": None,
    "last_update_id": None,
    "version": None,
    "orders": None,
    "ticker": None,
    "trades": None,
    "currency": None,
    "kline": None,
    "market_status": None,
    "pool_quota": None,
    "m_wallet_ad_ratio": None,
    "m_wallet_borrowings": None,
}
TRADE = {
    "id": None,
    "market": None,
    "side": None,
    "price": None,
    "volume": None,
    "fee": None,
    "fee_currency": None,
    "fee_discounted": None,
    "funds": None,
    "created_at": None,
    "updated_at": None,
    "maker": None,
    "order_id": None,
    "trend": None,
}
ORDER = {
    "order_id": None,
    "side": None,
    "order_type": None,
    "price": None,
    "stop_price": None,
    "average_price": None,
    "state": None,
    "market": None,
    "created_at": None,
    "updated_at": None,
    "volume": None,
    "remaining_volume": None,
    "executed_volume": None,
    "trade_count": None,
    "client_order_id": None,
    "group_id": None,
}
BALANCE = {
    "currency": None,
    "available": None,
    "locked": None,
    "staked": None,
    "balance_updated_time": None,
}
SUBSCRIPTION = {
    "channel": None,
    "market": None,
    "depth": None,
    "resolution": None,
    "currency": None,
}


def public_trade(price: str, volume: str, at: datetime, trend: str) -> dict[str, Any]:
    return {**TRADE, "price": price, "volume": volume, "created_at": at, "trend": trend}


EXPECTED: dict[str, dict[str, Any]] = {
    "BOOK_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T123,
        "channel": Channel.BOOK,
        "market": "btcusdt",
        "asks": [["37000.1", "0.5"], ["37000.5", "1.25"]],
        "bids": [["36999.9", "0.3"], ["36990", "2"]],
        "first_update_id": 1001,
        "last_update_id": 1005,
        "version": 7,
    },
    "BOOK_UPDATE": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T123,
        "channel": Channel.BOOK,
        "market": "btcusdt",
        "asks": [["37000.1", "0"]],
        "bids": [["36999.9", "0.8"], ["36995.5", "0.01"]],
        "first_update_id": 1006,
        "last_update_id": 1008,
        "version": 7,
    },
    "BOOK_SNAPTSHOT_TYPO": {
        **RESPONSE,
        "event": "snaptshot",
        "created_at": T000,
        "channel": Channel.BOOK,
        "market": "ethtwd",
        "asks": [["65000", "1"]],
        "bids": [["64900", "2"]],
        "first_update_id": 1,
        "last_update_id": 1,
        "version": 1,
    },
    "BOOK_EMPTY_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T000,
        "channel": Channel.BOOK,
        "market": "btcusdt",
        "asks": [],
        "bids": [],
        "first_update_id": 2000,
        "last_update_id": 2000,
        "version": 8,
    },
    "TRADE_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T123,
        "channel": Channel.TRADE,
        "market": "btcusdt",
        "trades": [
            public_trade("37000.1", "0.02", T_PREV, "up"),
            public_trade("36999.9", "0.5", T000, "down"),
        ],
    },
    "TRADE_UPDATE": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T123,
        "channel": Channel.TRADE,
        "market": "btcusdt",
        "trades": [public_trade("37001.0", "0.001", T123, "up")],
    },
    "TICKER_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T123,
        "channel": Channel.TICKER,
        "market": "btcusdt",
        "ticker": {
            "market": "btcusdt",
            "open": "36500.0",
            "high": "37100.5",
            "low": "36400.2",
            "close": "37000.1",
            "volume": "152.3",
            "volume_in_btc": "152.3",
        },
    },
    "KLINE_UPDATE": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T123,
        "channel": Channel.KLINE,
        "market": "btcusdt",
        "kline": {
            "start_time": T000,
            "end_time": T999,
            "market": "btcusdt",
            "resolution": "1m",
            "open": "37000.1",
            "high": "37010.0",
            "low": "36990.5",
            "close": "37005.2",
            "volume": "1.25",
            "last_trade_id": 19881,
            "closed": False,
        },
    },
    "MARKET_STATUS_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T123,
        "channel": Channel.MARKET_STATUS,
        "market_status": [
            {
                "market": "btcusdt",
                "status": Status.ACTIVE,
                "base_unit": "btc",
                "base_unit_precision": 6,
                "minimal_base_amount": 0.0001,
                "quote_unit": "usdt",
                "quote_unit_precision": 2,
                "minimal_quote_amount": 8.0,
                "mwallet_supported": True,
            },
            {
                "market": "ethtwd",
                "status": Status.CANCEL_ONLY,
                "base_unit": "eth",
                "base_unit_precision": 4,
                "minimal_base_amount": 0.0005,
                "quote_unit": "twd",
                "quote_unit_precision": 1,
                "minimal_quote_amount": 250.5,
                "mwallet_supported": False,
            },
        ],
    },
    "MARKET_STATUS_UPDATE": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T000,
        "channel": Channel.MARKET_STATUS,
        "market_status": [
            {
                "market": "dogetwd",
                "status": Status.SUSPENDED,
                "base_unit": "doge",
                "base_unit_precision": 1,
                "minimal_base_amount": 10.0,
                "quote_unit": "twd",
                "quote_unit_precision": 4,
                "minimal_quote_amount": 250.0,
                "mwallet_supported": False,
            }
        ],
    },
    "POOL_QUOTA_SNAPSHOT": {
        **RESPONSE,
        "event": Event.SNAPSHOT,
        "created_at": T123,
        "channel": Channel.POOL_QUOTA,
        "currency": "usdt",
        "pool_quota": {"currency": "usdt", "available": "125000.5", "updated_at": T000},
    },
    "ORDER_SNAPSHOT": {
        **RESPONSE,
        "event": Event.ORDER_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "orders": [
            {
                **ORDER,
                "order_id": 8812,
                "side": Side.BID,
                "order_type": OrderType.LIMIT,
                "price": "36000.0",
                "average_price": "0.0",
                "state": OrderState.WAIT,
                "market": "btcusdt",
                "created_at": T_PREV,
                "updated_at": T000,
                "volume": "0.2",
                "remaining_volume": "0.2",
                "executed_volume": "0.0",
                "trade_count": 0,
                "client_order_id": "grid-7",
                "group_id": 42,
            }
        ],
    },
    "ORDER_UPDATE_WITHOUT_CI": {
        **RESPONSE,
        "event": Event.ORDER_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "orders": [
            {
                **ORDER,
                "order_id": 8813,
                "side": Side.ASK,
                "order_type": OrderType.STOP_LIMIT,
                "price": "38000.0",
                "stop_price": "37900.0",
                "average_price": "38000.0",
                "state": OrderState.DONE,
                "market": "btcusdt",
                "created_at": T000,
                "updated_at": T123,
                "volume": "0.1",
                "remaining_volume": "0.0",
                "executed_volume": "0.1",
                "trade_count": 2,
            }
        ],
    },
    "TRADE_SNAPSHOT_PRIVATE": {
        **RESPONSE,
        "event": Event.TRADE_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                "id": 68444,
                "market": "btcusdt",
                "side": Side.BID,
                "price": "37000.1",
                "volume": "0.02",
                "fee": "0.00003",
                "fee_currency": "btc",
                "fee_discounted": False,
                "funds": "740.002",
                "created_at": T_PREV,
                "updated_at": T000,
                "maker": True,
                "order_id": 8811,
                "trend": None,
            }
        ],
    },
    "TRADE_UPDATE_PRIVATE": {
        **RESPONSE,
        "event": Event.TRADE_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                "id": 68445,
                "market": "btcusdt",
                "side": Side.ASK,
                "price": "38000.0",
                "volume": "0.1",
                "fee": "1.2",
                "fee_currency": "max",
                "fee_discounted": True,
                "funds": "3800.0",
                "created_at": T123,
                "updated_at": T123,
                "maker": False,
                "order_id": 8813,
                "trend": None,
            }
        ],
    },
    "FAST_TRADE_UPDATE": {
        **RESPONSE,
        "event": Event.FAST_TRADE_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                **TRADE,
                "id": 68446,
                "market": "btcusdt",
                "side": Side.BID,
                "price": "37000.1",
                "volume": "0.05",
                "funds": "1850.005",
                "created_at": T123,
                "updated_at": T123,
                "maker": False,
                "order_id": 8814,
            }
        ],
    },
    "ACCOUNT_SNAPSHOT": {
        **RESPONSE,
        "event": Event.ACCOUNT_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "balances": [
            {
                **BALANCE,
                "currency": "btc",
                "available": "1.5",
                "locked": "0.2",
                "balance_updated_time": T000,
            },
            {
                "currency": "max",
                "available": "1000",
                "locked": "0",
                "staked": "500",
                "balance_updated_time": T_PREV,
            },
        ],
    },
    "ACCOUNT_UPDATE": {
        **RESPONSE,
        "event": Event.ACCOUNT_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "balances": [
            {
                **BALANCE,
                "currency": "usdt",
                "available": "250.75",
                "locked": "3800.0",
                "balance_updated_time": T123,
            }
        ],
    },
    "MWALLET_ORDER_SNAPSHOT": {
        **RESPONSE,
        "event": Event.MWALLET_ORDER_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "orders": [
            {
                **ORDER,
                "order_id": 9901,
                "side": Side.SELL,
                "order_type": OrderType.MARKET,
                "price": "0",
                "average_price": "2000.5",
                "state": OrderState.FINALIZING,
                "market": "ethusdt",
                "created_at": T000,
                "volume": "1.0",
                "remaining_volume": "0.0",
                "executed_volume": "1.0",
                "trade_count": 3,
            }
        ],
    },
    "MWALLET_ORDER_UPDATE": {
        **RESPONSE,
        "event": Event.MWALLET_ORDER_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "orders": [
            {
                **ORDER,
                "order_id": 9902,
                "side": Side.BUY,
                "order_type": OrderType.IOC_LIMIT,
                "price": "1999.0",
                "average_price": "0",
                "state": OrderState.CANCEL,
                "market": "ethusdt",
                "created_at": T123,
                "volume": "2.0",
                "remaining_volume": "2.0",
                "executed_volume": "0",
                "trade_count": 0,
                "client_order_id": "hedge-1",
            }
        ],
    },
    "MWALLET_TRADE_SNAPSHOT": {
        **RESPONSE,
        "event": Event.MWALLET_TRADE_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                **TRADE,
                "id": 70001,
                "market": "ethusdt",
                "side": Side.ASK,
                "price": "2000.5",
                "volume": "1.0",
                "fee": "2.0005",
                "fee_currency": "usdt",
                "fee_discounted": False,
                "funds": "2000.5",
                "created_at": T000,
                "updated_at": T000,
                "maker": True,
                "order_id": 9901,
            }
        ],
    },
    "MWALLET_TRADE_UPDATE": {
        **RESPONSE,
        "event": Event.MWALLET_TRADE_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                **TRADE,
                "id": 70002,
                "market": "ethusdt",
                "side": Side.ASK,
                "price": "2001.0",
                "volume": "0.5",
                "fee": "1.0005",
                "fee_currency": "usdt",
                "fee_discounted": False,
                "funds": "1000.5",
                "created_at": T123,
                "updated_at": T123,
                "maker": False,
                "order_id": 9903,
            }
        ],
    },
    "MWALLET_FAST_TRADE_UPDATE": {
        **RESPONSE,
        "event": Event.MWALLET_FAST_TRADE_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "trades": [
            {
                **TRADE,
                "id": 70003,
                "market": "ethusdt",
                "side": Side.BID,
                "price": "1999.5",
                "volume": "0.25",
                "funds": "499.875",
                "created_at": T123,
                "updated_at": T123,
                "maker": True,
                "order_id": 9904,
            }
        ],
    },
    "MWALLET_ACCOUNT_SNAPSHOT": {
        **RESPONSE,
        "event": Event.MWALLET_ACCOUNT_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "balances": [
            {
                **BALANCE,
                "currency": "usdt",
                "available": "5000",
                "locked": "0",
                "balance_updated_time": T000,
            }
        ],
    },
    "MWALLET_ACCOUNT_UPDATE": {
        **RESPONSE,
        "event": Event.MWALLET_ACCOUNT_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "balances": [
            {
                **BALANCE,
                "currency": "eth",
                "available": "0.75",
                "locked": "0.25",
                "balance_updated_time": T123,
            }
        ],
    },
    "AD_RATIO_SNAPSHOT": {
        **RESPONSE,
        "event": Event.AD_RATIO_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "m_wallet_ad_ratio": {
            "ad_ratio": "2.5",
            "asset_in_usdt": "10000.0",
            "debt_in_usdt": "4000.0",
            "index_prices": [
                {"market": "btcusdt", "price": "37000.1"},
                {"market": "ethusdt", "price": "2000.5"},
            ],
            "updated_at": T000,
        },
    },
    "AD_RATIO_UPDATE": {
        **RESPONSE,
        "event": Event.AD_RATIO_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "m_wallet_ad_ratio": {
            "ad_ratio": "2.4",
            "asset_in_usdt": "9600.0",
            "debt_in_usdt": "4000.0",
            "index_prices": [],
            "updated_at": T123,
        },
    },
    "BORROWING_SNAPSHOT": {
        **RESPONSE,
        "event": Event.BORROWING_SNAPSHOT,
        "created_at": T123,
        "channel": Channel.USER,
        "m_wallet_borrowings": [
            {
                "currency": "usdt",
                "debt_principal": "4000.0",
                "debt_interest": "1.25",
                "updated_at": T000,
            }
        ],
    },
    "BORROWING_UPDATE": {
        **RESPONSE,
        "event": Event.BORROWING_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "m_wallet_borrowings": [
            {
                "currency": "usdt",
                "debt_principal": "3000.0",
                "debt_interest": "1.3",
                "updated_at": T123,
            },
            {
                "currency": "btc",
                "debt_principal": "0.1",
                "debt_interest": "0.0001",
                "updated_at": T123,
            },
        ],
    },
    "SUBSCRIBED": {
        **RESPONSE,
        "event": Event.SUBSCRIBED,
        "created_at": T123,
        "id": "c5a1f1e0-sub",
        "subscriptions": [
            {**SUBSCRIPTION, "channel": Channel.BOOK, "market": "btcusdt", "depth": 5},
            {**SUBSCRIPTION, "channel": Channel.KLINE, "market": "btcusdt", "resolution": "1m"},
            {**SUBSCRIPTION, "channel": Channel.MARKET_STATUS},
        ],
    },
    "UNSUBSCRIBED": {
        **RESPONSE,
        "event": Event.UNSUBSCRIBED,
        "created_at": T123,
        "id": "unsub-2",
        "subscriptions": [{**SUBSCRIPTION, "channel": Channel.TRADE, "market": "ethtwd"}],
    },
    "AUTHENTICATED": {
        **RESPONSE,
        "event": Event.AUTHENTICATED,
        "created_at": T123,
        "id": "auth-1",
    },
    "ERROR": {
        **RESPONSE,
        "event": Event.ERROR,
        "created_at": T123,
        "id": "req-9",
        "errors": ["E-1004: invalid action"],
    },
    "UNKNOWN_EVENT": {
        **RESPONSE,
        "event": "book_refresh",
        "created_at": T123,
        "channel": Channel.BOOK,
        "market": "btcusdt",
        "asks": [],
        "bids": [],
        "first_update_id": 5,
        "last_update_id": 5,
        "version": 9,
    },
    "UNKNOWN_CHANNEL": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T123,
        "channel": "liquidation",
        "market": "btcusdt",
    },
    "EXTRA_KEYS": {
        **RESPONSE,
        "event": Event.UPDATE,
        "created_at": T123,
        "channel": Channel.TRADE,
        "market": "btcusdt",
        "trades": [public_trade("37000.2", "0.3", T123, "up")],
    },
    "UNKNOWN_ENUM_VALUES": {
        **RESPONSE,
        "event": Event.ORDER_UPDATE,
        "created_at": T123,
        "channel": Channel.USER,
        "orders": [
            {
                **ORDER,
                "order_id": 1,
                "side": "short",
                "order_type": "trailing_stop",
                "price": "1",
                "average_price": "0",
                "state": "expired",
                "market": "btcusdt",
                "created_at": T123,
                "volume": "1",
                "remaining_volume": "1",
                "executed_volume": "0",
                "trade_count": 0,
                "client_order_id": "a",
            }
        ],
    },
}


def test_every_frame_of_the_corpus_has_an_expectation() -> None:
    assert set(EXPECTED) == set(frames.ALL_FRAMES)


@pytest.mark.parametrize("name", sorted(frames.ALL_FRAMES))
def test_frame_decodes_to_expected_dump(name: str) -> None:
    response = decode_response(frames.ALL_FRAMES[name])
    assert response.model_dump() == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(frames.ALL_FRAMES))
def test_frame_decodes_from_bytes_as_from_text(name: str) -> None:
    decode = make_decoder()
    text = frames.ALL_FRAMES[name]
    assert decode(text.encode()) == decode(text)


@pytest.mark.parametrize("name", sorted(frames.ALL_FRAMES))
def test_msgspec_encoding_gives_the_wire_form_back(name: str) -> None:
    # The structs keep the wire's keys and values, so msgspec writes a frame that decodes equal.
    response = decode_response(frames.ALL_FRAMES[name])
    again = decode_response(msgspec.json.encode(response))
    assert again == response
    assert again.model_dump() == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(frames.ALL_FRAMES))
def test_model_validate_json_matches_the_stream_decoder(name: str) -> None:
    text = frames.ALL_FRAMES[name]
    assert Response.model_validate_json(text) == decode_response(text)


def test_known_values_decode_to_enum_members_and_unknown_stay_plain_strings() -> None:
    known = decode_response(frames.ORDER_SNAPSHOT)
    assert type(known.event) is Event
    assert type(known.channel) is Channel
    order = known.orders[0] if known.orders else None
    assert isinstance(order, Order)
    assert (type(order.side), type(order.order_type), type(order.state)) == (
        Side,
        OrderType,
        OrderState,
    )
    unknown = decode_response(frames.UNKNOWN_ENUM_VALUES)
    assert unknown.orders is not None
    odd = unknown.orders[0]
    assert (type(odd.side), type(odd.order_type), type(odd.state)) == (str, str, str)
    assert type(decode_response(frames.UNKNOWN_CHANNEL).channel) is str
    assert type(decode_response(frames.UNKNOWN_EVENT).event) is str


def test_dump_keeps_enum_members_and_datetimes_in_python_mode() -> None:
    dump = decode_response(frames.ORDER_SNAPSHOT).model_dump()
    assert type(dump["event"]) is Event
    assert type(dump["orders"][0]["state"]) is OrderState
    assert dump["created_at"].tzinfo is UTC


def test_timestamps_stay_ints_until_read() -> None:
    response = decode_response(frames.BOOK_UPDATE)
    # The struct keeps the wire integer; the attribute gives the datetime.
    assert msgspec.structs.asdict(response)["created_at"] == 1700000000123
    assert response.created_at == T123


def test_json_mode_dump_of_a_private_trade() -> None:
    dump = decode_response(frames.TRADE_UPDATE_PRIVATE).model_dump(mode="json", exclude_none=True)
    assert dump == {
        "event": "trade_update",
        "created_at": "2023-11-14T22:13:20.123000Z",
        "channel": "user",
        "trades": [
            {
                "id": 68445,
                "market": "btcusdt",
                "side": "ask",
                "price": "38000.0",
                "volume": "0.1",
                "fee": "1.2",
                "fee_currency": "max",
                "fee_discounted": True,
                "funds": "3800.0",
                "created_at": "2023-11-14T22:13:20.123000Z",
                "updated_at": "2023-11-14T22:13:20.123000Z",
                "maker": False,
                "order_id": 8813,
            }
        ],
    }
    assert all(type(value) is str for value in (dump["event"], dump["trades"][0]["side"]))


def test_by_alias_dump_keeps_field_names_as_the_original() -> None:
    # The original's wire keys are validation aliases only: by_alias has nothing to use.
    response = decode_response(frames.KLINE_UPDATE)
    dump = response.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dump == response.model_dump(mode="json", exclude_none=True)
    assert list(dump) == ["event", "created_at", "channel", "market", "kline"]


BAD_FRAMES = [
    pytest.param(b'{"e":"update","T":1700000000123', None, id="truncated"),
    pytest.param(b'{"e":"update",T:1}', None, id="invalid-json"),
    pytest.param(b"", None, id="empty"),
    pytest.param(b'{"e":"update","T":1700000000123} trailing', None, id="trailing-garbage"),
    pytest.param(b'{"e":"upd\xff","T":1700000000123}', None, id="non-utf8"),
    pytest.param(b'{"T":1700000000123}', "$.e", id="missing-event"),
    pytest.param(b'{"e":"update"}', "$.T", id="missing-time"),
    pytest.param(b'{"e":5,"T":1700000000123}', "$.e", id="event-not-a-string"),
    pytest.param(b'{"e":"update","T":"soon"}', "$.T", id="time-not-a-timestamp"),
    pytest.param(b'{"e":"update","T":"1700000000123.5"}', "$.T", id="time-fraction-text"),
    pytest.param(b'{"e":"update","T":253402300800000}', "$.T", id="time-after-9999"),
    pytest.param(b'{"e":"update","T":-62135596800001.0}', "$.T", id="time-before-year-1"),
    pytest.param(b'{"e":"update","T":null}', "$.T", id="time-null"),
    pytest.param(b'{"e":"update","T":1700000000123,"a":[[1,2]]}', "$.a[0][0]", id="level-ints"),
    pytest.param(b'{"e":"update","T":1700000000123,"a":"x"}', "$.a", id="asks-not-a-list"),
    pytest.param(b'{"e":"update","T":1700000000123,"fi":"7"}', "$.fi", id="id-string"),
    pytest.param(
        b'{"e":"update","T":1700000000123,"li":123456789012345678901234567890}',
        "$.li",
        id="huge-int",
    ),
    pytest.param(b'{"e":"update","T":99999999999999999999}', "$.T", id="huge-time"),
    pytest.param(
        b'{"e":"update","T":1700000000123,"t":[{"v":"1","T":1700000000123}]}',
        "$.t[0].p",
        id="trade-missing-price",
    ),
    pytest.param(
        b'{"e":"update","T":1700000000123,"t":[{"p":1,"v":"1","T":1700000000123}]}',
        "$.t[0].p",
        id="trade-price-number",
    ),
    pytest.param(
        b'{"e":"update","T":1700000000123,"k":{"ST":1,"ET":2}}', "$.k.M", id="kline-missing"
    ),
    pytest.param(b'{"e":"update","T":1700000000123,"tk":[]}', "$.tk", id="ticker-array"),
    pytest.param(b"[1,2]", "$", id="not-an-object"),
]


@pytest.mark.parametrize(("frame", "field"), BAD_FRAMES)
def test_bad_frame_raises_validation_error_naming_the_field(
    frame: bytes, field: str | None
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_decoder()(frame)
    assert caught.value.field == field
    if field is not None:
        assert field.rsplit(".", 1)[-1].split("[")[0] in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_lone_surrogate_in_text_frame_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="UTF-8"):
        decode_response('{"e":"up\ud800","T":1700000000123}')


def test_bad_frame_does_not_poison_the_decoder() -> None:
    decode = make_decoder()
    with pytest.raises(ValidationError):
        decode(b"{")
    assert decode(frames.AUTHENTICATED).event is Event.AUTHENTICATED


DEEP = '{"e":"x","T":1,"z":' + "[" * 20_000 + "]" * 20_000 + "}"
"""Nesting msgspec cannot follow on the stack: it raised RecursionError out of decoding.
Deep enough for every supported Python (3.13 follows 5,000 levels; 3.11 and 3.12 not 2,000)."""

DECODERS = [
    pytest.param(Response.model_validate_json, id="model_validate_json"),
    pytest.param(lambda text: Response.model_validate_json(text, by_name=True), id="by_name"),
    pytest.param(decode_response, id="decoder"),
]


@pytest.mark.parametrize("text", [DEEP, DEEP.encode(), DEEP.replace('"x"', '"update"')])
@pytest.mark.parametrize("decode", DECODERS)
def test_nesting_too_deep_is_a_validation_error_naming_it(text: str | bytes, decode: Any) -> None:
    with pytest.raises(ValidationError, match="nests too deeply") as caught:
        decode(text)
    assert caught.value.field == "$"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(DEEP, id="deep-unknown-key"),
        pytest.param(DEEP.replace('"z"', '"t"'), id="deep-known-key"),
        pytest.param("[" * 100_000, id="deep-unterminated"),
        pytest.param('{"a":' * 20_000 + "1" + "}" * 20_000, id="deep-objects"),
        pytest.param('{"e":"update","T":1,"z":' + '{"a":[' * 20_000, id="deep-truncated"),
    ],
)
@pytest.mark.parametrize(
    "decode",
    [
        *DECODERS,
        pytest.param(lambda text: Response.model_validate_json(text, strict=True), id="strict"),
    ],
)
def test_any_deep_document_is_a_validation_error(text: str, decode: Any) -> None:
    with pytest.raises(ValidationError):
        decode(text)


def test_model_validate_with_deep_nesting_is_a_validation_error() -> None:
    nested: Any = 1
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(ValidationError):
        Response.model_validate({"e": "update", "T": 1700000000123, "t": nested})
    # An unknown key is ignored, however deep its value.
    assert (
        Response.model_validate({"e": "update", "T": 1700000000123, "z": nested}).event == "update"
    )


def test_a_deep_frame_does_not_poison_the_decoder() -> None:
    decode = make_decoder()
    for _ in range(3):
        with pytest.raises(ValidationError):
            decode(DEEP)
    assert decode(frames.AUTHENTICATED).event is Event.AUTHENTICATED
