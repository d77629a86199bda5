"""The command line's parts in-process: specs, recordings, replay, the live view, exit rules,
progress reports."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import signal
from pathlib import Path

import frames
import pytest
from rich.console import Console

from maicoin.ws import Channel, Filter, Stream, Subscription
from maicoin.ws._frames.decode import decode_response
from maicoin.ws.cli.liveview import LiveView, format_stats
from maicoin.ws.cli.progress import (
    BenchProgress,
    ClientBoard,
    RateMeter,
    RecordStatus,
    format_duration,
    format_size,
    live_status,
)
from maicoin.ws.cli.recording import RecordingError, RecordingReader, RecordingWriter
from maicoin.ws.cli.replay import ServedClient, replay_recording
from maicoin.ws.cli.runner import Interrupt
from maicoin.ws.cli.specs import SPEC_FORMS, SpecError, parse_filters, parse_subscription

# -- subscription specs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("book:btcusdt", Subscription(channel=Channel.BOOK, market="btcusdt")),
        ("book:BTCUSDT:5", Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)),
        ("trade:ethtwd", Subscription(channel=Channel.TRADE, market="ethtwd")),
        ("ticker:btcusdt", Subscription(channel=Channel.TICKER, market="btcusdt")),
        ("kline:ethusdt", Subscription(channel=Channel.KLINE, market="ethusdt")),
        (
            "kline:ethusdt:4h",
            Subscription(channel=Channel.KLINE, market="ethusdt", resolution="4h"),
        ),
        ("market_status", Subscription(channel=Channel.MARKET_STATUS)),
        ("pool_quota:usdt", Subscription(channel=Channel.POOL_QUOTA, currency="usdt")),
        ("order", Subscription(channel=Channel.ORDER)),
        ("trade_update", Subscription(channel=Channel.TRADE_UPDATE)),
        ("balance_update", Subscription(channel=Channel.BALANCE_UPDATE)),
    ],
)
def test_specs_name_subscriptions(spec: str, expected: Subscription) -> None:
    parsed = parse_subscription(spec)
    assert parsed == expected
    assert parsed.model_dump(exclude_none=True) == expected.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("user", "unknown channel 'user'"),
        ("book:btcusdt:5:x", "does not match book:MARKET[:DEPTH]"),
        ("market_status:btcusdt", "does not match market_status"),
        ("book::5", "book needs a market"),
        ("book:btcusdt:0", "book depth must be one of (1, 5, 10, 20, 50), got 0"),
        ("kline:btcusdt:1w", "got '1w'"),
    ],
)
def test_bad_specs_say_what_is_accepted(spec: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_subscription(spec)
    assert message in str(raised.value)


def test_every_spec_form_is_listed_once() -> None:
    channels = [form.split(":")[0] for form in SPEC_FORMS]
    assert len(channels) == len(set(channels))
    assert set(channels) == {c.value for c in Channel} - {"user"}


def test_filters_are_parsed_and_deduplicated() -> None:
    assert parse_filters("order, ACCOUNT,order") == [Filter.ORDER, Filter.ACCOUNT]
    with pytest.raises(SpecError, match="accepted: order, trade, account"):
        parse_filters("orders")
    with pytest.raises(SpecError, match="no filter named"):
        parse_filters(" , ")


# -- recordings -------------------------------------------------------------------------------


def write_recording(
    path: Path, texts: list[str | bytes], *, start: float = 1_700_000_000.0
) -> None:
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for offset, text in enumerate(texts):
            writer.write(text, start + offset / 10)
        assert writer.frames == len(texts)


def test_recordings_round_trip_frames_and_times(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_recording(path, [frames.BOOK_SNAPSHOT, frames.TICKER_SNAPSHOT.encode(), b"\xff{"])
    recorded = list(RecordingReader(path))
    assert [r.frame for r in recorded] == [frames.BOOK_SNAPSHOT, frames.TICKER_SNAPSHOT, "\ufffd{"]
    assert [r.t for r in recorded] == [1_700_000_000.0, 1_700_000_000.1, 1_700_000_000.2]
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {"t": 1_700_000_000.0, "frame": frames.BOOK_SNAPSHOT}


def test_a_cut_line_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_recording(path, [frames.BOOK_SNAPSHOT])
    with path.open("ab") as file:
        file.write(b'{"t": 1.0, "fra\n')
    reader = RecordingReader(path)
    assert len(list(reader)) == 1
    assert (reader.bad_lines, reader.first_bad_line) == (1, 2)


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"e": "update"}\n')
    with pytest.raises(RecordingError, match="is not a recording"):
        list(RecordingReader(path))


# -- replay -----------------------------------------------------------------------------------


def book_frame(event: str, first: int, last: int, bids: list[list[str]]) -> str:
    return json.dumps(
        {"c": "book", "M": "btcusdt", "e": event, "a": [["101.5", "2"]], "b": bids,
         "T": 1_700_000_000_000, "fi": first, "li": last, "v": 3}
    )  # fmt: skip


async def test_replay_keeps_the_book_and_resyncs_on_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "gap.jsonl"
    write_recording(
        path,
        [
            book_frame("snapshot", 10, 10, [["100.0", "1"]]),
            book_frame("update", 11, 11, [["100.5", "3"]]),
            book_frame("update", 13, 13, [["99.0", "1"]]),  # 12 is missing
            "not json",
            frames.TICKER_SNAPSHOT,
            book_frame("snapshot", 20, 20, [["100.2", "4"]]),
        ],
    )
    seen: list[str] = []
    summary = await replay_recording(path, on_response=lambda r: seen.append(str(r.event)))
    assert summary.frames == 6
    assert summary.stats.resyncs == 1 and summary.stats.decode_errors == 1
    assert summary.responses[("update", "book")] == 2
    assert summary.responses[("snapshot", "ticker")] == 1
    assert seen == ["snapshot", "update", "update", "snapshot", "snapshot"]
    book = summary.books["btcusdt"]
    assert book.synced and book.last_update_id == 20
    assert book.best_bid is not None and book.best_bid.price_text == "100.2"
    text = "\n".join(summary.lines())
    assert "btcusdt  synced li 20 v 3  bid 100.2 x 4 ask 101.5 x 2  spread 1.3" in text


async def test_a_recorded_nonce_reuse_reconnects_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "nonce.jsonl"
    error = '{"e":"error","E":["E-1012: nonce already used"],"i":"a","T":1700000000000}'
    write_recording(path, [book_frame("snapshot", 10, 10, [["100.0", "1"]]), error,
                           book_frame("snapshot", 30, 30, [["100.1", "1"]])])  # fmt: skip
    summary = await replay_recording(path)
    assert summary.stats.connections == 2 and summary.frames == 3
    assert summary.books["btcusdt"].last_update_id == 30
    assert summary.stopped_early is None


async def test_a_recorded_auth_refusal_ends_the_replay_early(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    error = '{"e":"error","E":["E-1007: authentication failed"],"i":"a","T":1700000000000}'
    write_recording(path, [error, frames.TICKER_SNAPSHOT])
    summary = await replay_recording(path)
    assert summary.frames == 1
    assert summary.stopped_early is not None and "E-1007" in summary.stopped_early


# -- live view and exit rules -----------------------------------------------------------------


def test_live_view_shows_the_book_trades_ticker_and_kline() -> None:
    stream = Stream(uri="ws://127.0.0.1:1/ws")
    stream.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt", depth=5)])
    view = LiveView("btcusdt", stream)
    for text in (
        frames.BOOK_SNAPSHOT,
        frames.TRADE_SNAPSHOT,
        frames.TRADE_UPDATE,
        frames.TICKER_SNAPSHOT,
        frames.KLINE_UPDATE,
        frames.MARKET_STATUS_SNAPSHOT,
    ):
        response = decode_response(text)
        if response.channel == "book":
            assert response.market is not None and response.last_update_id is not None
            stream.books[response.market].apply_snapshot(
                response.asks, response.bids, response.last_update_id, response.version or 0
            )
        view(response)
    screen = "\n".join(view.screen("header"))
    assert "book btcusdt  synced  li 1005  v 7" in screen
    assert "36999.9 | 37000.1" in screen and "spread 0.2  mid 37000.00" in screen
    assert "close 37000.1" in screen and "1m 22:13:20-22:14:19" in screen
    assert "markets  btcusdt active  ethtwd cancel-only" in screen
    # Newest trade first.
    assert [t.price for t in view.trades] == ["37001.0", "36999.9", "37000.1"]
    line = view.line(1.0)
    assert "bid 36999.9 x 0.3 ask 37000.1 x 0.5 spread 0.2" in line


def test_stats_lines_name_every_counter() -> None:
    stream = Stream(uri="ws://127.0.0.1:1/ws")
    names = [line.split()[0] for line in format_stats(stream.stats)]
    assert names == list(stream.stats.as_dict())


def test_a_signal_only_fails_a_command_with_a_limit() -> None:
    interrupt = Interrupt()
    assert interrupt.exit_status(limited=True) == 0
    stopped: list[bool] = []
    interrupt.on_stop(lambda: stopped.append(True))
    interrupt._fire(signal.SIGINT)
    interrupt._fire(signal.SIGTERM)  # a second signal does not change the first
    assert stopped == [True]
    assert interrupt.exit_status(limited=True) == 130
    assert interrupt.exit_status(limited=False) == 0


# -- progress ---------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the environment says, a StringIO is not a terminal."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def terminal_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich draws on a StringIO as on a terminal."""
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (12_345, "12.3 kB"), (999_949, "999.9 kB"),
     (999_950, "1.0 MB"), (4_560_000, "4.6 MB"), (7 * 10**9, "7.0 GB"), (3 * 10**12, "3.0 TB")],
)  # fmt: skip
def test_sizes_are_shown_in_decimal_units(count: int, text: str) -> None:
    assert format_size(count) == text


def test_durations_are_shown_as_hours_minutes_seconds() -> None:
    assert [format_duration(s) for s in (0, 5.9, 65, 3600, 93_784)] == [
        "0:00:00", "0:00:05", "0:01:05", "1:00:00", "26:03:04"
    ]  # fmt: skip


def test_the_rate_is_that_of_the_last_window() -> None:
    meter = RateMeter(window=10.0)
    assert meter.rate(0.0, 0) == 0.0
    assert meter.rate(5.0, 50) == 10.0
    assert meter.rate(10.0, 100) == 10.0
    # 10 s later the first 10 s no longer count: 400 frames in the last 10 s.
    assert meter.rate(20.0, 500) == 40.0
    assert meter.rate(20.0, 500) == 40.0  # a second look at the same moment changes nothing


def test_record_status_says_frames_bytes_rate_elapsed_and_connection() -> None:
    clock = FakeClock()
    stream = Stream(uri="ws://127.0.0.1:1/ws")
    writer = RecordingWriter(io.BytesIO())
    status = RecordStatus("day.jsonl", writer, stream, clock=clock)
    assert status.line() == (
        "recording day.jsonl: 0 frames, 0 B, 0.0 frames/s, 0:00:00 elapsed, connecting"
    )
    for _ in range(20):
        writer.write(frames.TICKER_SNAPSHOT, 1_700_000_000.0)
    clock.now += 4.0
    stream.stats.connections = 1
    size = format_size(writer.bytes)
    assert status.line() == (
        f"recording day.jsonl: 20 frames, {size}, 5.0 frames/s, 0:00:04 elapsed, reconnecting"
    )
    stream.stats.reconnects = 2
    status.running = False  # stopped: no longer (re)connecting
    clock.now += 61.0
    assert status.line() == (
        f"recording day.jsonl: 20 frames, {size}, 0.0 frames/s, 0:01:05 elapsed, 2 reconnects"
    )
    assert status.summary() == f"recorded 20 frames to day.jsonl ({size} in 0:01:05)"
    assert writer.bytes == sum(len(line) + 1 for line in _lines_of(writer))


def _lines_of(writer: RecordingWriter) -> list[bytes]:
    file = writer._file
    assert isinstance(file, io.BytesIO)
    return file.getvalue().splitlines()


async def test_off_a_terminal_the_status_is_a_line_every_period(plain_output: None) -> None:
    out = io.StringIO()
    calls = 0

    def render() -> str:
        nonlocal calls
        calls += 1
        return f"status {calls}"

    loop = asyncio.get_running_loop()
    began = loop.time()
    with live_status(render, out, every=0.05):
        # Scheduled after the first line's timer: that line always comes first.
        await asyncio.sleep(0.2)
    ended = loop.time()
    lines = out.getvalue().splitlines()
    # One line per period at most (the k-th is due k periods after the start).
    assert 1 <= len(lines) <= (ended - began) / 0.05 + 1
    assert lines == [f"status {n}" for n in range(1, len(lines) + 1)]
    await asyncio.sleep(0.1)
    assert out.getvalue().count("\n") == len(lines)  # no line after the block


async def test_on_a_terminal_the_status_is_redrawn_and_logs_go_above(
    terminal_output: None,
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with live_status(lambda: "the status line", out, every=60.0):
            logging.getLogger("maicoin.ws").warning("a warning while live")
            assert handler.stream is not out  # routed through the live display
        assert handler.stream is out
    finally:
        root.removeHandler(handler)
    text = out.getvalue()
    assert "\x1b[?25l" in text and "\x1b[?25h" in text
    assert "the status line" in ANSI.sub("", text)
    assert "a warning while live\n" in ANSI.sub("", text)


def test_bench_progress_off_a_terminal_tells_runs_done_and_time_left(plain_output: None) -> None:
    clock = FakeClock()
    out = io.StringIO()
    with BenchProgress(3, out, clock=clock) as progress:
        clock.now += 10
        progress("[1/1] websockets asyncio receive ok")
        clock.now += 20
        progress("[1/1] websockets asyncio inline ok")
        progress("[1/1] websockets asyncio task ok")
    assert out.getvalue().splitlines() == [
        "[1/1] websockets asyncio receive ok  (1/3 runs, about 0:00:20 left)",
        "[1/1] websockets asyncio inline ok  (2/3 runs, about 0:00:15 left)",
        "[1/1] websockets asyncio task ok  (3/3 runs, done)",
    ]


def test_bench_progress_on_a_terminal_is_a_bar(terminal_output: None) -> None:
    out = io.StringIO()
    with BenchProgress(2, out) as progress:
        progress("[1/1] websockets asyncio receive ok")
        progress("[1/1] websockets asyncio inline ok")
    text = ANSI.sub("", out.getvalue())
    assert "[1/1] websockets asyncio receive ok\n" in text  # printed above the bar
    assert "━" in text and "2/2 runs" in text and "done" in text.rsplit("2/2 runs", 1)[1]


def test_client_board_off_a_terminal_prints_lines(plain_output: None) -> None:
    out = io.StringIO()
    with ClientBoard(out, {}) as board:
        board.say("client 1 connected from 127.0.0.1:5000")
    assert out.getvalue() == "client 1 connected from 127.0.0.1:5000\n"


def test_client_board_on_a_terminal_shows_a_bar_per_client(terminal_output: None) -> None:
    out = io.StringIO()
    clients = {1: ServedClient(1, "127.0.0.1:5000", 80, sent=20)}
    board = ClientBoard(out, clients)
    rendered = io.StringIO()
    Console(file=rendered, width=100).print(board._render())
    assert "client 1 127.0.0.1:5000" in rendered.getvalue()
    assert "20/80 frames" in rendered.getvalue()
    clients.clear()
    rendered = io.StringIO()
    Console(file=rendered, width=100).print(board._render())
    assert "waiting for clients" in rendered.getvalue()
    with board:
        board.say("client 1 left")
    assert "client 1 left\n" in ANSI.sub("", out.getvalue())
