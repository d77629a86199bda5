"""Async usage: ``async with`` a stream and ``async for`` its responses, changing the
subscriptions while connected. Stops after ``--count`` responses::

    python examples/async_usage.py --count 30
"""

from __future__ import annotations

import argparse
import asyncio

from maicoin.ws import Channel, Stream, Subscription


async def watch(count: int, market: str) -> int:
    ticker = Subscription(channel=Channel.TICKER, market=market)
    received = 0
    switched = False
    async with Stream() as stream:  # connects in the background
        stream.subscribe([ticker])
        async for response in stream:
            received += 1
            fields = (response.event, response.channel, response.market)
            print(received, *(field for field in fields if field))
            if response.channel == "ticker" and not switched:
                # Live changes: sent at once on the open connection, replayed on reconnects.
                stream.unsubscribe([ticker])
                stream.subscribe(
                    [
                        Subscription(channel=Channel.TRADE, market=market),
                        Subscription(channel=Channel.BOOK, market=market, depth=1),
                    ]
                )
                switched = True
            if received >= count:
                break
    # Leaving the block stopped the stream (await stream.aclose()).
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description="async with / async for a stream.")
    parser.add_argument("--count", type=int, default=30, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    args = parser.parse_args()
    try:
        received = asyncio.run(watch(args.count, args.market))
    except KeyboardInterrupt:
        return
    print(f"received {received} responses")


if __name__ == "__main__":
    main()
