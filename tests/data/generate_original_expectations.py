"""Writes original_0_7_0.json: what the original ``maicoin.ws`` (maicoin 0.7.0) gives.

Run it with a Python that has ``maicoin==0.7.0`` installed and not this package (they share
``maicoin.ws``), from a throwaway virtual environment::

    python3.12 -m venv /tmp/orig && /tmp/orig/bin/pip install maicoin==0.7.0
    /tmp/orig/bin/python tests/data/generate_original_expectations.py

Only results are recorded (dumps, schemas, which inputs are refused); the tests compare this
package with them.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from maicoin.ws import (
    Balance,
    KLine,
    MWalletADRatio,
    MWalletBorrowing,
    MWalletIndexPrice,
    Order,
    PoolQuota,
    Request,
    Response,
    Subscription,
    Ticker,
    Trade,
)
from maicoin.ws.market_status import MarketStatus

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import frames  # noqa: E402

MODELS: list[type[BaseModel]] = [
    Response,
    Subscription,
    Request,
    Ticker,
    Trade,
    KLine,
    Order,
    Balance,
    MarketStatus,
    PoolQuota,
    MWalletIndexPrice,
    MWalletADRatio,
    MWalletBorrowing,
]

# A valid input of every model, keyed as each takes input (wire keys; a request's names).
PAYLOADS: dict[str, dict[str, Any]] = {
    "Response": {"e": "update", "T": 1700000000123, "c": "trade", "M": "btcusdt"},
    "Subscription": {"channel": "kline", "market": "btcusdt", "resolution": "1m"},
    "Request": {"action": "auth", "id": "req-1", "api_key": "key", "nonce": 1, "signature": "s"},
    "Ticker": {"M": "btcusdt", "O": "1", "H": "2", "L": "0.5", "C": "1.5", "v": "9", "V": "9"},
    "Trade": {"p": "1", "v": "2", "T": 1700000000123, "TU": 1700000000000, "sd": "bid"},
    "KLine": {
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
        "x": False,
    },
    "Order": {
        "i": 1,
        "sd": "bid",
        "ot": "limit",
        "p": "1",
        "ap": "0",
        "S": "wait",
        "M": "btcusdt",
        "T": 1700000000123,
        "TU": 1700000000000,
        "v": "1",
        "rv": "1",
        "ev": "0",
        "tc": 0,
        "ci": "c-1",
    },
    "Balance": {"cu": "btc", "av": "1", "l": "0", "TU": 1700000000123},
    "MarketStatus": {
        "M": "btcusdt",
        "st": "active",
        "bu": "btc",
        "bup": 6,
        "mba": 0.0001,
        "qu": "usdt",
        "qup": 2,
        "mqa": 8.0,
        "mws": True,
    },
    "PoolQuota": {"cu": "usdt", "av": "100", "TU": 1700000000123},
    "MWalletIndexPrice": {"M": "btcusdt", "p": "37000.1"},
    "MWalletADRatio": {
        "ad": "2",
        "as": "10",
        "db": "5",
        "idxp": [{"M": "btcusdt", "p": "1"}],
        "TU": 1700000000123,
    },
    "MWalletBorrowing": {"cu": "usdt", "dbp": "1", "dbi": "0.1", "TU": 1700000000123},
}

MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_999
TIMESTAMP_INPUTS: list[Any] = [
    *(0, 1, -1, 123456789, -123456789, 1700000000123, 20000000000, 20000000001),
    *(MAX_MS, MAX_MS + 1, MIN_MS, MIN_MS - 1, 10**16, 2**63),
    *(1.9, -1.9, 0.5, -0.5, 1700000000123.7, 253402300799999.9, 253402300800000.0),
    *(-62135596800000.9, -62135596800001.0, 1e20),
    *("123456789", "-5", "+5", " 42 ", "\t7\n", "1_000", "0_0", "007", "-0", "99999999999999"),
    *(str(MAX_MS), str(MAX_MS + 1), str(MIN_MS), str(MIN_MS - 1), "0" * 20 + "1"),
    *("\u0661\u0662\u0663", "1.5", "abc", "", "1__0", "_1", "1_", "+-1", "1e3", "0x10"),
    *("9" * 30, "2023-11-14T22:13:20.123Z"),
    *(True, False, None),
]
# The subset every frame of the corpus is decoded with, every timestamp key replaced (dumped
# without None fields; each frame as it is, with them).
FRAME_INPUTS: list[Any] = [123456789, -123456789, 1700000000123.7, "1700000000123", True, MAX_MS]
TIMESTAMP_KEYS = re.compile(r'"(T|TU|ST|ET)":(-?\d+)')


def outcome(build: Any, *args: Any, exclude_none: bool = False, **kwargs: Any) -> Any:
    """The json-mode dump of what ``build(*args, **kwargs)`` returns, or what refused it."""
    try:
        model = build(*args, **kwargs)
    except Exception as exc:
        return {"refused": type(exc).__name__}
    return model.model_dump(mode="json", exclude_none=exclude_none)


def timestamp_fields() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for model in MODELS:
        for field in model.model_fields.values():
            if "datetime" in str(field.annotation):
                found.setdefault(model.__name__, []).append(field.validation_alias)
    return found


def timestamps() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, keys in timestamp_fields().items():
        model = next(m for m in MODELS if m.__name__ == name)
        for key in keys:
            rows = []
            for value in TIMESTAMP_INPUTS:
                result = outcome(model.model_validate, {**PAYLOADS[name], key: value})
                rows.append([value, result if "refused" in result else result[_field(model, key)]])
            results[f"{name}.{key}"] = rows
    return results


def _field(model: type[BaseModel], key: str) -> str:
    return next(n for n, f in model.model_fields.items() if (f.validation_alias or n) == key)


def frame_variants() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, text in frames.ALL_FRAMES.items():
        variants: dict[str, Any] = {"as is": outcome(Response.model_validate_json, text)}
        for value in FRAME_INPUTS:
            replaced = TIMESTAMP_KEYS.sub(lambda m, v=value: f'"{m[1]}":{json.dumps(v)}', text)
            variants[json.dumps(value)] = outcome(
                Response.model_validate_json, replaced, exclude_none=True
            )
        results[name] = variants
    return results


def by_names(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    return {_field(model, key): value for key, value in payload.items()}


def keys() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for model in MODELS:
        payload = PAYLOADS[model.__name__]
        names = by_names(model, payload)
        wire = {
            f.validation_alias or f.serialization_alias or n: v
            for n, v in names.items()
            for f in [model.model_fields[n]]
        }
        built = model.model_validate(payload)
        results[model.__name__] = {
            "wire keys": outcome(model.model_validate, wire),
            "field names": outcome(model.model_validate, names),
            "field names, by_name": outcome(model.model_validate, names, by_name=True),
            "keywords": outcome(model, **payload),
            "by_alias dump keys": list(built.model_dump(by_alias=True)),
            "dump_json indent": built.model_dump_json(indent=2),
            "dump_json by_alias": built.model_dump_json(by_alias=True),
        }
    return results


def fields() -> dict[str, Any]:
    return {
        model.__name__: {
            name: {
                "alias": field.alias,
                "validation_alias": field.validation_alias,
                "serialization_alias": field.serialization_alias,
                "required": field.is_required(),
                "default": None if field.is_required() else field.default,
                "description": field.description,
                "annotation": re.sub(
                    r"maicoin\.ws\.\w+\.|<(?:class|enum) '|'>|datetime\.", "", str(field.annotation)
                ),
            }
            for name, field in model.model_fields.items()
        }
        for model in MODELS
    }


def schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in MODELS:
        found[model.__name__] = {"validation": model.model_json_schema()}
        if model in (Request, Trade):  # a serialization alias; validation aliases
            found[model.__name__]["serialization"] = model.model_json_schema(mode="serialization")
            found[model.__name__]["by field name"] = model.model_json_schema(by_alias=False)
    return found


ENUM_FIELDS: dict[str, dict[str, str]] = {
    "Response": {"e": "snapshot", "c": "book"},
    "Subscription": {"channel": "book"},
    "Request": {"action": "sub"},
    "Trade": {"sd": "ask"},
    "KLine": {"R": "5m"},
    "Order": {"sd": "ask", "ot": "market", "S": "done"},
    "MarketStatus": {"st": "suspended"},
}


def construction() -> list[Any]:
    """Keyword construction with each enum or Literal field at a known and an unknown value."""
    cases: list[Any] = []
    for name, known in ENUM_FIELDS.items():
        model = next(m for m in MODELS if m.__name__ == name)
        for key, value in known.items():
            for given in (value, "nope", value.upper()):
                kwargs = {**PAYLOADS[name], key: given}
                cases.append([name, kwargs, outcome(model, **kwargs)])
    filters = {**PAYLOADS["Request"], "filters": ["order", "nope"]}
    cases.append(["Request", filters, outcome(Request, **filters)])
    nested = {"action": "sub", "id": "1", "subscriptions": [{"channel": "nope"}]}
    cases.append(["Request", nested, outcome(Request, **nested)])
    trades = {**PAYLOADS["Response"], "t": [{**PAYLOADS["Trade"], "sd": "short"}]}
    cases.append(["Response", trades, outcome(Response, **trades)])
    kline = {**PAYLOADS["Response"], "k": {**PAYLOADS["KLine"], "R": "3m"}}
    cases.append(["Response", kline, outcome(Response, **kline)])
    return cases


def main() -> None:
    import maicoin

    data = {
        "source": f"maicoin {getattr(maicoin, '__version__', '0.7.0')} (pydantic models)",
        "payloads": PAYLOADS,
        "timestamp_fields": timestamp_fields(),
        "timestamps": timestamps(),
        "frame_inputs": [json.dumps(value) for value in FRAME_INPUTS],
        "frames": frame_variants(),
        "keys": keys(),
        "fields": fields(),
        "schemas": schemas(),
        "construction": construction(),
    }
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    (HERE / "original_0_7_0.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
