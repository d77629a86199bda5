"""Blocking use from synchronous code: ``ThreadedStream`` runs the stream's event loop in a
background thread and hands its responses over in order. Ctrl-C, ``break`` out of the
``with`` block or the end of the stream stop everything cleanly.

    python examples/threaded_stream.py --count 30
    python examples/threaded_stream.py --drop-oldest   # a slow reader loses the oldest
"""

from __future__ import annotations

import argparse
import sys

from maicoin.ws import Channel, Stream, Subscription
from maicoin.ws.threaded import ThreadedStream


def main() -> None:
    parser = argparse.ArgumentParser(description="Read a stream from synchronous code.")
    parser.add_argument("--count", type=int, default=30, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    parser.add_argument(
        "--drop-oldest",
        action="store_true",
        help="when the reader falls behind, drop the oldest responses instead of waiting",
    )
    args = parser.parse_args()

    stream = Stream()
    stream.subscribe(
        [
            Subscription(channel=Channel.TICKER, market=args.market),
            Subscription(channel=Channel.BOOK, market=args.market, depth=5),
        ]
    )
    overflow = "drop_oldest" if args.drop_oldest else "block"
    read = 0
    try:
        with ThreadedStream(stream, maxsize=1000, overflow=overflow) as responses:
            for response in responses:
                read += 1
                book = stream.books[args.market]
                best = book.best_bid.price_text if book.best_bid else "-"
                print(f"{read} {response.event} {response.channel} best bid {best}")
                if read >= args.count:
                    break
            dropped = responses.dropped
    except KeyboardInterrupt:
        return
    except Exception as exc:  # what ended the stream (bad endpoint, refused credentials, ...)
        sys.exit(f"threaded_stream: {exc!r}")
    print(f"read {read} responses, dropped {dropped}")


if __name__ == "__main__":
    main()
