"""The local order book: best bid and ask, spread and depth, kept by the stream, which
resynchronises the book by itself after a gap or a version change.

Stops after ``--count`` book updates seen in sync::

    python examples/order_book.py --market btcusdt --depth 20 --count 20
"""

from __future__ import annotations

import argparse
import contextlib
from decimal import Decimal

from maicoin.ws import BookResync, Channel, Response, Stream, Subscription


def main() -> None:
    parser = argparse.ArgumentParser(description="Watch a local order book.")
    parser.add_argument("--market", default="btcusdt")
    parser.add_argument("--depth", type=int, default=20, choices=(1, 5, 10, 20, 50))
    parser.add_argument("--count", type=int, default=20, help="stop after this many updates")
    args = parser.parse_args()

    def on_resync(resync: BookResync) -> None:
        # resync.reason: "gap", "version_changed" or "invalid_level"
        print(f"resync {resync.market}: {resync.reason} after update {resync.last_update_id}")

    stream = Stream(on_book_resync=on_resync)
    stream.subscribe([Subscription(channel=Channel.BOOK, market=args.market, depth=args.depth)])
    seen = 0

    def on_response(response: Response) -> None:
        nonlocal seen
        if seen >= args.count:  # frames already read when stop() was called
            return
        if response.channel != "book" or response.market != args.market:
            return
        book = stream.books[args.market]  # the live book, updated in place
        if not book.synced:
            print(f"{args.market}: waiting for a snapshot")
            return
        bid, ask = book.best_bid, book.best_ask
        if bid is None or ask is None:
            print(f"{args.market} #{book.last_update_id}: one side is empty")
        else:
            # Exact decimal strings for money, floats for quick arithmetic.
            spread = Decimal(ask.price_text) - Decimal(bid.price_text)
            print(
                f"{args.market} #{book.last_update_id} {response.event}: "
                f"bid {bid.price_text} x {bid.volume_text} | ask {ask.price_text} x "
                f"{ask.volume_text} | spread {spread} | mid {book.mid:.6g} | "
                f"levels {book.bid_count}/{book.ask_count}"
            )
        seen += 1
        if seen >= args.count:
            stream.stop()

    stream.add_handler(on_response)
    with contextlib.suppress(KeyboardInterrupt):
        stream.run()
    top = stream.books[args.market].bids(5)
    print(f"best bids at the end: {[level.price_text for level in top]}")
    print(f"resyncs: {stream.stats.resyncs}")


if __name__ == "__main__":
    main()
