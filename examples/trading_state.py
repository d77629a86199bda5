"""Trading state: the open orders, balances and own trades the stream keeps for the account.

Reads ``MAX_API_KEY`` and ``MAX_API_SECRET`` (and ``MAX_WS_URI``), waits until the three
caches hold their snapshots, prints them, then prints every order change for ``--duration``
seconds next to the number of open orders the stream holds with that change applied::

    MAX_API_KEY=... MAX_API_SECRET=... python examples/trading_state.py --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from maicoin.ws import AuthenticationError, Response, Stream

SYNC_TIMEOUT = 10.0


def print_account(stream: Stream) -> None:
    """The account as the stream holds it now."""
    for order in stream.orders.values():
        print(
            f"open {order.order_id} {order.market} {order.side} {order.volume} @ {order.price}"
            f" ({order.executed_volume} done)"
        )
    for currency, balance in sorted(stream.balances.items()):
        print(f"balance {currency} available {balance.available} locked {balance.locked}")
    for trade in stream.trades(limit=5):
        print(f"trade {trade.id} {trade.market} {trade.side} {trade.volume} @ {trade.price}")


async def watch(stream: Stream, duration: float) -> None:
    synced = asyncio.Event()

    def on_response(response: Response) -> None:
        # Inline mode: the caches already hold this response when a handler sees it.
        if stream.orders.synced and stream.balances.synced and stream.trades.synced:
            synced.set()
        if response.event == "order_update":
            for order in response.orders or []:
                print(f"order {order.order_id} {order.state}: {len(stream.orders)} open")

    stream.add_handler(on_response)
    async with stream:
        async with asyncio.timeout(SYNC_TIMEOUT):
            await synced.wait()
        print(f"synced: {len(stream.orders)} open orders, {len(stream.balances)} currencies")
        print_account(stream)
        await asyncio.sleep(duration)
    print(f"after {duration:g} s: {len(stream.orders)} open orders")


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep and print the account's trading state.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to watch")
    args = parser.parse_args()
    try:
        stream = Stream.from_env()
    except ValueError as exc:  # MAX_API_KEY or MAX_API_SECRET missing
        sys.exit(f"trading_state: {exc}")
    try:
        asyncio.run(watch(stream, args.duration))
    except AuthenticationError as exc:
        sys.exit(f"trading_state: {exc}")
    except TimeoutError:
        sys.exit(f"trading_state: the account snapshots did not come within {SYNC_TIMEOUT:g} s")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
