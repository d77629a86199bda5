"""Public channels: the guide's first example, stopping by itself after ``--count`` responses.

Connects to ``MAX_WS_URI`` (the exchange when unset)::

    python examples/public_channels.py --count 20
    MAX_WS_URI=ws://127.0.0.1:8765/ws python examples/public_channels.py   # maicoin-ws simulate
"""

from __future__ import annotations

import argparse
import contextlib

from maicoin.ws import Channel, Response, Stream, Subscription


def main() -> None:
    parser = argparse.ArgumentParser(description="Print public market data.")
    parser.add_argument("--count", type=int, default=20, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    args = parser.parse_args()

    stream = Stream()
    stream.subscribe(
        [
            Subscription(channel=Channel.BOOK, market=args.market, depth=5),
            Subscription(channel=Channel.TICKER, market=args.market),
            Subscription(channel=Channel.TRADE, market=args.market),
            Subscription(channel=Channel.KLINE, market=args.market),
            Subscription(channel=Channel.MARKET_STATUS),
        ]
    )
    received = 0

    def on_response(response: Response) -> None:
        nonlocal received
        if received >= args.count:  # frames already read when stop() was called
            return
        print(response.model_dump(exclude_none=True))
        received += 1
        if received >= args.count:
            stream.stop()

    stream.add_handler(on_response)
    with contextlib.suppress(KeyboardInterrupt):
        stream.run()
    print(f"received {received} responses")


if __name__ == "__main__":
    main()
