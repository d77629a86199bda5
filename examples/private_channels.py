"""Private channels: your orders, trades and balances, authenticated from the environment.

Reads ``MAX_API_KEY`` and ``MAX_API_SECRET`` (and ``MAX_WS_URI``); stops after ``--count``
responses (the default is what an idle account gets at once: the auth reply and the order
and account snapshots)::

    MAX_API_KEY=... MAX_API_SECRET=... python examples/private_channels.py --count 10
"""

from __future__ import annotations

import argparse
import sys

from maicoin.ws import AuthenticationError, Channel, Response, Stream, Subscription


def describe(response: Response) -> str:
    """One line about a private response."""
    if response.errors:
        return f"{response.event}: {'; '.join(response.errors)}"
    parts = [str(response.event)]
    for order in response.orders or []:
        parts.append(
            f"order {order.order_id} {order.market} {order.side} {order.state} "
            f"{order.volume} @ {order.price}"
        )
    for trade in response.trades or []:
        parts.append(f"trade {trade.id} {trade.market} {trade.side} {trade.volume} @ {trade.price}")
    for balance in response.balances or []:
        parts.append(f"{balance.currency} available {balance.available} locked {balance.locked}")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print private account events.")
    parser.add_argument("--count", type=int, default=3, help="stop after this many responses")
    args = parser.parse_args()

    try:
        stream = Stream.from_env()
    except ValueError as exc:  # MAX_API_KEY or MAX_API_SECRET missing
        sys.exit(f"private_channels: {exc}")
    stream.subscribe(
        [
            Subscription(channel=Channel.ORDER),
            Subscription(channel=Channel.TRADE_UPDATE),
            Subscription(channel=Channel.BALANCE_UPDATE),
        ]
    )
    received = 0

    def on_response(response: Response) -> None:
        nonlocal received
        if received >= args.count:  # frames already read when stop() was called
            return
        print(describe(response))
        received += 1
        if received >= args.count:
            stream.stop()

    stream.add_handler(on_response)
    try:
        stream.run()
    except AuthenticationError as exc:
        sys.exit(f"private_channels: {exc}")
    except KeyboardInterrupt:
        pass
    print(f"received {received} responses")


if __name__ == "__main__":
    main()
