"""Running a ``PushReceiver`` until its connection closes: shared by both push transports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from .receive import PushReceiver

__all__ = ["failure_slot", "push_until_closed"]


def failure_slot() -> tuple[asyncio.Future[BaseException], Callable[[BaseException], None]]:
    """A future holding the path's first failure, and the ``on_failure`` callback that sets it."""
    failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def on_failure(exc: BaseException) -> None:
        if not failed.done():
            failed.set_result(exc)

    return failed, on_failure


async def push_until_closed(
    receiver: PushReceiver,
    early: Iterable[bytes | str],
    closed: asyncio.Future[Any],
    failed: asyncio.Future[BaseException],
) -> None:
    """Feed ``early`` frames, then let ``receiver`` run until ``closed`` or ``failed``.

    Frames that arrived before the close are still delivered; the path's failure is raised.
    Afterwards the receiver drops whatever still arrives while the connection closes.
    """
    try:
        receiver.feed_later(early)
        either: set[asyncio.Future[Any]] = {closed, failed}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if failed.done():
            raise failed.result()
        drain = receiver.drain_task
        if drain is not None and not drain.done():
            await drain
        if failed.done():
            raise failed.result()
    finally:
        receiver.close()
        drain = receiver.drain_task
        if drain is not None and not drain.done():
            drain.cancel()
