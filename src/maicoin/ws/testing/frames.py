"""Wire frames built as plain dicts, independent of the client's models, and their encoding.

Error frames come in two wordings. The live one (the simulator's default) is what the
exchange sends: every error frame has ``i`` (``""`` when the request had no readable id) and
``"co": 0``, and a refused subscription is a plain-text reason without a code (``market
nopeusdt does not exist``). The documented one has no ``co``, leaves ``i`` out when there is
no id and words every error with its code.

Error codes: the documented ones (E-1004 invalid action, E-1005 invalid JSON, E-1006 nonce
out of the 30 s window, E-1007 authentication failed, E-1012 nonce already used) plus two
that only this simulator uses, for requests the documentation leaves unspecified:
E-1100 invalid subscription (unknown channel or market, a missing market or currency, a depth
other than 1/5/10/20/50, an unknown kline resolution, a missing or mis-keyed subscription
list) and E-1101 invalid filter (an auth ``filters`` entry that is not a known family).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._auth_check import AUTH_ERROR_MESSAGES

INVALID_ACTION = 1004
INVALID_JSON = 1005
INVALID_SUBSCRIPTION = 1100

ERROR_MESSAGES = {
    INVALID_ACTION: "invalid action",
    INVALID_JSON: "invalid json",
    INVALID_SUBSCRIPTION: "invalid subscription",
    **AUTH_ERROR_MESSAGES,
}

_encoder = msgspec.json.Encoder()
encode = _encoder.encode
"""Encode a frame dict to JSON bytes (sent as a text frame)."""


class RequestError(Exception):
    """A request the simulator answers with an ``error`` frame.

    ``str(error)`` is the coded wording (``E-1100: invalid subscription: <detail>``);
    ``reason`` is the live exchange's plain wording when it has one (refused subscriptions).
    """

    def __init__(self, code: int, detail: str | None = None, *, reason: str | None = None) -> None:
        message = f"E-{code}: {ERROR_MESSAGES[code]}"
        super().__init__(message if detail is None else f"{message}: {detail}")
        self.code = code
        self.reason = reason

    def wording(self, *, live: bool) -> str:
        """The text of the error frame: the plain reason when ``live`` and there is one."""
        return self.reason if live and self.reason is not None else str(self)


def error(
    message: str | list[str], request_id: Any, now_ms: int, *, live: bool = False
) -> dict[str, Any]:
    """An ``error`` frame with one message (or several). Documented form: ``i`` left out when
    the request had no readable id. Live form (``live``): ``i`` always (``""`` without an id)
    and ``"co": 0`` last."""
    frame: dict[str, Any] = {"e": "error", "E": [message] if isinstance(message, str) else message}
    if request_id is not None:
        frame["i"] = request_id
    elif live:
        frame["i"] = ""
    frame["T"] = now_ms
    if live:
        frame["co"] = 0
    return frame


def reply(event: str, request_id: Any, now_ms: int, **payload: Any) -> dict[str, Any]:
    """A ``subscribed``/``unsubscribed``/``authenticated`` reply echoing the request id."""
    frame: dict[str, Any] = {"e": event, **payload}
    if request_id is not None:
        frame["i"] = request_id
    frame["T"] = now_ms
    return frame


def market_data(
    channel: str, event: str, market: str | None, payload: dict[str, Any], now_ms: int
) -> dict[str, Any]:
    """A public channel frame: ``{"c", "e", "M", **payload, "T"}`` (no ``M`` when None)."""
    frame: dict[str, Any] = {"c": channel, "e": event}
    if market is not None:
        frame["M"] = market
    frame.update(payload)
    frame["T"] = now_ms
    return frame


def book(
    event: str,
    market: str,
    asks: list[list[str]],
    bids: list[list[str]],
    *,
    first_update_id: int,
    last_update_id: int,
    version: int,
    now_ms: int,
) -> dict[str, Any]:
    """A ``book`` snapshot or update."""
    return {
        "c": "book",
        "e": event,
        "M": market,
        "a": asks,
        "b": bids,
        "T": now_ms,
        "fi": first_update_id,
        "li": last_update_id,
        "v": version,
    }


def user(event: str, key: str, value: Any, now_ms: int) -> dict[str, Any]:
    """A private frame on the ``user`` channel."""
    return {"c": "user", "e": event, key: value, "T": now_ms}


def with_extra_keys(frame: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``frame`` with unknown keys added at the top level and in nested objects."""
    extended: dict[str, Any] = {}
    for key, value in frame.items():
        if isinstance(value, dict):
            extended[key] = {**value, "zz": "extra"}
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            extended[key] = [{**item, "zz": "extra"} for item in value]
        else:
            extended[key] = value
    extended["X"] = {"note": "unknown key added by the simulator"}
    extended["zz"] = 1
    return extended
