"""Reconnects and heartbeat options: a ``ReconnectPolicy`` and the lifecycle callbacks.

Every lost connection is followed by a new one after the policy's backoff, with the
subscriptions sent again; the callbacks show it happening. Stops after ``--count``
responses::

    python examples/reconnect_policy.py --count 50
"""

from __future__ import annotations

import argparse
import sys

from maicoin.ws import Channel, ReconnectPolicy, Response, Stream, Subscription


def main() -> None:
    parser = argparse.ArgumentParser(description="Reconnect policy and lifecycle callbacks.")
    parser.add_argument("--count", type=int, default=50, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    parser.add_argument("--max-retries", type=int, default=10)
    parser.add_argument("--base-delay", type=float, default=1.0)
    parser.add_argument("--max-delay", type=float, default=30.0)
    parser.add_argument("--jitter", type=float, default=1.0)
    args = parser.parse_args()

    def on_connected(_: BaseException | None) -> None:
        print(f"connected (connection {stream.stats.connections})")

    def on_disconnected(exc: BaseException | None) -> None:
        print(f"disconnected: {exc!r}")

    def on_reconnecting(exc: BaseException | None) -> None:
        print(f"reconnecting after {exc!r}" if exc else "reconnecting after a close")

    def on_permanent_failure(exc: BaseException | None) -> None:
        print(f"giving up: {exc!r}")

    stream = Stream(
        reconnect_policy=ReconnectPolicy(
            max_retries=args.max_retries,
            base_delay=args.base_delay,
            max_delay=args.max_delay,
            jitter=args.jitter,
        ),
        ping_interval=20,
        ping_timeout=20,
        close_timeout=5,
        on_connected=on_connected,
        on_disconnected=on_disconnected,
        on_reconnecting=on_reconnecting,
        on_permanent_failure=on_permanent_failure,
    )
    stream.subscribe(
        [
            Subscription(channel=Channel.BOOK, market=args.market, depth=5),
            Subscription(channel=Channel.TICKER, market=args.market),
        ]
    )
    received = 0

    def on_response(response: Response) -> None:
        nonlocal received
        if received >= args.count:  # frames already read when stop() was called
            return
        received += 1
        if received >= args.count:
            stream.stop()

    stream.add_handler(on_response)
    status = 0
    try:
        stream.run()
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # reconnecting was exhausted: already reported by the callback
        print(f"stopped: {exc!r}", file=sys.stderr)
        status = 1
    stats = stream.stats
    print(
        f"responses={received} connections={stats.connections} "
        f"reconnects={stats.reconnects} resyncs={stats.resyncs}"
    )
    sys.exit(status)


if __name__ == "__main__":
    main()
