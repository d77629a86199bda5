"""Task dispatch: each async handler call becomes its own task, so a slow handler never holds
up the receive loop (order between calls is not guaranteed). A failing handler goes to
``on_handler_error`` instead of stopping the stream.

    python examples/dispatch_task.py --count 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from maicoin.ws import Channel, Response, Stream, Subscription


def main() -> None:
    parser = argparse.ArgumentParser(description="Task dispatch: slow handlers in tasks.")
    parser.add_argument("--count", type=int, default=20, help="stop after this many handled")
    parser.add_argument("--market", default="btcusdt")
    parser.add_argument("--work", type=float, default=0.2, help="seconds each handler takes")
    args = parser.parse_args()

    def on_handler_error(exc: BaseException, response: Response) -> None:
        print(f"handler error: {exc!r} (on a {response.event} response)")

    # At most max_pending_tasks handler tasks run at once; past that the stream waits.
    stream = Stream(dispatch="task", on_handler_error=on_handler_error, max_pending_tasks=1000)
    stream.subscribe(
        [
            Subscription(channel=Channel.BOOK, market=args.market, depth=5),
            Subscription(channel=Channel.TICKER, market=args.market),
            Subscription(channel=Channel.TRADE, market=args.market),
        ]
    )
    running = most_at_once = handled = 0

    async def slow_handler(response: Response) -> None:
        nonlocal running, most_at_once, handled
        running += 1
        most_at_once = max(most_at_once, running)
        try:
            await asyncio.sleep(args.work)  # stands for slow I/O
        finally:
            running -= 1
        if handled >= args.count:  # other calls that finished while the stream stopped
            return
        handled += 1
        print(f"handled {response.event} {response.channel} ({handled})")
        if handled >= args.count:
            stream.stop()  # handler tasks still running are cancelled

    def buggy_handler(response: Response) -> None:
        if response.event == "subscribed":
            raise RuntimeError("a bug in a handler")

    stream.add_handler(slow_handler)
    stream.add_handler(buggy_handler)
    with contextlib.suppress(KeyboardInterrupt):
        stream.run()
    print(f"handled {handled}; at most {most_at_once} handlers at once")
    print(f"handler errors: {stream.stats.handler_errors}")


if __name__ == "__main__":
    main()
