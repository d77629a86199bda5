"""Helpers for relay tests: consumers (real Streams) whose books are checked against the truth."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from streamkit import FAST_RECONNECT, Recorder, eventually, running

from maicoin.ws import BookResync, Channel, Response, Stream, Subscription
from maicoin.ws.testing import MaxSimulator


def book_subscriptions(depths: Mapping[str, int]) -> list[Subscription]:
    return [Subscription(channel=Channel.BOOK, market=m, depth=d) for m, d in depths.items()]


class Consumer:
    """A Stream on the relay that checks, after each book frame, its book against the truth."""

    def __init__(
        self, uri: str, sim: MaxSimulator, depths: Mapping[str, int], **kwargs: Any
    ) -> None:
        self.sim, self.depths = sim, dict(depths)
        self.resyncs: list[BookResync] = []
        self.recorder = Recorder()
        self.checked = 0
        self.mismatches: list[str] = []
        self.stream = Stream(
            uri=uri, reconnect_policy=FAST_RECONNECT, on_book_resync=self.resyncs.append, **kwargs
        )
        self.stream.add_handler(self._check)
        self.stream.add_handler(self.recorder)

    def _check(self, response: Response) -> None:
        if response.channel != Channel.BOOK or response.market is None:
            return
        book = self.stream.books[response.market]
        if not book.synced:
            return
        truth = self.sim.book_view(
            response.market, self.depths[response.market], update_id=book.last_update_id
        )
        del truth["version"]
        ours = {
            "asks": [[lvl.price_text, lvl.volume_text] for lvl in book.asks()],
            "bids": [[lvl.price_text, lvl.volume_text] for lvl in book.bids()],
            "last_update_id": book.last_update_id,
        }
        self.checked += 1
        if ours != truth:
            self.mismatches.append(f"{response.market} at li={book.last_update_id}")

    def synced(self) -> bool:
        books = self.stream.books
        return len(books) == len(self.depths) and all(book.synced for book in books.values())

    def caught_up(self) -> bool:
        """Every book synced at the last update id the simulator sent the relay."""
        if not self.synced() or len(self.sim.connections) != 1:
            return False
        views = self.sim.connections[0].book_views
        return all(
            market in views and book.last_update_id == views[market].last_update_id
            for market, book in self.stream.books.items()
        )


@contextlib.asynccontextmanager
async def consumers_running(consumers: list[Consumer]) -> AsyncIterator[None]:
    """Run every consumer's stream; stop them all (bounded) on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        for consumer in consumers:
            await stack.enter_async_context(running(consumer.stream))
        yield


async def all_checked(consumers: list[Consumer], frames: int, within: float = 15.0) -> None:
    """Wait until every consumer is synced and has checked ``frames`` more book frames."""
    await eventually(lambda: all(c.synced() for c in consumers), within=within, what="synced")
    targets = [c.checked + frames for c in consumers]
    await eventually(
        lambda: all(c.checked >= t for c, t in zip(consumers, targets, strict=True)),
        within=within,
        what=f"{frames} more checked book frames on every consumer",
    )
