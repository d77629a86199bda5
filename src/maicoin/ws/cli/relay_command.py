"""The ``relay`` command: one upstream connection to MAX served to local consumers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from websockets.exceptions import WebSocketException

from .._io.connect import checked_uri, is_redis_uri
from ..errors import AuthenticationError, HandshakeError
from ..reconnect import ReconnectPolicy
from ..relay import FrameSink, Relay
from ..stream import MAX_WS_URI
from .metrics_option import stream_metrics
from .runner import CommandError, Interrupt, UsageError, run_command
from .specs import is_private

__all__ = ["relay_command"]


def relay_command(args: argparse.Namespace) -> int:
    """``relay``: serve the MAX protocol on ``--host:--port`` until Ctrl-C (or --duration)."""
    if is_private(args.subscriptions):
        raise UsageError(
            "private channels (order, trade_update, balance_update) are not SUBSCRIPTIONs of "
            "the relay: with --private it relays the account to consumers that authenticate"
        )
    api_key, api_secret = _credentials(args)
    uri = args.uri if args.uri is not None else (os.environ.get("MAX_WS_URI") or MAX_WS_URI)
    try:
        checked_uri(uri, source="--uri" if args.uri is not None else "MAX_WS_URI")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    sinks = [] if args.redis is None else [_redis_publisher(args)]
    relay = Relay(
        args.subscriptions,
        sinks=sinks,
        uri=uri,
        host=args.host,
        port=args.port,
        max_buffer=args.max_buffer,
        api_key=api_key,
        api_secret=api_secret,
        private=args.private,
        reconnect_policy=ReconnectPolicy(max_retries=args.retries),
    )

    async def run(interrupt: Interrupt) -> int:
        try:
            await relay.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None
        # The key stays out of the banner: logs are often shared.
        scope = " (and the account, to consumers authenticated as it)" if relay.private else ""
        print(
            f"maicoin-ws relay: relaying {uri} on {relay.uri}{scope}", file=sys.stderr, flush=True
        )
        interrupt.on_stop(relay.stream.stop)
        timer = None
        if args.duration is not None:
            timer = asyncio.get_running_loop().call_later(args.duration, relay.stream.stop)
        try:
            await relay.serve_forever()
        except (AuthenticationError, HandshakeError) as exc:
            raise CommandError(str(exc)) from None
        except (OSError, WebSocketException) as exc:
            raise CommandError(f"connection to {uri} lost: {exc}") from None
        finally:
            if timer is not None:
                timer.cancel()
        print(
            f"maicoin-ws relay: served {relay.stats.consumers_total} consumer(s), "
            f"{relay.stats.frames_relayed} frames relayed, "
            f"{relay.stats.slow_consumers} cut off as too slow",
            file=sys.stderr,
        )
        return interrupt.exit_status(limited=args.duration is not None)

    with stream_metrics(relay.stream, args):  # the upstream stream's series
        return run_command(run)


def _credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """MAX_API_KEY and MAX_API_SECRET for --private (both needed); none without it."""
    if not args.private:
        return None, None
    api_key = os.environ.get("MAX_API_KEY") or None
    api_secret = os.environ.get("MAX_API_SECRET") or None
    given = (("MAX_API_KEY", api_key), ("MAX_API_SECRET", api_secret))
    missing = [name for name, value in given if value is None]
    if missing:
        raise UsageError(
            f"--private needs MAX_API_KEY and MAX_API_SECRET in the environment: "
            f"{' and '.join(missing)} not set"
        )
    return api_key, api_secret


def _redis_publisher(args: argparse.Namespace) -> FrameSink:
    if not is_redis_uri(args.redis):
        raise UsageError(f"--redis must be a redis:// or rediss:// URL, got {args.redis!r}")
    try:
        from ..relay.redis_publisher import RedisPublisher
    except ImportError:
        raise UsageError("--redis needs redis-py: pip install 'maicoin-ws[redis]'") from None
    return RedisPublisher(args.redis, prefix=args.redis_prefix, maxlen=args.redis_maxlen)
