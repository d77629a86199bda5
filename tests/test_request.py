"""Requests: the exact wire JSON, the auth signature, and what a repr may show."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest

from maicoin.ws import Action, Channel, Filter, Request, Subscription, ValidationError

API_KEY = "k3yAbc123"
API_SECRET = "s3cr3t-Do-Not-Log"
NONCE = 1700000000123
# Computed with `openssl dgst -sha256 -hmac s3cr3t-Do-Not-Log` over "1700000000123".
SIGNATURE = "28050d690f321ad3a5cd482497a85f4627650a0f7e237c6a4d5eee46e37576fa"


def expected_signature(secret: str, nonce: int) -> str:
    return hmac.new(secret.encode(), str(nonce).encode(), hashlib.sha256).hexdigest()


def test_auth_signature_is_hmac_sha256_of_the_nonce() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    assert request.signature == expected_signature(API_SECRET, NONCE)
    assert request.signature == SIGNATURE


def test_auth_message_is_the_exact_wire_json() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    assert request.message() == (
        '{"action":"auth","id":"' + request.id + '","apiKey":"k3yAbc123",'
        '"nonce":1700000000123,"signature":"' + SIGNATURE + '"}'
    )


def test_auth_with_filters() -> None:
    request = Request.auth(
        API_KEY, API_SECRET, filters=[Filter.ORDER, "account", "liquidation"], nonce=NONCE
    )
    assert request.filters == [Filter.ORDER, Filter.ACCOUNT, "liquidation"]
    assert json.loads(request.message())["filters"] == ["order", "account", "liquidation"]


def test_auth_default_nonce_is_now_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    request = Request.auth(API_KEY, API_SECRET)
    after = time.time_ns() // 1_000_000
    assert request.nonce is not None
    assert before <= request.nonce <= after
    assert request.signature == expected_signature(API_SECRET, request.nonce)


def test_auth_ids_are_fresh_uuid4() -> None:
    first = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    second = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    assert first.id != second.id
    assert uuid.UUID(first.id).version == 4
    assert first.action is Action.Authorize


@pytest.mark.parametrize(
    ("api_key", "api_secret", "field"),
    [("", API_SECRET, "api_key"), (API_KEY, "", "api_secret"), (None, API_SECRET, "api_key")],
)
def test_auth_refuses_missing_credentials(api_key: str | None, api_secret: str, field: str) -> None:
    with pytest.raises(ValidationError, match=field) as caught:
        Request.auth(api_key, api_secret)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_secret_is_never_stored_or_shown() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    shown = [repr(request), str(request), request.message(), request.model_dump_json()]
    assert not any(API_SECRET in text for text in shown)
    assert API_SECRET not in repr(request.model_dump())
    assert API_SECRET not in repr(vars(type(request))) and not hasattr(request, "__dict__")


def shown_forms(request: Request) -> list[str]:
    """Every way a request is shown rather than sent: repr, str, format, rich, containers."""
    return [
        repr(request),
        str(request),
        f"{request}",
        f"{request!r}",
        "%s %r" % (request, request),  # noqa: UP031 - the logging style
        repr([request]),
        str([request, request]),
        repr({"requests": (request,)}),
        repr(list(request.__rich_repr__())),
        repr(request.model_copy()),
    ]


def test_the_key_and_the_signature_are_masked_wherever_a_request_is_shown() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    for text in shown_forms(request):
        assert API_KEY not in text and SIGNATURE not in text, text
        assert API_SECRET not in text
    assert repr(request) == (
        f"Request(action=<Action.Authorize: 'auth'>, id={request.id!r}, api_key='k3yA…', "
        f"nonce={NONCE}, signature='2805…')"
    )
    assert list(request.__rich_repr__()) != []
    assert dict((name, repr(value)) for name, value in request.__rich_repr__())["api_key"] == (
        "'k3yA…'"
    )


def test_the_wire_form_and_the_dumps_keep_the_real_values() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    assert request.api_key == API_KEY and request.signature == SIGNATURE
    wire = json.loads(request.message())
    assert (wire["apiKey"], wire["signature"]) == (API_KEY, SIGNATURE)
    dump = request.model_dump()
    assert (dump["api_key"], dump["signature"]) == (API_KEY, SIGNATURE)
    assert request.model_dump(by_alias=True)["apiKey"] == API_KEY
    assert json.loads(request.model_dump_json())["signature"] == SIGNATURE
    copied = request.model_copy()
    assert (copied.api_key, copied.signature) == (API_KEY, SIGNATURE) and copied == request


@pytest.mark.parametrize("key", ["k", "k3yA", "k3yAb"])
def test_a_short_key_is_masked_too(key: str) -> None:
    request = Request.auth(key, API_SECRET, nonce=NONCE)
    assert f"api_key={key!r}" not in repr(request)


def test_a_request_built_any_way_masks_its_secrets() -> None:
    built = [
        Request(action=Action.Authorize, id="1", api_key=API_KEY, nonce=NONCE, signature=SIGNATURE),
        Request.model_validate(
            {"action": "auth", "id": "1", "api_key": API_KEY, "signature": SIGNATURE}
        ),
        Request.model_construct(action="auth", id="1", api_key=API_KEY, signature=SIGNATURE),
        Request.model_validate_json(
            json.dumps({"action": "auth", "id": "1", "api_key": API_KEY, "signature": SIGNATURE})
        ),
    ]
    for request in built:
        for text in shown_forms(request):
            assert API_KEY not in text and SIGNATURE not in text, text
        assert request.api_key == API_KEY and request.signature == SIGNATURE


def test_validation_errors_never_show_the_key_or_the_signature() -> None:
    signed = {"action": "auth", "id": "1", "api_key": API_KEY, "signature": SIGNATURE}
    cases = [
        ({**signed, "nonce": "x"}, False),
        ({**signed, "nonce": "1"}, True),  # strict: no text for a number
        ({**signed, "action": "nope"}, True),  # strict: no value outside the enum
        ({**signed, "id": 1}, False),
        ({**signed, "signature": 5}, False),
        ({**signed, "api_key": 5}, False),
        ({**signed, "nonce": 2**70}, False),
        ({**signed, "filters": "all"}, False),
    ]
    for data, strict in cases:
        with pytest.raises(ValidationError) as caught:
            Request.model_validate(data, strict=strict)
        message = f"{caught.value} {caught.value!r} {caught.value.field}"
        assert API_KEY not in message and SIGNATURE not in message
    with pytest.raises(ValidationError) as caught:
        Request(action="nope", id="1", api_key=API_KEY, signature=SIGNATURE)
    assert API_KEY not in str(caught.value) and SIGNATURE not in str(caught.value)


def test_subscribe_message_uses_the_plural_key() -> None:
    request = Request.subscribe(
        [
            Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
            Subscription(channel=Channel.KLINE, market="ethtwd", resolution="1h"),
            Subscription(channel=Channel.MARKET_STATUS),
            Subscription(channel=Channel.POOL_QUOTA, currency="usdt"),
        ]
    )
    assert request.action is Action.Subscribe
    assert uuid.UUID(request.id).version == 4
    assert request.message() == (
        '{"action":"sub","id":"' + request.id + '","subscriptions":['
        '{"channel":"book","market":"btcusdt","depth":5},'
        '{"channel":"kline","market":"ethtwd","resolution":"1h"},'
        '{"channel":"market_status"},'
        '{"channel":"pool_quota","currency":"usdt"}]}'
    )


def test_unsubscribe_message_uses_the_singular_key() -> None:
    request = Request.unsubscribe([Subscription(channel=Channel.TRADE, market="btcusdt")])
    assert request.action is Action.Unsubscribe
    assert request.subscriptions is None
    assert request.message() == (
        '{"action":"unsub","id":"' + request.id + '","subscription":['
        '{"channel":"trade","market":"btcusdt"}]}'
    )


def test_subscribe_takes_any_iterable() -> None:
    subs = (Subscription(channel=Channel.TICKER, market=m) for m in ("btcusdt", "ethusdt"))
    request = Request.subscribe(subs)
    assert [s.market for s in request.subscriptions or []] == ["btcusdt", "ethusdt"]


def test_request_dump_keeps_pydantic_field_names() -> None:
    request = Request.auth(API_KEY, API_SECRET, nonce=NONCE)
    assert request.model_dump() == {
        "action": Action.Authorize,
        "id": request.id,
        "api_key": API_KEY,
        "nonce": NONCE,
        "signature": SIGNATURE,
        "filters": None,
        "subscriptions": None,
        "subscription": None,
    }
    assert request.model_dump(by_alias=True, exclude_none=True)["apiKey"] == API_KEY


def test_request_round_trips_through_its_message() -> None:
    request = Request.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt")])
    assert Request.model_validate_json(request.message()) == request
