"""The command line's parts in-process: specs, recordings, replay, the live view, exit rules."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import frames
import pytest

from maicoin.ws import Channel, Filter, Stream, Subscription
from maicoin.ws._frames.decode import decode_response
from maicoin.ws.cli.liveview import LiveView, format_stats
from maicoin.ws.cli.recording import RecordingError, RecordingReader, RecordingWriter
from maicoin.ws.cli.replay import replay_recording
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
