"""Queue dispatch: responses go to ``stream.response_queue`` for your own consumer; handlers
are ignored. A bounded queue holds the stream back when the consumer falls behind.

    python examples/dispatch_queue.py --count 20
"""

from __future__ import annotations

import argparse
import asyncio

from maicoin.ws import Channel, Response, Stream, Subscription


async def consume(count: int, market: str) -> int:
    queue: asyncio.Queue[Response] = asyncio.Queue(maxsize=100)
    stream = Stream(dispatch="queue", response_queue=queue)
    stream.subscribe(
        [
            Subscription(channel=Channel.TICKER, market=market),
            Subscription(channel=Channel.TRADE, market=market),
            Subscription(channel=Channel.BOOK, market=market, depth=5),
        ]
    )
    runner = asyncio.create_task(stream.arun())
    consumed = 0
    try:
        while consumed < count:
            getter = asyncio.ensure_future(queue.get())
            # Wait for a response, or for the stream to end (it raises what ended it).
            await asyncio.wait({getter, runner}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                runner.result()
                break
            response = getter.result()
            consumed += 1
            print(f"{consumed} {response.event} {response.channel} (queued: {queue.qsize()})")
    finally:
        await stream.aclose()
    return consumed


def main() -> None:
    parser = argparse.ArgumentParser(description="Queue dispatch: your own consumer.")
    parser.add_argument("--count", type=int, default=20, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    args = parser.parse_args()
    try:
        consumed = asyncio.run(consume(args.count, args.market))
    except KeyboardInterrupt:
        return
    print(f"consumed {consumed} responses")


if __name__ == "__main__":
    main()
