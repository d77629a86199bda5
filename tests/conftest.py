"""Shared fixtures: every async test runs on both event loops."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from typing import Any

import pytest

try:
    import uvloop
except ImportError:  # pragma: no cover - platforms without uvloop
    uvloop = None


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], Any]] = {"asyncio": asyncio.new_event_loop}
    if uvloop is not None:
        factories["uvloop"] = uvloop.new_event_loop
    return factories


def pytest_configure(config: pytest.Config) -> None:
    # Tests press Ctrl-C (SIGINT) in child processes. A run started as a background job of a
    # non-interactive shell ignores SIGINT, and an ignored signal stays ignored in children;
    # a handler of ours is reset to the default in them instead, which Python makes Ctrl-C.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
