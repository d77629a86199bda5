"""Helpers for tests that run a Stream against the simulator over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from maicoin.ws import ReconnectPolicy, Response, Stream
from maicoin.ws import stream as stream_module

try:
    from maicoin.ws.transport_picows import picows_connect
except ImportError:  # pragma: no cover - without the fast extra
    picows_connect = None  # type: ignore[assignment]

TRANSPORTS = ["websockets", "picows"]
"""Every transport a Stream can run on; stream tests run on each."""

FAST_RECONNECT = ReconnectPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0, healthy_after=5.0)


def use_transport(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``Stream()`` without a ``connect_factory`` use the named transport."""
    if name == "picows":
        if picows_connect is None:
            pytest.skip("picows is not installed")
        monkeypatch.setattr(stream_module, "default_connect", picows_connect)


async def eventually(predicate: Callable[[], Any], *, within: float = 5.0, what: str = "") -> None:
    """Wait until ``predicate()`` is truthy; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or predicate}")
        await asyncio.sleep(0.005)


class Recorder:
    """A handler that keeps every response."""

    def __init__(self) -> None:
        self.responses: list[Response] = []

    def __call__(self, response: Response) -> None:
        self.responses.append(response)

    def events(self, channel: str | None = None) -> list[str]:
        return [str(r.event) for r in self.responses if channel is None or r.channel == channel]

    def having(self, event: str, channel: str | None = None) -> list[Response]:
        return [
            r
            for r in self.responses
            if r.event == event and (channel is None or r.channel == channel)
        ]


@contextlib.asynccontextmanager
async def running(stream: Stream) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``stream.arun()`` in the background; stop it and check it ended cleanly."""
    task = asyncio.get_running_loop().create_task(stream.arun())
    try:
        yield task
    finally:
        # Bounded: a stream that cannot stop is a failure of its own, not a hung suite.
        await asyncio.wait_for(stream.aclose(), 15)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
