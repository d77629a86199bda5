"""Prometheus metrics of a stream: ``maicoin_ws_*`` series on ``http://127.0.0.1:PORT/metrics``.

Needs the ``metrics`` extra (``pip install 'maicoin-ws[metrics]'``). Runs for ``--count``
responses, then prints what a scrape of its own endpoint returns::

    python examples/prometheus_metrics.py --port 9108 --count 50
"""

from __future__ import annotations

import argparse
import urllib.request

from maicoin.ws import Channel, Response, Stream, Subscription
from maicoin.ws.metrics import serve_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a stream's metrics to Prometheus.")
    parser.add_argument("--port", type=int, default=9108, help="0 picks a free port")
    parser.add_argument("--count", type=int, default=50, help="stop after this many responses")
    parser.add_argument("--market", default="btcusdt")
    args = parser.parse_args()

    stream = Stream()
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
    server = serve_metrics(stream, args.port, name=args.market)
    print(f"metrics on {server.url}")
    try:
        stream.run()
        with urllib.request.urlopen(server.url, timeout=10) as reply:
            exposition = reply.read().decode()
    except KeyboardInterrupt:
        return
    finally:
        server.close()
    for line in exposition.splitlines():
        if line.startswith("maicoin_ws_"):
            print(line)


if __name__ == "__main__":
    main()
