"""The models' pydantic-shaped surface: enums, construction, validation, dumps, copies."""

from __future__ import annotations

import importlib
import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest

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
    Response,
    Side,
    Subscription,
    Ticker,
    Trade,
    ValidationError,
)
from maicoin.ws.channel import PRIVATE_CHANNEL_FILTERS, auth_filter_for
from maicoin.ws.kline import RESOLUTION
from maicoin.ws.market_status import Status

T123 = datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)  # 1700000000123 ms


def trade(**changes: object) -> Trade:
    return Trade.model_validate({"p": "37000.1", "v": "0.5", "T": 1700000000123, **changes})


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


def test_kline_resolutions() -> None:
    assert RESOLUTION == ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")


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
        ("m_wallet", ["MWalletIndexPrice", "MWalletADRatio", "MWalletBorrowing"]),
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


def test_construction_takes_field_names_or_wire_keys() -> None:
    by_name = Response(event=Event.UPDATE, created_at=T123, market="btcusdt")
    by_wire = Response(e="update", T=1700000000123, M="btcusdt")  # type: ignore[call-arg]
    assert by_name == by_wire
    assert by_wire.event is Event.UPDATE


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
    assert ratio.index_prices == [MWalletIndexPrice(market="btcusdt", price="1")]
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


def test_unknown_enum_value_is_kept_as_plain_string_on_construction() -> None:
    sub = Subscription(channel="liquidation")
    assert sub.channel == "liquidation"
    assert type(sub.channel) is str


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


def test_timestamp_accepts_datetime_and_iso_text() -> None:
    assert trade(T=T123).created_at == T123
    assert trade(T="2023-11-14T22:13:20.123Z").created_at == T123


def test_small_int_timestamp_is_seconds_as_in_pydantic() -> None:
    assert trade(T=1700000000).created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_far_future_millisecond_timestamp_is_exact() -> None:
    assert trade(T=253402300799999).created_at == datetime(
        9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC
    )


def test_timestamp_out_of_range_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        trade(T=-1)
    assert caught.value.field == "$.T"


def test_optional_timestamp_absent_reads_none() -> None:
    assert trade().updated_at is None


def test_timestamp_attribute_can_be_assigned() -> None:
    model = trade()
    model.updated_at = T123 + timedelta(seconds=1)
    assert model.updated_at == datetime(2023, 11, 14, 22, 13, 21, 123000, tzinfo=UTC)


def test_json_dump_of_non_utc_and_naive_datetimes() -> None:
    taipei = timezone(timedelta(hours=8))
    aware = trade(T=datetime(2024, 1, 2, 3, 4, 5, tzinfo=taipei))
    naive = trade(T=datetime(2024, 1, 2, 3, 4, 5))
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
    assert (created_at.alias, created_at.is_required(), created_at.annotation) == (
        "T",
        True,
        datetime,
    )
    market = Response.model_fields["market"]
    assert (market.alias, market.is_required(), market.default) == ("M", False, None)


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
    index = MWalletIndexPrice(market="btcusdt", price="1")
    assert index.model_dump_json() == '{"market":"btcusdt","price":"1"}'
    assert index.model_dump_json(by_alias=True) == '{"M":"btcusdt","p":"1"}'
    assert index.model_dump_json(indent=2) == '{\n  "market": "btcusdt",\n  "price": "1"\n}'


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
    assert trade(T=1700000000123) == trade(T=T123)
    assert trade() != "not a trade"
    assert MWalletIndexPrice(market="a", price="1") != Ticker.model_validate(
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
    kline = KLine.model_validate(
        {
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
    )
    assert pickle.loads(pickle.dumps(kline)) == kline
