"""Prometheus metrics of streams: ``maicoin_ws_*`` series, read at scrape time.

A collector reads ``stream.stats`` and ``stream.books`` when Prometheus scrapes, so the
frame path does no extra work. Several streams share one registry, told apart by the
``stream`` label::

    from maicoin.ws.metrics import register_stream, serve_metrics

    server = serve_metrics(stream, 9108, name="btc")   # http://127.0.0.1:9108/metrics
    register_stream(other_stream, name="eth")          # same (default) registry and server
    ...
    server.close()

Series (``stream`` label on all; ``market`` too on ``maicoin_ws_book_synced``):
``maicoin_ws_{messages,bytes,decode_errors,reconnects,connections,resyncs,handler_errors,
requests_sent}_total`` (counters, ``StreamStats`` fields of the same names),
``maicoin_ws_connected`` (1 while a connection is open), ``maicoin_ws_last_receive_
timestamp_seconds`` (once a frame arrived), ``maicoin_ws_book_synced`` (1 while that
market's local book is in sync), and, from ``stats.feed_lag`` and ``stats.ping_rtt``:
``maicoin_ws_feed_lag_seconds`` (labels ``channel`` and ``quantile`` 0.5 and 0.99),
``maicoin_ws_feed_lag_frames_total`` (frames measured, by ``channel``) and
``maicoin_ws_ping_rtt_seconds`` (once a ping was answered).

Needs the ``metrics`` extra, ``pip install 'maicoin-ws[metrics]'`` (prometheus-client);
without it every function here raises an ``ImportError`` that says so.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Final, cast

from .stream import Stream

if TYPE_CHECKING:
    from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector, CollectorRegistry

__all__ = [
    "COUNTERS",
    "DEFAULT_ADDRESS",
    "MetricsServer",
    "StreamCollector",
    "register_stream",
    "serve_metrics",
    "unregister_stream",
]

COUNTERS: Final[Mapping[str, str]] = {
    "messages": "Frames received.",
    "bytes": "Bytes of the frames received.",
    "decode_errors": "Frames that could not be decoded (skipped).",
    "reconnects": "Reconnections after a lost connection.",
    "connections": "Connections opened.",
    "resyncs": "Local order books resubscribed after a gap or a version change.",
    "handler_errors": "Handler calls that raised.",
    "requests_sent": "Requests sent to the exchange (auth, sub, unsub).",
}
"""The ``StreamStats`` counters exported, each as ``maicoin_ws_<field>_total``, and their help."""
DEFAULT_ADDRESS: Final = "127.0.0.1"
"""Where ``serve_metrics`` listens unless told otherwise: loopback, never exposed by accident."""

_INSTALL_HINT: Final = (
    "maicoin.ws.metrics needs prometheus-client: pip install 'maicoin-ws[metrics]'"
)
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, StreamCollector] = (
    weakref.WeakKeyDictionary()
)
_collectors_lock = threading.Lock()


def _prometheus() -> ModuleType:
    """``prometheus_client``, or an ImportError that names the extra to install."""
    try:
        import prometheus_client
        import prometheus_client.core  # the metric families live here
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return prometheus_client


class StreamCollector:
    """A Prometheus collector of the ``maicoin_ws_*`` series of named streams.

    Streams are held weakly: one that is garbage collected leaves the metrics. Register the
    collector once per registry (``register_stream`` does) and ``add`` streams to it.
    """

    def __init__(self) -> None:
        _prometheus()
        self._streams: dict[str, weakref.ref[Stream]] = {}
        self._lock = threading.Lock()

    def add(self, stream: Stream, name: str = "default") -> None:
        """Export ``stream`` with the label ``stream=name``; a name in use raises ValueError."""
        if not name:
            raise ValueError("a stream's metrics name must not be empty")
        with self._lock:
            current = self._streams.get(name)
            known = current() if current is not None else None
            if known is not None and known is not stream:
                raise ValueError(f"another stream already exports metrics as {name!r}")
            self._streams[name] = weakref.ref(stream)

    def remove(self, stream: Stream | str) -> bool:
        """Stop exporting a stream (given itself or its name); False when it was not here."""
        with self._lock:
            for name, ref in list(self._streams.items()):
                if name == stream or ref() is stream:
                    del self._streams[name]
                    return True
        return False

    @property
    def names(self) -> list[str]:
        """The ``stream`` label of every live stream exported, sorted."""
        return sorted(name for name, _ in self._live())

    def describe(self) -> Iterator[Metric]:
        """The families without samples (what a registry checks names against)."""
        yield from _Families().all()

    def collect(self) -> Iterator[Metric]:
        """The current values of every live stream (called at scrape time)."""
        families = _Families()
        for name, stream in self._live():
            stats = stream.stats
            for field, family in zip(COUNTERS, families.counters, strict=True):
                family.add_metric([name], getattr(stats, field))
            families.connected.add_metric([name], 1.0 if stream.connected else 0.0)
            if stats.last_receive_time is not None:
                families.last_receive.add_metric([name], stats.last_receive_time)
            # Scrapes run in the HTTP server's thread while the loop may add or drop a book:
            # copy the (dict) mapping in one step instead of iterating the live one.
            for market, book in list(stream.books.items()):
                families.book_synced.add_metric([name, market], 1.0 if book.synced else 0.0)
            for channel, lag in stats.feed_lag.items():
                families.lag_frames.add_metric([name, channel], lag.count)
                for quantile, value in (("0.5", lag.p50_ms), ("0.99", lag.p99_ms)):
                    families.lag.add_metric([name, channel, quantile], value / 1000)
            if stats.ping_rtt is not None:
                families.ping_rtt.add_metric([name], stats.ping_rtt)
        yield from families.all()

    def _live(self) -> list[tuple[str, Stream]]:
        with self._lock:
            pairs = [(name, ref()) for name, ref in self._streams.items()]
        return [(name, stream) for name, stream in pairs if stream is not None]


class _Families:
    """One scrape's metric families, empty until filled."""

    def __init__(self) -> None:
        core = _prometheus().core
        self.counters: list[CounterMetricFamily] = [
            core.CounterMetricFamily(f"maicoin_ws_{field}", help_text, labels=["stream"])
            for field, help_text in COUNTERS.items()
        ]
        self.connected: GaugeMetricFamily = core.GaugeMetricFamily(
            "maicoin_ws_connected",
            "1 while the stream has an open connection.",
            labels=["stream"],
        )
        self.last_receive: GaugeMetricFamily = core.GaugeMetricFamily(
            "maicoin_ws_last_receive_timestamp_seconds",
            "Unix time of the last frame received.",
            labels=["stream"],
        )
        self.book_synced: GaugeMetricFamily = core.GaugeMetricFamily(
            "maicoin_ws_book_synced",
            "1 while the market's local order book is in sync with the exchange.",
            labels=["stream", "market"],
        )

        self.lag: GaugeMetricFamily = core.GaugeMetricFamily(
            "maicoin_ws_feed_lag_seconds",
            "Local receive time minus the frame's exchange time T (snapshots left out).",
            labels=["stream", "channel", "quantile"],
        )
        self.lag_frames: CounterMetricFamily = core.CounterMetricFamily(
            "maicoin_ws_feed_lag_frames",
            "Frames whose feed lag was measured.",
            labels=["stream", "channel"],
        )
        self.ping_rtt: GaugeMetricFamily = core.GaugeMetricFamily(
            "maicoin_ws_ping_rtt_seconds",
            "Round trip of the last application ping.",
            labels=["stream"],
        )

    def all(self) -> list[Metric]:
        return [
            *self.counters,
            self.connected,
            self.last_receive,
            self.book_synced,
            self.lag,
            self.lag_frames,
            self.ping_rtt,
        ]


def register_stream(
    stream: Stream, registry: CollectorRegistry | None = None, *, name: str = "default"
) -> StreamCollector:
    """Export ``stream``'s metrics in ``registry`` (default: prometheus-client's global
    ``REGISTRY``) labelled ``stream=name``; returns the registry's collector."""
    prometheus = _prometheus()
    target: CollectorRegistry = prometheus.REGISTRY if registry is None else registry
    with _collectors_lock:
        collector = _collectors.get(target)
        if collector is None:
            collector = StreamCollector()
            # The registry needs only collect() and describe(); the class does not subclass
            # prometheus-client's Collector so that this module imports without the extra.
            target.register(cast("Collector", collector))
            _collectors[target] = collector
    collector.add(stream, name)
    return collector


def unregister_stream(stream: Stream | str, registry: CollectorRegistry | None = None) -> bool:
    """Stop exporting a stream (itself or its name) from ``registry``; False if it was not."""
    prometheus = _prometheus()
    target: CollectorRegistry = prometheus.REGISTRY if registry is None else registry
    with _collectors_lock:
        collector = _collectors.get(target)
    return collector is not None and collector.remove(stream)


class MetricsServer:
    """The HTTP server of ``serve_metrics``: ``url``, ``port``, ``close()``."""

    def __init__(
        self,
        server: object,
        thread: threading.Thread,
        registry: CollectorRegistry,
        names: list[str],
    ) -> None:
        self._server = server
        self._thread = thread
        self._registry = registry
        self._names = names
        self._closed = False

    @property
    def address(self) -> str:
        """The address listened on."""
        return str(self._server.server_address[0])  # type: ignore[attr-defined]

    @property
    def port(self) -> int:
        """The port listened on (the one chosen when asked for port 0)."""
        return int(self._server.server_port)  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """Where Prometheus scrapes: ``http://ADDRESS:PORT/metrics``."""
        host = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and stop exporting the streams this server was started for."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()  # type: ignore[attr-defined]
        self._server.server_close()  # type: ignore[attr-defined]
        self._thread.join(10)
        for name in self._names:
            unregister_stream(name, self._registry)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving"
        return f"MetricsServer({self.url!r}, {state}, streams={self._names!r})"


def serve_metrics(
    streams: Stream | Mapping[str, Stream],
    port: int,
    *,
    addr: str = DEFAULT_ADDRESS,
    registry: CollectorRegistry | None = None,
    name: str = "default",
) -> MetricsServer:
    """Export ``streams`` (one, labelled ``name``, or a ``{name: stream}`` mapping) and serve
    ``registry`` (default: the global one) on ``http://addr:port/metrics`` from a daemon
    thread. ``port=0`` picks a free port (see ``.port``); ``addr="0.0.0.0"`` exposes it."""
    prometheus = _prometheus()
    target: CollectorRegistry = prometheus.REGISTRY if registry is None else registry
    named = {name: streams} if isinstance(streams, Stream) else dict(streams)
    for label, stream in named.items():
        register_stream(stream, target, name=label)
    try:
        server, thread = prometheus.start_http_server(port, addr=addr, registry=target)
    except BaseException:
        for label in named:
            unregister_stream(label, target)
        raise
    return MetricsServer(server, thread, target, list(named))
