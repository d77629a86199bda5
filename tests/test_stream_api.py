"""Stream's documented surface that needs no connection: construction, requests, validation."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from maicoin import ws
from maicoin.ws import Channel, Filter, ReconnectPolicy, Stream, Subscription
from maicoin.ws.errors import SubscriptionError
from maicoin.ws.stream import DEFAULT_URI

SECRET = "s3cr3t-never-shown-0123456789"


def test_exported_names_match_the_original_module() -> None:
    original = {
        "Action", "Balance", "Channel", "Event", "Filter", "KLine", "MWalletADRatio",
        "MWalletBorrowing", "MWalletIndexPrice", "Order", "OrderState", "OrderType", "PoolQuota",
        "ReconnectPolicy", "Request", "Response", "Side", "Stream", "Subscription", "Ticker",
        "Trade",
    }  # fmt: skip
    assert original <= set(ws.__all__)
    for name in original:
        assert getattr(ws, name) is not None
    from maicoin.ws.stream import MAX_WS_URI

    assert MAX_WS_URI.startswith(("ws://", "wss://"))


def test_uri_defaults_to_env_then_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_WS_URI", raising=False)
    monkeypatch.setattr("maicoin.ws.stream.MAX_WS_URI", DEFAULT_URI)
    assert Stream().uri == "wss://max-stream.maicoin.com/ws"
    monkeypatch.setenv("MAX_WS_URI", "ws://127.0.0.1:9/ws")
    assert Stream().uri == "ws://127.0.0.1:9/ws"
    assert Stream(uri="ws://other/ws").uri == "ws://other/ws"


def test_from_env_reads_credentials_and_names_the_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_API_KEY", "key-1")
    monkeypatch.setenv("MAX_API_SECRET", SECRET)
    stream = Stream.from_env(dispatch="task")
    assert stream.dispatch == "task"
    assert [r.action for r in stream.requests] == ["auth"]
    assert stream.requests[0].api_key == "key-1"
    monkeypatch.setenv("MAX_API_SECRET", "")
    with pytest.raises(ValueError, match="MAX_API_SECRET"):
        Stream.from_env()
    monkeypatch.delenv("MAX_API_KEY")
    with pytest.raises(ValueError, match="MAX_API_KEY"):
        Stream.from_env()


def test_attributes_and_dispatch_modes() -> None:
    stream = Stream()
    assert stream.handlers == [] and stream.requests == [] and stream.dispatch == "inline"
    assert stream.response_queue is None
    assert isinstance(stream.reconnect_policy, ReconnectPolicy) and stream.reconnect_policy.enabled
    assert not Stream(reconnect=False).reconnect_policy.enabled
    queue_stream = Stream(dispatch="queue")
    assert isinstance(queue_stream.response_queue, asyncio.Queue)
    bounded: asyncio.Queue[ws.Response] = asyncio.Queue(maxsize=3)
    assert Stream(dispatch="queue", response_queue=bounded).response_queue is bounded
    with pytest.raises(ValueError, match="'inline', 'task', 'queue'"):
        Stream(dispatch="threads")


def test_connect_options_are_kept_for_the_factory() -> None:
    stream = Stream(ping_interval=20, ping_timeout=20, close_timeout=5, max_queue=64)
    assert stream.connect_options == {
        "ping_interval": 20,
        "ping_timeout": 20,
        "close_timeout": 5,
        "max_queue": 64,
    }


def test_subscribe_builds_one_sub_request_with_the_wire_keys() -> None:
    stream = Stream()
    stream.subscribe(
        [
            Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
            Subscription(channel=Channel.KLINE, market="btcusdt", resolution="5m"),
            Subscription(channel=Channel.MARKET_STATUS),
        ]
    )
    (request,) = stream.requests
    wire = json.loads(request.message())
    assert wire["action"] == "sub"
    assert wire["subscriptions"] == [
        {"channel": "book", "market": "btcusdt", "depth": 5},
        {"channel": "kline", "market": "btcusdt", "resolution": "5m"},
        {"channel": "market_status"},
    ]
    assert set(stream.books) == {"btcusdt"}


def test_unsubscribe_removes_from_replay_and_book() -> None:
    stream = Stream()
    book = Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)
    ticker = Subscription(channel=Channel.TICKER, market="btcusdt")
    stream.subscribe([book, ticker])
    stream.unsubscribe([Subscription(channel=Channel.BOOK, market="btcusdt")])
    assert stream.subscriptions == [ticker]
    assert "btcusdt" not in stream.books


def test_private_channels_become_auth_filters_never_sub() -> None:
    stream = Stream(api_key="key", api_secret=SECRET, auth_filters=[Filter.AD_RATIO])
    stream.subscribe(
        [
            Subscription(channel=Channel.ORDER),
            Subscription(channel=Channel.TRADE_UPDATE),
            Subscription(channel=Channel.BALANCE_UPDATE),
        ]
    )
    (auth,) = stream.requests
    wire = json.loads(auth.message())
    assert wire["action"] == "auth"
    assert wire["filters"] == ["ad_ratio", "order", "trade_update", "account"]


def test_private_channel_without_credentials_fails_at_subscribe() -> None:
    stream = Stream()
    with pytest.raises(ValueError, match="credentials"):
        stream.subscribe([Subscription(channel=Channel.ORDER)])
    assert stream.requests == []


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        (Subscription(channel=Channel.BOOK), "needs a market"),
        (Subscription(channel=Channel.BOOK, market="btcusdt", depth=7), r"\(1, 5, 10, 20, 50\)"),
        (Subscription(channel=Channel.KLINE, market="btcusdt", resolution="2m"), "1m, 5m"),
        (Subscription(channel=Channel.POOL_QUOTA), "currency"),
    ],
)
def test_bad_subscriptions_fail_before_sending(sub: Subscription, message: str) -> None:
    stream = Stream()
    with pytest.raises(SubscriptionError, match=message):
        stream.subscribe([sub])
    assert stream.requests == []


def test_secret_never_in_repr_or_requests_repr() -> None:
    stream = Stream(api_key="abcdefgh", api_secret=SECRET)
    assert SECRET not in repr(stream)
    assert "abcdefgh" not in repr(stream)  # the key is masked too
    assert SECRET not in repr(stream.requests) and SECRET not in repr(vars(stream))
    assert SECRET not in stream.requests[0].message()


def test_a_lone_credential_is_ignored_with_a_warning_as_the_original_ignores_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="maicoin.ws"):
        stream = Stream(api_key="key-abcdefgh")
    assert stream.requests == []
    assert "api_secret is missing" in caplog.text and "key-abcdefgh" not in caplog.text


def test_auth_with_unset_credentials_is_accepted_and_keeps_the_stream_public() -> None:
    stream = Stream()
    stream.auth(None, None)
    stream.auth("", "")
    assert stream.requests == []
    stream.auth("key", SECRET)
    assert [r.action for r in stream.requests] == ["auth"]


def test_the_key_and_signature_never_show_in_the_streams_requests() -> None:
    key = "abcdefgh-full-api-key"
    stream = Stream(api_key=key, api_secret=SECRET)
    stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
    requests = stream.requests
    signature = requests[0].signature
    assert signature is not None and requests[0].api_key == key
    for text in (repr(requests), str(requests), repr(stream), repr(vars(stream)), str(requests[0])):
        assert key not in text and signature not in text and SECRET not in text
        assert "abcd…" in text
    sent = requests[0].message()
    assert key in sent and signature in sent  # the wire form is whole


def test_add_handler_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="callable"):
        Stream().add_handler("print")  # type: ignore[arg-type]


def test_no_pydantic_at_run_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys, maicoin.ws, maicoin.ws.testing, maicoin.ws.cli\n"
        "from maicoin.ws._frames.decode import decode_response\n"
        'decode_response(b\'{"e":"update","c":"book","M":"btcusdt","T":1700000000000}\')\n'
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_max_pending_tasks_fails_at_construction(bad: object) -> None:
    with pytest.raises(ValueError, match="max_pending_tasks"):
        Stream(dispatch="task", max_pending_tasks=bad)  # type: ignore[arg-type]
    assert Stream(max_pending_tasks=None).max_pending_tasks is None
    assert Stream().max_pending_tasks == 10_000
