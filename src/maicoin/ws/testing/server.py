"""``MaxSimulator``: a MAX WebSocket server on loopback, with ground truth and fault switches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request, Response

from . import frames
from .auth import NonceLedger, check_auth
from .book import DEFAULT_HISTORY, BookState
from .bookview import BookView, WireStyle
from .catalog import market_spec
from .clock import Clock, now_ms
from .connection import ReceivedRequest, SimConnection
from .faults import Faults, HandshakeRefusal
from .frames import INVALID_ACTION, INVALID_JSON, RequestError
from .market import Market
from .private import Account, PrivateEvent, reordered
from .topics import Refusal, Topic, parse_topics

logger = logging.getLogger("maicoin.ws.testing")

MARKET_STATUSES = ("active", "suspended", "cancel-only")
CLOSE_TIMEOUT = 2.0
"""Seconds a closing handshake may take before the TCP connection is dropped."""
LIVE_DEFLATE = ServerPerMessageDeflateFactory(
    server_no_context_takeover=True, client_no_context_takeover=True
)
"""permessage-deflate as the live exchange negotiates it (when the client offers it)."""


class MaxSimulator:
    """A MAX exchange WebSocket server for tests and offline bots.

    ``async with MaxSimulator() as sim:`` listens on ``sim.uri`` (``ws://127.0.0.1:PORT/ws``)
    and speaks the MAX protocol: ``sub``/``unsub``/``auth`` with real HMAC checks, error
    codes, random-walk market data on every public channel and private events for
    authenticated connections. The market evolution is a function of ``seed`` and the number
    of steps only. Every ``update_interval`` seconds each market takes one step (None: only
    when ``step()`` is called). ``clock`` (Unix seconds) drives ``T``, the nonce window and
    candle boundaries. ``private_every``/``pool_quota_every``: steps between simulated
    trading changes for each authenticated key (one ``simulate_trading`` change: an order
    rested, filled in part or in full, or cancelled, in either wallet) and between pool
    quota changes (None: never). ``history``:
    how many past update ids per market ``true_book(market, update_id)`` can rebuild.

    Errors: E-1004 invalid action, E-1005 invalid JSON (or not an object), E-1006 nonce more
    than 30 s from the server clock (or not an integer), E-1007 unknown key or bad signature,
    E-1012 nonce already used by that key (on any connection), and two codes of the
    simulator's own: E-1100 invalid subscription (unknown channel/market/currency, a depth
    other than 1, 5, 10, 20, 50, an unknown resolution, a missing or mis-keyed list) and
    E-1101 invalid auth filter. Every bad request gets an error frame; none closes the
    connection.

    By default it behaves as the live exchange does where that differs from the
    documentation (as probed on the live service); each behaviour has a switch:

    - ``idle_timeout``: a connection with no frame either way for this many seconds is
      dropped without a close frame (the client sees 1006); the server never pings, so a
      quiet client must (a protocol ping or the application ping). None: never.
    - ``snapshot_bids_ascending``: snapshot bids come worst first (asks stay best first).
    - ``shuffle_updates``: the levels of an update come in a seeded random order, not sorted.
    - ``respell_prices``: the probability that a level an update removes is spelt another
      way than the book holds it (``"2750938.0"`` for ``"2750938"``): a book keyed by the
      string keeps a ghost level. Only removals are respelt, so the levels a book holds keep
      their one spelling and tests can compare texts. 0 disables.
    - ``race_min_markets``, ``race_probability``, ``race_markets``: subscribe races. A
      ``sub`` request with at least ``race_min_markets`` books races with
      ``race_probability`` (seeded): ``race_markets`` (low, high) of its books get
      the update of the latest id before a snapshot one id older, so the first update after
      the snapshot has ``fi`` = snapshot ``li`` + 2. ``SimConnection.raced`` lists them.
      None: never.
    - ``compression``: permessage-deflate (``server_no_context_takeover;
      client_no_context_takeover``) when the client offers it, plain frames otherwise.
    - ``app_ping``: ``{"action": "ping", "id": x}`` is answered ``{"e": "pong", "i": x, "T"}``
      (False: E-1004, as for any unknown action).
    - ``live_errors``: every error frame carries ``i`` (``""`` when the request had none) and
      ``"co": 0``; a text that is not a JSON object is exactly ``E-1005: invalid json``; a
      refused subscription gets a plain-text reason without a code (``market nopeusdt does
      not exist``, ``depth 30 is not supported``, ``channel nope does not exist``). A
      ``sub``/``unsub`` mixing good and bad objects serves the good ones: its ``subscribed``
      reply echoes only those, then one error frame with the request's id lists one reason
      per refused object, in request order (then come the snapshots). False: the documented
      style, E-1100 with a detail, and the first bad object refuses the whole request.

    One switch goes beyond what was probed: ``reorder_private`` (default 0) is the
    probability that a private update frame is held back and sent after the rest of the
    frames one change causes (seeded), so a client sees an order's ``wait`` after its
    ``done`` or a balance after a newer one, stale by ``updated_at``.
    """

    def __init__(
        self,
        *,
        markets: Iterable[str] = ("btcusdt", "ethusdt"),
        seed: int = 0,
        api_keys: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        update_interval: float | None = 0.05,
        clock: Clock | None = None,
        private_every: int | None = 20,
        pool_quota_every: int | None = 20,
        history: int = DEFAULT_HISTORY,
        faults: Faults | None = None,
        path: str = "/ws",
        idle_timeout: float | None = 60.0,
        app_ping: bool = True,
        live_errors: bool = True,
        snapshot_bids_ascending: bool = True,
        shuffle_updates: bool = True,
        respell_prices: float = 0.05,
        race_min_markets: int | None = 20,
        race_probability: float = 2 / 3,
        race_markets: tuple[int, int] = (3, 5),
        compression: bool = True,
        reorder_private: float = 0.0,
    ) -> None:
        names = list(markets)
        if not names:
            raise ValueError("markets must name at least one market")
        if len(set(names)) != len(names):
            raise ValueError(f"markets must not repeat: {names!r}")
        if update_interval is not None and not update_interval > 0:
            raise ValueError(f"update_interval must be positive or None, got {update_interval!r}")
        for name, every in (
            ("private_every", private_every),
            ("pool_quota_every", pool_quota_every),
        ):
            if every is not None and (type(every) is not int or every < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {every!r}")
        if idle_timeout is not None and not (idle_timeout > 0 and math.isfinite(idle_timeout)):
            raise ValueError(f"idle_timeout must be positive or None, got {idle_timeout!r}")
        for name, probability in (
            ("respell_prices", respell_prices),
            ("race_probability", race_probability),
            ("reorder_private", reorder_private),
        ):
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {probability!r}")
        if race_min_markets is not None and (
            type(race_min_markets) is not int or race_min_markets < 1
        ):
            raise ValueError(
                f"race_min_markets must be a positive integer or None, got {race_min_markets!r}"
            )
        low, high = race_markets
        if not (type(low) is int and type(high) is int and 1 <= low <= high):
            raise ValueError(
                f"race_markets must be (low, high) with 1 <= low <= high, got {race_markets!r}"
            )
        self.seed = seed
        self.api_keys: dict[str, str] = dict({"key": "secret"} if api_keys is None else api_keys)
        self.host = host
        self.path = path
        self.update_interval = update_interval
        self.clock: Clock = time.time if clock is None else clock
        self.private_every = private_every
        self.pool_quota_every = pool_quota_every
        self.faults = Faults() if faults is None else faults
        """Faults every new connection starts with (copied at its handshake)."""
        self.idle_timeout = idle_timeout
        """Seconds without a frame either way before a connection is dropped (read when it
        opens; None: never)."""
        self.app_ping = app_ping
        self.live_errors = live_errors
        self.book_style = WireStyle(
            bids_ascending=snapshot_bids_ascending, shuffle=shuffle_updates, respell=respell_prices
        )
        """How book frames lay out their levels (read when a book is subscribed)."""
        self.race_min_markets = race_min_markets
        self.race_probability = race_probability
        self.race_markets = (low, high)
        self._race_rng = random.Random(f"{seed}:races")
        self.compression = compression
        self.reorder_private = reorder_private
        """The probability that a private update is held back behind the rest of its batch."""
        self._reorder_rng = random.Random(f"{seed}:reorder_private")
        start_ms = self._now_ms()
        self.markets: dict[str, Market] = {
            name: Market(market_spec(name), seed=seed, now_ms=start_ms, history=history)
            for name in names
        }
        self.currencies = sorted(
            {c for m in self.markets.values() for c in (m.spec.base, m.spec.quote)}
        )
        self._quota_rng = random.Random(f"{seed}:pool_quota")
        self._pool_quota: dict[str, tuple[Decimal, int]] = {
            cu: (Decimal(self._quota_rng.randrange(1_000, 1_000_000)), start_ms)
            for cu in self.currencies
        }
        self._accounts: dict[str, Account] = {}
        self._ledger = NonceLedger()
        self._refusal: HandshakeRefusal | None = None
        self._port = port
        self._server: Server | None = None
        self._stepper: asyncio.Task[None] | None = None
        self._steps = 0
        self._next_connection_id = 0
        self._change: asyncio.Future[None] | None = None
        self.connections: list[SimConnection] = []
        """Live connections, oldest first."""
        self.all_connections: list[SimConnection] = []
        """Every connection accepted since start, live or closed, oldest first."""
        self.requests: list[ReceivedRequest] = []
        """Every message received on any connection, in arrival order."""
        self.handshakes = 0
        """Opening handshakes attempted (refused ones included)."""
        self.refused_handshakes = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (and stepping the markets when ``update_interval`` is set)."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = await serve(
            self._serve_connection,
            self.host,
            self._port,
            process_request=self._process_request,
            ping_interval=None,  # MAX expects the client to ping
            compression=None,
            extensions=[LIVE_DEFLATE] if self.compression else None,
            close_timeout=CLOSE_TIMEOUT,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        if self.update_interval is not None:
            self._stepper = asyncio.get_running_loop().create_task(self._run_steps())
        logger.info("MAX simulator listening on %s", self.uri)

    async def stop(self) -> None:
        """Close every connection (code 1001) and stop listening."""
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        """Run until cancelled (for a simulator in its own process)."""
        if self._server is None:
            await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The listening port (the ephemeral one chosen when started with port 0)."""
        return self._port

    @property
    def uri(self) -> str:
        return f"ws://{self.host}:{self._port}{self.path}"

    # -- market evolution -------------------------------------------------------------------

    def step(self, count: int = 1) -> None:
        """Advance every market ``count`` steps now, sending the resulting frames."""
        for _ in range(count):
            self._step_once()

    async def _run_steps(self) -> None:
        assert self.update_interval is not None
        interval, loop = self.update_interval, asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at = max(next_at + interval, loop.time() - interval)
            await asyncio.sleep(next_at - loop.time())
            self._step_once()

    def _step_once(self) -> None:
        self._steps += 1
        now = self._now_ms()
        for market in self.markets.values():
            closed = market.roll_candles(now)
            trades = market.step(now)
            for connection in self.connections:
                if connection.topics:
                    self._send_market_step(
                        connection, market, trades=trades, closed=closed, now=now
                    )
        if self.pool_quota_every is not None and self._steps % self.pool_quota_every == 0:
            currency = self._quota_rng.choice(self.currencies)
            quota = self._pool_quota[currency]
            change = Decimal(self._quota_rng.randrange(-500, 500))
            self.set_pool_quota(currency, str(max(Decimal(0), quota[0] + change)))
        if self.private_every is not None and self._steps % self.private_every == 0:
            active = {c.api_key for c in self.connections if c.api_key is not None}
            for api_key in sorted(active):
                self._deliver_private(api_key, self.account(api_key).simulate_activity(now), now)

    def _send_market_step(
        self,
        connection: SimConnection,
        market: Market,
        *,
        trades: list[dict[str, Any]],
        closed: dict[str, dict[str, Any]],
        now: int,
    ) -> None:
        name, topics = market.spec.name, connection.topics
        view = connection.book_views.get(name)
        if view is not None:
            frame = view.update(now)
            if frame is not None:
                connection.send_frame(frame)
        if trades:
            if ("trade", name) in topics:
                self._send_update(connection, "trade", name, {"t": trades}, now)
            if ("ticker", name) in topics:
                self._send_update(connection, "ticker", name, {"tk": market.ticker()}, now)
        kline = topics.get(("kline", name))
        if kline is not None:
            candle = closed.get(kline.resolution)
            if candle is not None:
                self._send_update(connection, "kline", name, {"k": candle}, now)
            if trades or candle is not None:
                running = market.candle(kline.resolution)
                self._send_update(connection, "kline", name, {"k": running}, now)

    @staticmethod
    def _send_update(
        connection: SimConnection, channel: str, name: str, payload: dict[str, Any], now: int
    ) -> None:
        connection.send_frame(frames.market_data(channel, "update", name, payload, now))

    # -- ground truth -----------------------------------------------------------------------

    def true_book(self, market: str, update_id: int | None = None) -> dict[str, Any]:
        """The full book of ``market``, best level first, as wire strings.

        ``{"asks": [[price, volume], ...], "bids": [...], "last_update_id": int, "version": int}``.
        With ``update_id``: the book as it was at that id, for ids within the last ``history``
        steps (older ones raise ``ValueError``).
        """
        found = self._market(market)
        return self._book_dict(found, found.book.state_at(update_id), None)

    def book_view(self, market: str, depth: int, update_id: int | None = None) -> dict[str, Any]:
        """Like ``true_book`` but only the best ``depth`` levels of each side."""
        if type(depth) is not int or depth < 1:
            raise ValueError(f"depth must be a positive integer, got {depth!r}")
        found = self._market(market)
        return self._book_dict(found, found.book.state_at(update_id), depth)

    def current_update_id(self, market: str) -> int:
        return self._market(market).book.update_id

    def book_version(self, market: str) -> int:
        return self._market(market).book.version

    @staticmethod
    def _book_dict(market: Market, state: BookState, depth: int | None) -> dict[str, Any]:
        fp, fv = market.format_price, market.format_volume
        return {
            "asks": [[fp(p), fv(v)] for p, v in state.asks[:depth]],
            "bids": [[fp(p), fv(v)] for p, v in state.bids[:depth]],
            "last_update_id": state.last_update_id,
            "version": state.version,
        }

    # -- faults -----------------------------------------------------------------------------

    def inject_gap(self, market: str, connection: SimConnection | None = None) -> None:
        """Withhold the next book update of ``market`` from every subscriber (or one)."""
        self._market(market)
        for target in self._book_subscribers(market, connection):
            target.inject_gap(market)

    def bump_version(self, market: str) -> int:
        """Give the book of ``market`` a new version; updates carry it from the next step on."""
        return self._market(market).book.bump_version()

    def send_empty_snapshot(self, market: str, connection: SimConnection | None = None) -> None:
        """Send an empty snapshot of ``market`` to every subscriber (or one) now."""
        self._market(market)
        for target in self._book_subscribers(market, connection):
            target.send_empty_snapshot(market)

    def refuse_handshakes(
        self, count: int | None = 1, *, until: float | None = None, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` handshakes (None: all, while before ``until``) with HTTP 429.

        The ``Retry-After`` header is the Unix time in seconds ``retry_after`` (default:
        ``until`` when given, else one second from now on the server clock).
        """
        if count is not None and (type(count) is not int or count < 1):
            raise ValueError(f"count must be a positive integer or None, got {count!r}")
        if count is None and until is None:
            raise ValueError("refusing with neither a count nor an until time would be forever")
        if retry_after is None:
            retry_after = until if until is not None else self.clock() + 1
        self._refusal = HandshakeRefusal(int(retry_after + 0.999), count, until)

    def accept_handshakes(self) -> None:
        """Stop refusing handshakes."""
        self._refusal = None

    def _book_subscribers(
        self, market: str, connection: SimConnection | None
    ) -> list[SimConnection]:
        targets = self.connections if connection is None else [connection]
        return [c for c in targets if market in c.book_views]

    # -- other public data ------------------------------------------------------------------

    def set_market_status(self, market: str, status: str) -> None:
        """Change a market's status and send a ``market_status`` update to its subscribers."""
        if status not in MARKET_STATUSES:
            raise ValueError(f"status must be one of {MARKET_STATUSES}, got {status!r}")
        found = self._market(market)
        found.status = status
        now = self._now_ms()
        payload = {"ms": [found.status_entry()]}
        frame = frames.market_data("market_status", "update", None, payload, now)
        for connection in self.connections:
            if ("market_status", None) in connection.topics:
                connection.send_frame(frame)

    def set_pool_quota(self, currency: str, available: str) -> None:
        """Set the M-Wallet pool quota of ``currency`` and send it to its subscribers."""
        if currency not in self._pool_quota:
            raise ValueError(f"unknown currency {currency!r}; simulated: {self.currencies}")
        try:
            amount = Decimal(available)
        except (ArithmeticError, TypeError, ValueError):
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"available must be a non-negative decimal string, got {available!r}")
        now = self._now_ms()
        self._pool_quota[currency] = (amount, now)
        payload = {"qta": self._quota(currency)}
        frame = frames.market_data("pool_quota", "update", None, payload, now)
        for connection in self.connections:
            if ("pool_quota", currency) in connection.topics:
                connection.send_frame(frame)

    def _quota(self, currency: str) -> dict[str, Any]:
        available, updated = self._pool_quota[currency]
        return {"cu": currency, "av": f"{available:f}", "TU": updated}

    # -- private events ---------------------------------------------------------------------

    def account(self, api_key: str) -> Account:
        """The simulated wallets of ``api_key`` (created on first use)."""
        if api_key not in self.api_keys:
            raise ValueError(f"unknown API key {api_key!r}")
        account = self._accounts.get(api_key)
        if account is None:
            account = Account(api_key, self.markets, seed=self.seed, now_ms=self._now_ms())
            self._accounts[api_key] = account
        return account

    def place_order(
        self,
        api_key: str,
        market: str,
        side: str,
        price: str,
        volume: str,
        *,
        m_wallet: bool = False,
        fill: bool = True,
        client_order_id: str | None = None,
    ) -> int:
        """Place a limit order for ``api_key`` and send the private events it causes.

        Sends ``order_update`` (wait) and ``account_update``; when ``fill``, then a trade
        (``fast_trade_update``/``trade_update``), ``order_update`` (done), ``account_update``,
        and for M-Wallet orders (``m_wallet=True``, ``mwallet_*`` events) ``ad_ratio_update``
        and ``borrowing_update``. Returns the order id.
        """
        now = self._now_ms()
        order_id, events = self.account(api_key).place_order(
            market,
            side,
            price,
            volume,
            m_wallet=m_wallet,
            fill=fill,
            now_ms=now,
            client_order_id=client_order_id,
        )
        self._deliver_private(api_key, events, now)
        return order_id

    def simulate_trading(self, api_key: str, count: int = 1) -> None:
        """Make ``count`` random changes to the wallets of ``api_key`` (what
        ``private_every`` does for authenticated keys), sending their events."""
        account = self.account(api_key)
        for _ in range(count):
            now = self._now_ms()
            self._deliver_private(api_key, account.simulate_activity(now), now)

    def fill_order(self, api_key: str, order_id: int, volume: str | None = None) -> None:
        """Fill a resting order of ``api_key`` in part (``volume``) or in full (None): sends
        the trade (``fast_trade_update``/``trade_update``), ``order_update`` and
        ``account_update`` (``mwallet_*`` for an M-Wallet order)."""
        now = self._now_ms()
        events = self.account(api_key).fill_order(order_id, volume, now_ms=now)
        self._deliver_private(api_key, events, now)

    def cancel_order(self, api_key: str, order_id: int) -> None:
        """Cancel a resting order of ``api_key``: sends ``order_update`` and ``account_update``."""
        now = self._now_ms()
        self._deliver_private(api_key, self.account(api_key).cancel_order(order_id, now), now)

    def open_orders(self, api_key: str, *, m_wallet: bool = False) -> list[dict[str, Any]]:
        """The truth: the resting orders of one wallet of ``api_key`` (wire ``o`` objects)."""
        return self.account(api_key).open_orders(m_wallet=m_wallet)

    def balances(self, api_key: str, *, m_wallet: bool = False) -> dict[str, dict[str, Any]]:
        """The truth: the balances of one wallet of ``api_key`` (wire ``B`` objects by
        currency)."""
        return self.account(api_key).balances(m_wallet=m_wallet)

    def trades(self, api_key: str, *, m_wallet: bool = False) -> list[dict[str, Any]]:
        """The truth: the trades of one wallet of ``api_key``, newest first (wire ``t``
        objects, with their fees)."""
        return self.account(api_key).trades(m_wallet=m_wallet)

    def _deliver_private(self, api_key: str, events: list[PrivateEvent], now: int) -> None:
        for connection in self.connections:
            if connection.api_key == api_key:
                wanted = [event for event in events if event.wanted_by(connection.filters)]
                for event in reordered(wanted, self._reorder_rng, self.reorder_private):
                    connection.send_frame(frames.user(event.event, event.key, event.value, now))

    # -- waiting ----------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], *, within: float = 5.0) -> None:
        """Wait until ``predicate()`` is true, re-checked whenever a connection opens or
        closes, a request arrives or a frame is sent. Raises ``TimeoutError`` after ``within``
        seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            if self._change is None or self._change.done():
                self._change = loop.create_future()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {within} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._change), remaining)

    def _notify(self) -> None:
        if self._change is not None and not self._change.done():
            self._change.set_result(None)

    # -- connections and requests -----------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        self._notify()
        if urlsplit(request.path).path != self.path:
            return connection.respond(HTTPStatus.NOT_FOUND, f"no WebSocket at {request.path}\n")
        refusal = self._refusal
        if refusal is not None and refusal.applies(self.clock()):
            refusal.consume()
            self.refused_handshakes += 1
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests\n")
            response.headers["Retry-After"] = str(refusal.retry_after)
            return response
        return None

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        self._next_connection_id += 1
        connection = SimConnection(
            websocket,
            self._next_connection_id,
            replace(self.faults),
            clock_ms=self._now_ms,
            on_change=self._notify,
            idle_timeout=self.idle_timeout,
            rng=random.Random(f"{self.seed}:connection:{self._next_connection_id}"),
        )
        self.connections.append(connection)
        self.all_connections.append(connection)
        connection.start()
        self._notify()
        try:
            async for message in websocket:
                self._on_message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            self.connections.remove(connection)
            await connection.finish()

    def _on_message(self, connection: SimConnection, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        now = self._now_ms()
        try:
            decoded = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError):  # deep nesting is a RecursionError
            self._record(connection, text, None)
            self._send_error(connection, RequestError(INVALID_JSON), None, now)
            return
        request = decoded if isinstance(decoded, dict) else None
        self._record(connection, text, request)
        if request is None:
            # The live exchange words it exactly "E-1005: invalid json", without a detail.
            detail = None if self.live_errors else "a request must be a JSON object"
            self._send_error(connection, RequestError(INVALID_JSON, detail), None, now)
            return
        request_id = request.get("id")
        try:
            action = request.get("action")
            if action == "sub":
                self._subscribe(connection, request, now)
            elif action == "unsub":
                self._unsubscribe(connection, request, now)
            elif action == "auth":
                self._authenticate(connection, request, now)
            elif action == "ping" and self.app_ping:
                connection.send_frame(frames.reply("pong", request_id, now))
            else:
                raise RequestError(INVALID_ACTION)
        except RequestError as exc:
            self._send_error(connection, exc, request_id, now)
        except Exception:
            # A bad request answered with a traceback and code 1011 would hide what a test
            # sent; the exchange answers every bad request with an error frame.
            logger.exception("request %.200r raised; answered as an invalid action", text)
            self._send_error(connection, RequestError(INVALID_ACTION), request_id, now)

    def _send_error(
        self, connection: SimConnection, exc: RequestError, request_id: Any, now: int
    ) -> None:
        live = self.live_errors
        connection.send_frame(frames.error(exc.wording(live=live), request_id, now, live=live))

    def _record(self, connection: SimConnection, text: str, request: dict[str, Any] | None) -> None:
        received = ReceivedRequest(connection.id, self.clock(), text, request)
        connection.requests.append(received)
        self.requests.append(received)
        self._notify()

    def _parse(self, request: dict[str, Any], key: str) -> tuple[list[Topic], list[Refusal]]:
        """The topics of a request and its refused objects (documented errors: the first
        refusal refuses the whole request)."""
        topics, refusals = parse_topics(
            request.get(key), key=key, markets=self.markets, currencies=self.currencies
        )
        if refusals and not self.live_errors:
            raise refusals[0].error()
        # One topic per key, as a connection holds them: a repeat replaces the earlier one
        # in its place, so thousands of repeats cost one snapshot, not thousands.
        unique = {topic.key: topic for topic in topics}
        return list(unique.values()), refusals

    def _refuse(
        self, connection: SimConnection, refusals: list[Refusal], request_id: Any, now: int
    ) -> None:
        """One error frame naming every refused subscription object of a request."""
        if refusals:
            reasons = [refusal.reason for refusal in refusals]
            connection.send_frame(frames.error(reasons, request_id, now, live=True))

    def _subscribe(self, connection: SimConnection, request: dict[str, Any], now: int) -> None:
        topics, refusals = self._parse(request, "subscriptions")
        request_id = request.get("id")
        if topics:
            echo = [topic.echo_object() for topic in topics]
            connection.send_frame(frames.reply("subscribed", request_id, now, s=echo))
        self._refuse(connection, refusals, request_id, now)
        for topic in topics:
            connection.topics[topic.key] = topic
        racing = self._racing(connection, topics)
        for topic in topics:
            self._send_snapshot(connection, topic, now, race=topic.market in racing)

    def _racing(self, connection: SimConnection, topics: list[Topic]) -> set[str]:
        """The book markets of a ``sub`` whose update will overtake their snapshot.

        A request with ``race_min_markets`` books or more races with ``race_probability``:
        then ``race_markets`` of its books race (seeded draws). The live exchange was seen
        racing on one request of 74 books, never on small ones, so a small request (a
        resubscribe) never races, however many books the connection holds.
        """
        books = [topic.market for topic in topics if topic.channel == "book" and topic.market]
        if self.race_min_markets is None or len(books) < self.race_min_markets:
            return set()
        rng = self._race_rng
        if rng.random() >= self.race_probability:
            return set()
        count = min(rng.randint(*self.race_markets), len(books))
        return set(rng.sample(books, count))

    def _unsubscribe(self, connection: SimConnection, request: dict[str, Any], now: int) -> None:
        topics, refusals = self._parse(request, "subscription")
        request_id = request.get("id")
        for topic in topics:
            connection.topics.pop(topic.key, None)
            if topic.channel == "book":
                connection.book_views.pop(topic.market or "", None)
        if topics:
            echo = [topic.echo_object() for topic in topics]
            connection.send_frame(frames.reply("unsubscribed", request_id, now, s=echo))
        self._refuse(connection, refusals, request_id, now)

    def _send_snapshot(
        self, connection: SimConnection, topic: Topic, now: int, *, race: bool = False
    ) -> None:
        channel, name = topic.channel, topic.market
        payload: dict[str, Any]
        if channel == "market_status":
            payload = {"ms": [market.status_entry() for market in self.markets.values()]}
        elif channel == "pool_quota":
            payload = {"qta": self._quota(topic.currency or "")}
        else:
            market = self.markets[name or ""]
            if channel == "book":
                view = BookView(market, topic.depth, style=self.book_style, rng=connection.rng)
                connection.book_views[market.spec.name] = view
                raced = view.racing_snapshot(now) if race else None
                if raced is None:
                    connection.send_frame(view.snapshot(now))
                else:
                    connection.raced.append(market.spec.name)
                    for frame in raced:
                        connection.send_frame(frame)
                return
            if channel == "trade":
                payload = {"t": market.recent_trades()}
            elif channel == "ticker":
                payload = {"tk": market.ticker()}
            else:
                payload = {"k": market.candle(topic.resolution)}
        connection.send_frame(frames.market_data(channel, "snapshot", name, payload, now))

    def _authenticate(self, connection: SimConnection, request: dict[str, Any], now: int) -> None:
        api_key, filters = check_auth(request, self.api_keys, self._ledger, now)
        connection.api_key, connection.filters = api_key, filters
        connection.send_frame(frames.reply("authenticated", request.get("id"), now))
        for event in self.account(api_key).snapshots(filters, now):
            connection.send_frame(frames.user(event.event, event.key, event.value, now))

    def _market(self, market: str) -> Market:
        found = self.markets.get(market)
        if found is None:
            raise ValueError(f"unknown market {market!r}; simulated: {sorted(self.markets)}")
        return found

    def _now_ms(self) -> int:
        return now_ms(self.clock)
