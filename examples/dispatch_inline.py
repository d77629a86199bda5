"""Inline dispatch (the default): every handler runs, in registration order, before the next
frame is read; async handlers are awaited. Order is strict, and a handler sees the local
order book with its own frame already applied.

    python examples/dispatch_inline.py --count 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from maicoin.ws import Channel, Response, Stream, Subscription


def main() -> None:
    parser = argparse.ArgumentParser(description="Inline dispatch: strict order.")
    parser.add_argument("--count", type=int, default=30, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    args = parser.parse_args()

    stream = Stream(dispatch="inline")
    stream.subscribe(
        [
            Subscription(channel=Channel.BOOK, market=args.market, depth=5),
            Subscription(channel=Channel.TRADE, market=args.market),
        ]
    )
    last_update_id: int | None = None
    in_order = True
    received = 0

    def check_order(response: Response) -> None:
        """Sync handler, called first: book updates must continue one another."""
        nonlocal last_update_id, in_order
        if response.channel != "book":
            return
        if response.event == "update" and last_update_id is not None:
            in_order = in_order and response.first_update_id == last_update_id + 1
        last_update_id = response.last_update_id

    async def report(response: Response) -> None:
        """Async handler, awaited before the next frame is read."""
        nonlocal received
        if received >= args.count:  # frames already read when stop() was called
            return
        await asyncio.sleep(0)  # stands for real async work (a database write, an order)
        received += 1
        line = f"{received} {response.event} {response.channel}"
        if response.channel == "book":
            book = stream.books[args.market]
            # Inline: the book already holds this very frame.
            line += f" update {response.last_update_id}, book at {book.last_update_id}"
        print(line)
        if received >= args.count:
            stream.stop()

    stream.add_handler(check_order)
    stream.add_handler(report)
    with contextlib.suppress(KeyboardInterrupt):
        stream.run()
    print(f"book updates in order: {in_order}")


if __name__ == "__main__":
    main()
