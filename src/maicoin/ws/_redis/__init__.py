"""Redis Streams as a second fan-out: the relay publishes (``relay.redis_publisher``), any
``Stream(uri="redis://...")`` reads (``transport``); ``keys`` is what both agree on."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

__all__ = ["redis_connect"]


def redis_connect(uri: str, **options: Any) -> AbstractAsyncContextManager[Any]:
    """The ``connect_factory`` of ``redis://`` URIs (``transport.redis_connect``), imported
    when first used: redis-py is an optional extra."""
    from .transport import redis_connect as connect

    return connect(uri, **options)
