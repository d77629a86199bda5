"""The models' pydantic-shaped surface: enums, construction, validation, dumps, copies."""

from __future__ import annotations

import importlib
import math
import pickle
import re
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Literal, get_args, get_origin

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import maicoin.ws
from maicoin.ws import (
    Action,
    Balance,
    Channel,
    Event,
    Filter,
    KLine,
    MarketStatus,
    MWalletADRatio,
    MWalletIndexPrice,
    Order,
    OrderState,
    OrderType,
    Request,
    Response,
    Side,
    Subscription,
    Ticker,
    Trade,
    ValidationError,
)
from maicoin.ws._model import MAX_UNIX_MS, MIN_UNIX_MS, UNIX_MS_TEXT
from maicoin.ws.channel import PRIVATE_CHANNEL_FILTERS, auth_filter_for
from maicoin.ws.kline import RESOLUTION, RESOLUTIONS
from maicoin.ws.market_status import Status

T123 = datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)  # 1700000000123 ms


def trade(**changes: object) -> Trade:
    return Trade.model_validate({"p": "37000.1", "v": "0.5", "T": 1700000000123, **changes})


KLINE = {
    "ST": 1700000000000,
    "ET": 1700000059999,
    "M": "btcusdt",
    "R": "1m",
    "O": "1",
    "H": "2",
    "L": "0.5",
    "C": "1.5",
    "v": "3",
    "ti": 9,
    "x": True,
}


# --- enumerations ---------------------------------------------------------------------------


def test_enum_values_are_the_wire_strings() -> None:
    assert [(m.name, m.value) for m in Channel] == [
        ("BOOK", "book"),
        ("TRADE", "trade"),
        ("TICKER", "ticker"),
        ("USER", "user"),
        ("KLINE", "kline"),
        ("MARKET_STATUS", "market_status"),
        ("POOL_QUOTA", "pool_quota"),
        ("ORDER", "order"),
        ("TRADE_UPDATE", "trade_update"),
        ("BALANCE_UPDATE", "balance_update"),
    ]
    assert [(m.name, m.value) for m in Action] == [
        ("Subscribe", "sub"),
        ("Authorize", "auth"),
        ("Unsubscribe", "unsub"),
        ("PING", "ping"),  # ours: the application ping the live exchange answers
    ]
    assert [m.value for m in Filter] == [
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
    ]
    assert [m.value for m in Side] == ["buy", "sell", "bid", "ask"]
    assert [m.value for m in OrderType] == [
        "market",
        "limit",
        "stop_market",
        "stop_limit",
        "post_only",
        "ioc_limit",
    ]
    assert [m.value for m in OrderState] == [
        "cancel",
        "wait",
        "done",
        "convert",
        "finalizing",
        "failed",
    ]
    assert [m.value for m in Status] == ["active", "suspended", "cancel-only"]


def test_event_values_are_lower_case_names() -> None:
    names = [
        "ERROR",
        "SUBSCRIBED",
        "UNSUBSCRIBED",
        "AUTHENTICATED",
        "SNAPSHOT",
        "UPDATE",
        "ORDER_SNAPSHOT",
        "ORDER_UPDATE",
        "TRADE_SNAPSHOT",
        "TRADE_UPDATE",
        "ACCOUNT_SNAPSHOT",
        "ACCOUNT_UPDATE",
        "FAST_TRADE_UPDATE",
        "MWALLET_ORDER_SNAPSHOT",
        "MWALLET_ORDER_UPDATE",
        "MWALLET_TRADE_SNAPSHOT",
        "MWALLET_TRADE_UPDATE",
        "MWALLET_FAST_TRADE_UPDATE",
        "MWALLET_ACCOUNT_SNAPSHOT",
        "MWALLET_ACCOUNT_UPDATE",
        "AD_RATIO_SNAPSHOT",
        "AD_RATIO_UPDATE",
        "BORROWING_SNAPSHOT",
        "BORROWING_UPDATE",
        "PONG",  # ours: the answer to the application ping
    ]
    assert [m.name for m in Event] == names
    assert all(Event[name].value == name.lower() for name in names)


def test_enum_members_compare_equal_to_their_strings() -> None:
    book: str = Channel.BOOK
    assert book == "book"
    by_event: dict[str, int] = {Event.UPDATE: 1}
    assert by_event["update"] == 1
    assert f"{Side.BID}" == "bid"


def test_enum_lookup_of_an_unknown_value_still_raises_value_error() -> None:
    assert Side("bid") is Side.BID
    with pytest.raises(ValueError, match="'short' is not a valid Side"):
        Side("short")
    with pytest.raises(ValueError):
        Event("snaptshot")


def test_private_channels_map_to_auth_filters() -> None:
    assert dict(PRIVATE_CHANNEL_FILTERS) == {
        Channel.ORDER: Filter.ORDER,
        Channel.TRADE_UPDATE: Filter.TRADE_UPDATE,
        Channel.BALANCE_UPDATE: Filter.ACCOUNT,
    }
    assert auth_filter_for(Channel.BALANCE_UPDATE) is Filter.ACCOUNT
    assert auth_filter_for("trade_update") is Filter.TRADE_UPDATE
    assert auth_filter_for(Channel.BOOK) is None
    assert auth_filter_for(Channel.USER) is None
    assert auth_filter_for("nonsense") is None


def test_kline_resolution_is_the_originals_literal() -> None:
    assert get_origin(RESOLUTION) is Literal
    assert get_args(RESOLUTION) == ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
    assert get_args(RESOLUTION) == RESOLUTIONS
    assert KLine.model_fields["resolution"].annotation == RESOLUTION


# --- the package surface --------------------------------------------------------------------


def test_package_exports() -> None:
    expected = {
        "Action",
        "Balance",
        "Channel",
        "Event",
        "Filter",
        "KLine",
        "MWalletADRatio",
        "MWalletBorrowing",
        "MWalletIndexPrice",
        "MarketStatus",
        "Order",
        "OrderState",
        "OrderType",
        "PoolQuota",
        "Request",
        "Response",
        "Side",
        "Subscription",
        "Ticker",
        "Trade",
        "ValidationError",
    }
    assert expected <= set(maicoin.ws.__all__)
    assert all(getattr(maicoin.ws, name) is not None for name in maicoin.ws.__all__)


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("channel", ["Channel"]),
        ("request", ["Request", "Action", "Filter"]),
        ("response", ["Response", "Event"]),
        ("subscription", ["Subscription"]),
        ("side", ["Side"]),
        ("ticker", ["Ticker"]),
        ("trade", ["Trade"]),
        ("kline", ["KLine", "RESOLUTION"]),
        ("order", ["Order", "OrderType", "OrderState"]),
        ("balance", ["Balance"]),
        ("m_wallet", ["MWalletIndexPrice", "MWalletADRatio", "MWalletBorrowing", "PoolQuota"]),
        ("market_status", ["MarketStatus", "Status"]),
        ("pool_quota", ["PoolQuota"]),
    ],
)
def test_submodules_export_their_classes(module: str, names: list[str]) -> None:
    imported = importlib.import_module(f"maicoin.ws.{module}")
    for name in names:
        assert hasattr(imported, name), f"maicoin.ws.{module}.{name}"
    if hasattr(maicoin.ws, names[0]):
        assert getattr(imported, names[0]) is getattr(maicoin.ws, names[0])


def test_pool_quota_is_importable_from_m_wallet_as_in_the_original() -> None:
    from maicoin.ws.m_wallet import PoolQuota
    from maicoin.ws.pool_quota import PoolQuota as Same

    assert PoolQuota is Same is maicoin.ws.PoolQuota


# --- construction and validation ------------------------------------------------------------


def test_keyword_construction_converts_known_enum_strings() -> None:
    sub = Subscription(channel="book", market="btcusdt", depth=5)
    assert sub.channel is Channel.BOOK
    assert (sub.market, sub.depth, sub.resolution, sub.currency) == ("btcusdt", 5, None, None)
    assert Subscription(channel=Channel.KLINE, resolution="5m").resolution == "5m"


def test_keyword_construction_validates() -> None:
    with pytest.raises(ValidationError, match="channel") as caught:
        Subscription(market="btcusdt")  # type: ignore[call-arg]
    assert caught.value.field == "$.channel"
    with pytest.raises(ValidationError, match="depth") as caught:
        Subscription(channel=Channel.BOOK, depth=[5])  # type: ignore[arg-type]
    assert caught.value.field == "$.depth"


def test_positional_construction_is_refused() -> None:
    with pytest.raises(TypeError):
        Subscription("book")  # type: ignore[call-arg]


def test_frame_models_take_wire_keys_not_field_names_as_the_original() -> None:
    # The original declares each wire key as the field's validation alias only.
    by_wire = Response(e="update", T=1700000000123, M="btcusdt")  # type: ignore[call-arg]
    assert (by_wire.event, by_wire.created_at, by_wire.market) == (Event.UPDATE, T123, "btcusdt")
    with pytest.raises(ValidationError) as caught:
        Response(event=Event.UPDATE, created_at=1700000000123)
    assert caught.value.field == "$.e"
    with pytest.raises(ValidationError) as caught:
        Trade.model_validate({"price": "1", "volume": "2", "created_at": 1})
    assert caught.value.field == "$.p"
    by_name = {"event": "update", "created_at": 1700000000123, "market": "btcusdt"}
    assert Response.model_validate(by_name, by_name=True) == by_wire
    nested = {"e": "update", "T": 1, "t": [{"price": "1", "volume": "2", "created_at": 1}]}
    trades = Response.model_validate(nested, by_name=True).trades or []
    assert trades[0].price == "1"
    with pytest.raises(ValueError, match="by_name"):
        Response.model_validate(by_name, by_alias=False)
    assert Response.model_validate(by_name, by_alias=False, by_name=True) == by_wire


def test_requests_take_field_names_and_ignore_the_wire_spelling_as_the_original() -> None:
    # The original's apiKey is a serialization alias: input says api_key.
    assert Request.model_validate({"action": "auth", "id": "1", "apiKey": "k"}).api_key is None
    assert Request.model_validate({"action": "auth", "id": "1", "api_key": "k"}).api_key == "k"
    assert Request(action=Action.Authorize, id="1", api_key="k").api_key == "k"
    assert Request.model_validate_json('{"action":"auth","id":"1","apiKey":"k"}').api_key is None
    assert Request.model_validate_json('{"action":"auth","id":"1","api_key":"k"}').api_key == "k"


def test_model_validate_reads_attributes_with_from_attributes() -> None:
    source = SimpleNamespace(
        e="update", T=1700000000123, t=[SimpleNamespace(p="1", v="2", T=1700000000123)]
    )
    response = Response.model_validate(source, from_attributes=True)
    assert response.event is Event.UPDATE
    assert response.trades == [trade(p="1", v="2")]
    with pytest.raises(ValidationError, match="expected a mapping"):
        Response.model_validate(source)
    sub = Subscription.model_validate(SimpleNamespace(channel="book"), from_attributes=True)
    assert sub.channel is Channel.BOOK


def test_model_validate_accepts_pydantics_keywords() -> None:
    data = {"channel": "book", "depth": "5"}
    assert Subscription.model_validate(data, context={"any": 1}).depth == 5
    assert Subscription.model_validate_json(b'{"channel":"book","depth":"5"}', context=1).depth == 5


def test_strict_refuses_coercions_and_values_outside_an_enum() -> None:
    with pytest.raises(ValidationError) as caught:
        Subscription.model_validate({"channel": "book", "depth": "5"}, strict=True)
    assert caught.value.field == "$.depth"
    with pytest.raises(ValidationError) as caught:
        Subscription.model_validate_json('{"channel":"book","depth":"5"}', strict=True)
    assert caught.value.field == "$.depth"
    with pytest.raises(ValidationError) as caught:
        Subscription.model_validate({"channel": "nope"}, strict=True)
    assert caught.value.field == "$.channel"
    with pytest.raises(ValidationError) as caught:
        Response.model_validate_json(
            '{"e":"update","T":1,"k":' + _json({**KLINE, "R": "3m"}) + "}", strict=True
        )
    assert caught.value.field == "$.k.R"
    assert Subscription.model_validate({"channel": "nope"}).channel == "nope"


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def test_model_construct_skips_validation_as_pydantics() -> None:
    sub = Subscription.model_construct(channel="nope", depth="x")
    assert (sub.channel, sub.depth, sub.market) == ("nope", "x", None)
    response = Response.model_construct(e="update", T=T123, market="btcusdt")
    assert (response.event, response.created_at, response.market) == ("update", T123, "btcusdt")
    assert Response.model_construct(e="update", T=1700000000123).created_at == T123
    assert Request.model_construct(action="auth", id="1", apiKey="k").api_key is None
    assert Trade.model_construct(p="1", v="2", T=1, unknown=3).model_dump()["price"] == "1"
    assert Subscription.model_construct({"channel"}, channel="book").channel == "book"
    with pytest.raises(TypeError, match="volume"):
        Trade.model_construct(p="1", T=1)


def test_model_validate_takes_wire_keys_and_ignores_unknown_keys() -> None:
    ticker = Ticker.model_validate(
        {"M": "btcusdt", "O": "1", "H": "2", "L": "0.5", "C": "1.5", "v": "10", "V": "10", "z": 1}
    )
    assert (ticker.market, ticker.high, ticker.volume_in_btc) == ("btcusdt", "2", "10")


def test_model_validate_returns_an_instance_unchanged() -> None:
    original = trade()
    assert Trade.model_validate(original) is original


def test_model_validate_rejects_a_non_mapping() -> None:
    with pytest.raises(ValidationError, match="expected a mapping, got list"):
        Trade.model_validate([1, 2])


def test_model_validate_builds_nested_models_from_wire_dicts() -> None:
    ratio = MWalletADRatio.model_validate(
        {
            "ad": "2",
            "as": "10",
            "db": "5",
            "idxp": [{"M": "btcusdt", "p": "1"}],
            "TU": 1700000000123,
        }
    )
    assert ratio.index_prices == [MWalletIndexPrice.model_validate({"M": "btcusdt", "p": "1"})]
    assert ratio.updated_at == T123


def test_model_validate_error_names_nested_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Response.model_validate({"e": "update", "T": 1, "t": [{"p": "1", "v": 2, "T": 1}]})
    assert caught.value.field == "$.t[0].v"
    assert "$.t[0].v" in str(caught.value)


def test_model_validate_json_accepts_text_and_bytes() -> None:
    text = '{"cu":"btc","av":"1","l":"0"}'
    assert Balance.model_validate_json(text) == Balance.model_validate_json(text.encode())
    with pytest.raises(ValidationError, match="not valid JSON"):
        Balance.model_validate_json("{")
    with pytest.raises(ValidationError) as caught:
        Balance.model_validate_json('{"cu":"btc","av":"1"}')
    assert caught.value.field == "$.l"


def test_order_without_client_order_id_decodes_as_none() -> None:
    order = Order.model_validate(
        {
            "i": 1,
            "sd": "bid",
            "ot": "limit",
            "p": "1",
            "ap": "0",
            "S": "wait",
            "M": "btcusdt",
            "T": 1700000000123,
            "v": "1",
            "rv": "1",
            "ev": "0",
            "tc": 0,
        }
    )
    assert order.client_order_id is None


def test_construction_refuses_a_value_outside_an_enum_or_literal_as_the_original() -> None:
    with pytest.raises(ValidationError, match="nope") as caught:
        Subscription(channel="nope")
    assert caught.value.field == "$.channel"
    with pytest.raises(ValidationError) as caught:
        Subscription(channel="BOOK")  # the value, not the member's name, as in the original
    with pytest.raises(ValidationError) as caught:
        Request(action="sub", id="1", subscriptions=[{"channel": "nope"}])
    assert caught.value.field == "$.subscriptions[0].channel"
    with pytest.raises(ValidationError) as caught:
        Request(action=Action.Authorize, id="1", filters=["order", "nope"])
    assert caught.value.field == "$.filters[1]"
    with pytest.raises(ValidationError, match="'3m'") as caught:
        KLine(**{**KLINE, "R": "3m"})
    assert caught.value.field == "$.R"
    with pytest.raises(ValidationError) as caught:
        Response(e="update", T=1, k={**KLINE, "R": "3m"})  # type: ignore[call-arg]
    assert caught.value.field == "$.k.R"
    assert Subscription(channel="book").channel is Channel.BOOK
    assert KLine(**KLINE).resolution == "1m"


def test_decoding_keeps_a_value_outside_an_enum_or_literal() -> None:
    sub = Subscription.model_validate({"channel": "liquidation"})
    assert sub.channel == "liquidation"
    assert type(sub.channel) is str
    assert KLine.model_validate({**KLINE, "R": "3m"}).resolution == "3m"
    assert KLine.model_validate_json(_json({**KLINE, "R": "3m"})).resolution == "3m"
    # A model built leniently survives copies, pickling and equality.
    kline = KLine.model_validate({**KLINE, "R": "3m"})
    assert pickle.loads(pickle.dumps(kline)) == kline.model_copy(deep=True) == kline


def test_request_auth_keeps_an_unknown_filter_family() -> None:
    # The stream forwards filter families this version does not know; the helper sends them.
    request = Request.auth("key", "secret", filters=["order", "liquidation"], nonce=1)
    assert request.filters == [Filter.ORDER, "liquidation"]


def test_market_status_numbers() -> None:
    status = MarketStatus.model_validate(
        {
            "M": "btcusdt",
            "st": "cancel-only",
            "bu": "btc",
            "bup": 6,
            "mba": 1,
            "qu": "usdt",
            "qup": 2,
            "mqa": 8.5,
            "mws": True,
        }
    )
    assert status.status is Status.CANCEL_ONLY
    assert type(status.minimal_base_amount) is float
    assert status.minimal_base_amount == 1.0


# --- timestamps -----------------------------------------------------------------------------


def test_timestamp_from_milliseconds_is_utc_aware() -> None:
    assert trade().created_at == T123
    assert trade().created_at.tzinfo is UTC


def test_small_int_timestamp_is_milliseconds_as_in_the_original() -> None:
    assert trade(T=123456789).created_at == datetime(1970, 1, 2, 10, 17, 36, 789000, tzinfo=UTC)
    assert trade(T=1700000000).created_at == datetime(1970, 1, 20, 16, 13, 20, tzinfo=UTC)


def test_timestamp_as_float_text_bool_or_negative_as_in_the_original() -> None:
    assert trade(T=1700000000123.9).created_at == T123  # truncated, as int() does
    assert trade(T="1700000000123").created_at == T123
    assert trade(T=" 17_00000000123 ").created_at == T123
    assert trade(T=-1).created_at == datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert trade(T="-1").created_at == trade(T=-1.5).created_at == trade(T=-1).created_at
    assert trade(T=True).created_at == datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)


def test_far_future_timestamp_reads_as_the_original_through_a_float() -> None:
    # ms / 1000 rounds in binary; the original keeps that rounding, and so do we.
    assert trade(T=MAX_UNIX_MS).created_at == datetime(9999, 12, 31, 23, 59, 59, 998993, tzinfo=UTC)
    assert trade(T=MIN_UNIX_MS).created_at == datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        MAX_UNIX_MS + 1,
        MIN_UNIX_MS - 1,
        float(MAX_UNIX_MS + 1),
        math.nan,
        math.inf,
        "1.5",
        "soon",
        str(MAX_UNIX_MS + 1),
        "9" * 30,
        None,
        [1],
        # The original's int() refuses both; ours did once read them.
        T123,
        "2023-11-14T22:13:20.123Z",
    ],
)
def test_timestamp_the_original_refuses_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        trade(T=value)
    assert caught.value.field == "$.T"


def test_datetime_can_be_assigned_copied_in_or_constructed() -> None:
    later = T123 + timedelta(seconds=1)
    assert trade().model_copy(update={"created_at": later}).created_at == later
    assert Trade.model_construct(p="1", v="2", T=later).created_at == later


_INT_TEXT = st.builds(
    lambda sign, zeros, digits, pad: f"{pad}{sign}{'0' * zeros}{digits}{pad}",
    st.sampled_from(["", "+", "-"]),
    st.integers(0, 3),
    st.integers(0, 10**16).map(str) | st.integers(0, 10**16).map(lambda n: f"{n:_}"),
    st.sampled_from(["", " ", "\t", "\u3000"]),
)


@given(
    _INT_TEXT
    | st.sampled_from([str(n) for n in (MAX_UNIX_MS, MIN_UNIX_MS) for n in (n - 1, n, n + 1)])
)
def test_timestamp_text_is_taken_exactly_when_int_reads_it_within_range(text: str) -> None:
    in_range = MIN_UNIX_MS <= int(text) <= MAX_UNIX_MS
    assert (re.search(UNIX_MS_TEXT, text) is not None) == in_range


def test_optional_timestamp_absent_reads_none() -> None:
    assert trade().updated_at is None


def test_timestamp_attribute_can_be_assigned() -> None:
    model = trade()
    model.updated_at = T123 + timedelta(seconds=1)
    assert model.updated_at == datetime(2023, 11, 14, 22, 13, 21, 123000, tzinfo=UTC)


def test_json_dump_of_non_utc_and_naive_datetimes() -> None:
    taipei = timezone(timedelta(hours=8))
    aware = trade().model_copy(update={"created_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=taipei)})
    naive = trade().model_copy(update={"created_at": datetime(2024, 1, 2, 3, 4, 5)})
    assert aware.model_dump(mode="json")["created_at"] == "2024-01-02T03:04:05+08:00"
    assert naive.model_dump(mode="json")["created_at"] == "2024-01-02T03:04:05"


# --- the pydantic-shaped surface ------------------------------------------------------------


def test_model_fields_lists_field_names_in_order_with_aliases() -> None:
    assert list(Ticker.model_fields) == [
        "market",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "volume_in_btc",
    ]
    created_at = Response.model_fields["created_at"]
    assert (created_at.validation_alias, created_at.is_required(), created_at.annotation) == (
        "T",
        True,
        datetime,
    )
    assert (created_at.alias, created_at.serialization_alias, created_at.description) == (
        None,
        None,
        None,
    )
    assert created_at.default is msgspec.NODEFAULT
    market = Response.model_fields["market"]
    assert (market.validation_alias, market.is_required(), market.default) == ("M", False, None)
    api_key = Request.model_fields["api_key"]
    assert (api_key.validation_alias, api_key.serialization_alias) == (None, "apiKey")
    assert Trade.model_fields["side"].annotation == Side | None
    assert Response.model_fields["trades"].annotation == list[Trade] | None


def test_dump_include_and_exclude_sets() -> None:
    model = trade(i=7, sd="bid")
    assert model.model_dump(include={"price", "side"}) == {"side": Side.BID, "price": "37000.1"}
    dumped = model.model_dump(exclude={"id", "side", "price"}, exclude_none=True)
    assert dumped == {"volume": "0.5", "created_at": T123}


def test_dump_nested_include_and_exclude() -> None:
    response = Response.model_validate(
        {
            "e": "update",
            "T": 1700000000123,
            "t": [
                {"p": "1", "v": "2", "T": 1700000000123},
                {"p": "3", "v": "4", "T": 1700000000123},
            ],
        }
    )
    assert response.model_dump(include={"event": True, "trades": {"__all__": {"price"}}}) == {
        "event": Event.UPDATE,
        "trades": [{"price": "1"}, {"price": "3"}],
    }
    assert response.model_dump(include={"trades": {1: {"volume"}}}) == {"trades": [{"volume": "4"}]}
    dumped = response.model_dump(
        exclude={"trades": {0: True, "__all__": {"created_at"}}}, exclude_none=True
    )
    assert dumped == {
        "event": Event.UPDATE,
        "created_at": T123,
        "trades": [{"price": "3", "volume": "4"}],
    }


def test_dump_rejects_unknown_mode_and_bad_filters() -> None:
    with pytest.raises(ValueError, match="mode"):
        trade().model_dump(mode="yaml")
    with pytest.raises(TypeError, match="include/exclude"):
        trade().model_dump(include="price")  # type: ignore[arg-type]


def test_exclude_unset_and_exclude_defaults() -> None:
    model = trade(i=7)
    expected = {"id": 7, "price": "37000.1", "volume": "0.5", "created_at": T123}
    assert model.model_dump(exclude_unset=True) == expected
    assert model.model_dump(exclude_defaults=True) == expected
    assert model.model_fields_set == {"id", "price", "volume", "created_at"}


def test_dump_returns_fresh_containers() -> None:
    response = Response.model_validate({"e": "update", "T": 1, "a": [["1", "2"]]})
    dumped = response.model_dump()
    dumped["asks"][0][0] = "changed"
    assert response.asks == [["1", "2"]]


def test_dump_json_compact_and_indented() -> None:
    index = MWalletIndexPrice.model_validate({"M": "btcusdt", "p": "1"})
    assert index.model_dump_json() == '{"market":"btcusdt","price":"1"}'
    # Wire keys are validation aliases in the original: by_alias dumps still say field names.
    assert index.model_dump_json(by_alias=True) == '{"market":"btcusdt","price":"1"}'
    assert index.model_dump_json(indent=2) == '{\n  "market": "btcusdt",\n  "price": "1"\n}'


def test_dump_json_ensure_ascii_escapes_as_pydantic() -> None:
    index = MWalletIndexPrice.model_validate({"M": "b\u00e9\U0001f600", "p": "1"})
    assert index.model_dump_json(ensure_ascii=True) == (
        '{"market":"b\\u00e9\\ud83d\\ude00","price":"1"}'
    )
    assert index.model_dump_json() == '{"market":"b\u00e9\U0001f600","price":"1"}'


def test_dump_accepts_pydantics_keywords() -> None:
    model = trade(i=7)
    expected = model.model_dump()
    assert (
        model.model_dump(
            context={"a": 1},
            round_trip=True,
            warnings=False,
            serialize_as_any=True,
            exclude_computed_fields=True,
            polymorphic_serialization=True,
        )
        == expected
    )
    text = model.model_dump_json(round_trip=True, warnings="none", serialize_as_any=True)
    assert text == model.model_dump_json()


def test_dump_fallback_handles_a_value_with_no_json_form() -> None:
    odd = trade().model_copy(update={"trend": {1, 2}})
    assert odd.model_dump(mode="json", fallback=sorted)["trend"] == [1, 2]
    assert '"trend":[1,2]' in odd.model_dump_json(fallback=sorted)
    assert odd.model_dump(fallback=sorted)["trend"] == {1, 2}  # python mode keeps it


def test_model_json_schema_has_pydantics_shape() -> None:
    schema = MWalletIndexPrice.model_json_schema()
    assert schema == {
        "description": MWalletIndexPrice.__doc__,
        "properties": {
            "M": {"title": "M", "type": "string"},
            "p": {"title": "P", "type": "string"},
        },
        "required": ["M", "p"],
        "title": "MWalletIndexPrice",
        "type": "object",
    }
    assert list(MWalletIndexPrice.model_json_schema(by_alias=False)["properties"]) == [
        "market",
        "price",
    ]
    trade_schema = Trade.model_json_schema()
    assert trade_schema["properties"]["T"] == {
        "format": "date-time",
        "title": "T",
        "type": "string",
    }
    assert trade_schema["properties"]["sd"] == {
        "anyOf": [{"$ref": "#/$defs/Side"}, {"type": "null"}],
        "default": None,
    }
    assert trade_schema["$defs"]["Side"]["enum"] == ["buy", "sell", "bid", "ask"]
    assert "apiKey" in Request.model_json_schema(mode="serialization")["properties"]
    assert "api_key" in Request.model_json_schema()["properties"]
    refs = Response.model_json_schema(ref_template="#/components/schemas/{model}")
    assert refs["properties"]["k"]["anyOf"][0] == {"$ref": "#/components/schemas/KLine"}
    with pytest.raises(ValueError, match="mode"):
        Trade.model_json_schema(mode="both")  # type: ignore[arg-type]


def test_model_copy_with_update_and_deep() -> None:
    response = Response.model_validate({"e": "update", "T": 1, "b": [["1", "2"]]})
    shallow = response.model_copy(update={"market": "ethtwd"})
    assert (shallow.market, response.market) == ("ethtwd", None)
    assert shallow.bids is response.bids
    deep = response.model_copy(deep=True)
    assert deep == response
    assert deep.bids is not response.bids


def test_equality_is_by_value() -> None:
    assert trade() == trade()
    assert trade() != trade(p="1")
    assert trade(T=1700000000123) == trade(T="1700000000123") == trade(T=1700000000123.4)
    assert trade() == trade().model_copy(update={"created_at": T123})
    assert trade() != "not a trade"
    assert MWalletIndexPrice.model_validate({"M": "a", "p": "1"}) != Ticker.model_validate(
        {"M": "a", "O": "1", "H": "1", "L": "1", "C": "1", "v": "1", "V": "1"}
    )


def test_models_are_unhashable_like_pydantic_models() -> None:
    with pytest.raises(TypeError):
        hash(trade())


def test_repr_shows_values_and_leaves_out_unset_optionals() -> None:
    assert repr(trade(sd="ask")) == (
        "Trade(side=<Side.ASK: 'ask'>, price='37000.1', volume='0.5', "
        "created_at=datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, "
        "tzinfo=datetime.timezone.utc))"
    )


def test_pickle_round_trip() -> None:
    kline = KLine.model_validate(KLINE)
    assert pickle.loads(pickle.dumps(kline)) == kline
