"""Every import path of the original ``maicoin.ws`` still works, and our additions on top.

The table lists, per module of the original (narumiruna/maicoin, ``src/maicoin/ws``), each
public name it defines or re-exports from another ``maicoin.ws`` module; code written for
the original may import any of them from there.
"""

from __future__ import annotations

import importlib

import pytest

import maicoin.ws

ORIGINAL_PATHS: dict[str, tuple[str, ...]] = {
    "maicoin.ws": (
        "Action", "Balance", "Channel", "Event", "Filter", "KLine", "MWalletADRatio",
        "MWalletBorrowing", "MWalletIndexPrice", "Order", "OrderState", "OrderType",
        "PoolQuota", "ReconnectPolicy", "Request", "Response", "Side", "Stream",
        "Subscription", "Ticker", "Trade",
    ),
    "maicoin.ws.balance": ("Balance",),
    "maicoin.ws.channel": ("Channel",),
    "maicoin.ws.kline": ("KLine", "RESOLUTION"),
    "maicoin.ws.m_wallet": ("MWalletADRatio", "MWalletBorrowing", "MWalletIndexPrice", "PoolQuota"),
    "maicoin.ws.market_status": ("MarketStatus", "Status"),
    "maicoin.ws.order": ("Order", "OrderState", "OrderType", "Side"),
    "maicoin.ws.request": ("Action", "Filter", "Request", "Subscription"),
    "maicoin.ws.response": (
        "Balance", "Channel", "Event", "KLine", "MWalletADRatio", "MWalletBorrowing",
        "MarketStatus", "Order", "PoolQuota", "Response", "Subscription", "Ticker", "Trade",
    ),
    "maicoin.ws.side": ("Side",),
    "maicoin.ws.subscription": ("Channel", "Subscription"),
    "maicoin.ws.ticker": ("Ticker",),
    "maicoin.ws.trade": ("Side", "Trade"),
    # The original's __all__, plus the models it imports for its signatures.
    "maicoin.ws.stream": (
        "MAX_WS_URI", "ConnectFactory", "DispatchMode", "Handler", "HandlerErrorCallback",
        "LifecycleCallback", "ReconnectPolicy", "Stream", "WebSocketConnection",
        "WebSocketContext", "Filter", "Request", "Response", "Subscription",
    ),
}  # fmt: skip

# What this package adds: our own public modules and names.
ADDED_PATHS: dict[str, tuple[str, ...]] = {
    "maicoin.ws": (
        "AuthenticationError", "BookResync", "HandlerError", "MarketStatus", "MaxWSError",
        "StreamStats", "SubscriptionError", "ValidationError",
    ),
    "maicoin.ws.stream": ("DEFAULT_URI", "NO_UVLOOP_ENV"),
    "maicoin.ws.filter": ("Filter",),
    "maicoin.ws.pool_quota": ("PoolQuota",),
    "maicoin.ws.errors": (
        "AuthenticationError", "HandlerError", "MaxWSError", "SubscriptionError",
        "ValidationError",
    ),
    "maicoin.ws.reconnect": ("ReconnectPolicy",),
    "maicoin.ws.ratelimit": ("RequestRateLimiter",),
    "maicoin.ws.stats": ("StreamStats",),
    "maicoin.ws.book": ("IMPLEMENTATION", "BookResync", "Level", "OrderBook"),
    "maicoin.ws.testing": ("Faults", "ManualClock", "MaxSimulator"),
    "maicoin.ws.cli": ("main",),
}  # fmt: skip


def _paths(table: dict[str, tuple[str, ...]]) -> list[object]:
    return [
        pytest.param(module, name, id=f"{module}.{name}")
        for module, names in table.items()
        for name in names
    ]


@pytest.mark.parametrize(("module", "name"), _paths(ORIGINAL_PATHS))
def test_every_import_path_of_the_original_works(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("module", "name"), _paths(ADDED_PATHS))
def test_every_added_public_name_is_importable(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


def test_the_original_top_level_names_are_all_exported() -> None:
    assert set(ORIGINAL_PATHS["maicoin.ws"]) <= set(maicoin.ws.__all__)


def test_stream_exports_the_original_all() -> None:
    stream = importlib.import_module("maicoin.ws.stream")
    original_all = set(ORIGINAL_PATHS["maicoin.ws.stream"]) - {
        "Filter", "Request", "Response", "Subscription",
    }  # fmt: skip
    assert original_all <= set(stream.__all__)


def test_fast_transport_keeps_its_public_path() -> None:
    pytest.importorskip("picows")
    module = importlib.import_module("maicoin.ws.transport_picows")
    assert callable(module.picows_connect)
    assert module.PicowsConnection.__module__.startswith("maicoin.ws.")


def test_the_cli_entry_point_is_a_callable() -> None:
    from maicoin.ws.cli import main

    assert callable(main)
