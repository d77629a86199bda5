"""The command line as a user runs it: subprocesses against a simulator over loopback."""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from redis_server import redis_server
from websockets.sync.client import connect

import maicoin.ws
from maicoin.ws import cli
from maicoin.ws.cli.progress import format_size
from maicoin.ws.cli.recording import RecordingWriter

# The subprocesses import the very package under test (source tree or installed).
PACKAGE_ROOT = str(Path(maicoin.ws.__file__).resolve().parents[2])
TIMEOUT = 20.0


# Variables that would make rich treat a pipe as a terminal, or a terminal as a pipe.
RICH_OVERRIDES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MAX_API_KEY", "MAX_API_SECRET", "MAX_WS_URI", *RICH_OVERRIDES)
    }
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + path if path else "")
    env.update(extra)
    return env


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maicoin.ws", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(**env),
        check=False,
    )


def start_cli(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "maicoin.ws", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(**env),
    )


_pumps: dict[IO[str], tuple[queue.Queue[str], threading.Thread]] = {}


def _lines(pipe: IO[str]) -> queue.Queue[str]:
    """The lines of ``pipe`` as a thread reads them ("" at the end). A selector on the pipe
    would miss lines already read ahead into the file object's buffer."""
    if pipe not in _pumps:
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in pipe:
                lines.put(line)
            lines.put("")

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        _pumps[pipe] = (lines, thread)
    return _pumps[pipe][0]


def _rest(pipe: IO[str] | None) -> str:
    """What is left of ``pipe`` once its process has ended."""
    if pipe is None:
        return ""
    lines, thread = _pumps.pop(pipe, (None, None))
    if lines is None or thread is None:
        return pipe.read()
    thread.join(TIMEOUT)
    rest = []
    while not lines.empty() and (line := lines.get_nowait()):
        rest.append(line)
    return "".join(rest)


def read_line(
    process: subprocess.Popen[str], within: float = TIMEOUT, *, stderr: bool = False
) -> str:
    """The next stdout (or stderr) line of a running process; fails instead of hanging."""
    pipe = process.stderr if stderr else process.stdout
    assert pipe is not None
    try:
        line = _lines(pipe).get(timeout=within)
    except queue.Empty:
        raise AssertionError(f"no output within {within} s") from None
    if not line:
        other = _rest(process.stdout if stderr else process.stderr)
        raise AssertionError(f"process ended early: {process.wait(TIMEOUT)} {other}")
    return line


def run_on_terminal(*args: str, **env: str) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal; its status and output."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "maicoin.ws", *args],
        stdout=terminal,
        stderr=terminal,
        env=cli_env(**{"COLUMNS": "120", "TERM": "xterm", **env}),
    )
    os.close(terminal)
    output = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(TIMEOUT), output.decode()


def interrupt(process: subprocess.Popen[str], signum: int = signal.SIGINT) -> tuple[int, str, str]:
    """Send ``signum``; the exit status and the rest of stdout and stderr."""
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            _lines(pipe)  # read on while waiting, so that a full pipe cannot block the exit
    process.send_signal(signum)
    code = process.wait(TIMEOUT)
    return code, _rest(process.stdout), _rest(process.stderr)


@pytest.fixture(scope="module")
def simulator_uri() -> Iterator[str]:
    process = start_cli("simulate", "--port", "0", "--rate", "50")
    try:
        banner = read_line(process)
        yield banner.split(" on ")[1].split()[0]
    finally:
        code, _, err = interrupt(process)
        assert code == 0, err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- demo -------------------------------------------------------------------------------------


def test_demo_shows_the_book_and_prints_stats() -> None:
    result = run_cli("demo", "--duration", "1.5", "--rate", "50")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "embedded MAX simulator at ws://127.0.0.1:" in out
    assert "btcusdt | book synced li=" in out  # the book view, one line per refresh (no TTY)
    assert " ask " in out and "ticker close " in out and "kline 1m close " in out
    stats = dict(line.split(maxsplit=1) for line in out.split("stream stats\n", 1)[1].splitlines())
    assert int(stats["messages"]) > 10
    assert int(stats["decode_errors"]) == 0 and int(stats["connections"]) == 1
    assert "\x1b[" not in out  # no ANSI codes when stdout is not a terminal


def test_demo_shows_resyncs_after_gaps() -> None:
    result = run_cli("demo", "--duration", "1.5", "--rate", "50", "--gap-every", "0.4")
    assert result.returncode == 0, result.stderr
    stats = result.stdout.split("stream stats\n", 1)[1]
    resyncs = int(stats.split("resyncs", 1)[1].split()[0])
    assert resyncs >= 1


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_demo_redraws_in_place_on_a_terminal() -> None:
    code, text = run_on_terminal("demo", "--duration", "1", "--rate", "50")
    assert code == 0, text
    first, _, rest = text.partition("(Ctrl-C to stop)")
    assert rest, text  # the running screen was drawn...
    assert "\x1b[1A\x1b[2K" in rest  # ...and erased line by line to be drawn again
    assert "\x1b[?25l" in first and text.rstrip().count("\x1b[?25h") == 1  # cursor back
    final = ANSI.sub("", text.rsplit("\x1b[2K", 1)[1])
    assert "(stopped)" in final and "book btcusdt  synced  li " in final
    assert "bid volume" in final and "trades   " in final and "stream stats" in final
    assert "Traceback" not in text


# -- stream -----------------------------------------------------------------------------------


def test_stream_prints_one_json_line_per_response(simulator_uri: str) -> None:
    subscriptions = ["book:btcusdt:5", "ticker:btcusdt", "trade:btcusdt", "kline:ethusdt:1m"]
    result = run_cli(
        "stream",
        *subscriptions,
        "market_status",
        "pool_quota:usdt",
        "--count",
        "25",
        MAX_WS_URI=simulator_uri,
    )
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    assert len(responses) == 25
    assert responses[0]["event"] == "subscribed"
    snapshots = {(r["channel"], r.get("market")) for r in responses if r["event"] == "snapshot"}
    assert {("book", "btcusdt"), ("kline", "ethusdt"), ("market_status", None)} <= snapshots
    book = next(r for r in responses if r.get("channel") == "book")
    assert len(book["asks"]) == 5 and "errors" not in book and "trades" not in book
    assert all("created_at" in r for r in responses)


def test_stream_raw_prints_frames_as_received(simulator_uri: str) -> None:
    result = run_cli("stream", "--uri", simulator_uri, "ticker:btcusdt", "--raw", "--count", "3")
    assert result.returncode == 0, result.stderr
    frames = json_lines(result.stdout)
    assert [frame["e"] for frame in frames] == ["subscribed", "snapshot", "update"]
    assert frames[1]["tk"]["M"] == "btcusdt"  # wire keys, untouched


def test_stream_authenticates_from_the_environment(simulator_uri: str) -> None:
    result = run_cli(
        "stream",
        "--uri",
        simulator_uri,
        "--filters",
        "order,account",
        "--count",
        "3",
        MAX_API_KEY="key",
        MAX_API_SECRET="secret",
    )
    assert result.returncode == 0, result.stderr
    events = [r["event"] for r in json_lines(result.stdout)]
    assert events[0] == "authenticated"
    assert set(events[1:]) <= {"order_snapshot", "account_snapshot"}
    assert "secret" not in result.stdout + result.stderr


def test_refused_credentials_exit_with_1(simulator_uri: str) -> None:
    result = run_cli(
        "stream", "--uri", simulator_uri, MAX_API_KEY="key", MAX_API_SECRET="wrong-secret"
    )
    assert result.returncode == 1
    assert "E-1007" in result.stderr and "wrong-secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_endpoint_exits_with_1() -> None:
    result = run_cli("stream", "--uri", "ws://127.0.0.1:9/ws", "ticker:btcusdt")
    assert result.returncode == 1
    assert "cannot connect to ws://127.0.0.1:9/ws" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_a_stream_cleanly(simulator_uri: str) -> None:
    process = start_cli("stream", "--uri", simulator_uri, "book:btcusdt:1")
    json.loads(read_line(process))
    code, out, err = interrupt(process)
    assert code == 0  # no limit was given: Ctrl-C is how this stream ends
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    json_lines(out)  # every line written is complete


def test_interrupted_before_its_count_exits_with_130(simulator_uri: str) -> None:
    process = start_cli("stream", "--uri", simulator_uri, "book:btcusdt:1", "--count", "100000")
    read_line(process)
    code, _, err = interrupt(process)
    assert code == 130
    assert "Traceback" not in err


# -- record and replay ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(simulator_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recording") / "day.jsonl"
    # Subscriptions after options: the order users type them in.
    result = run_cli(
        "record",
        str(path),
        "--uri",
        simulator_uri,
        "--count",
        "80",
        "book:btcusdt:5",
        "trade:btcusdt",
        "ticker:btcusdt",
    )
    assert result.returncode == 0, result.stderr
    assert f"recorded 80 frames to {path}" in result.stderr
    return path


def recorded_frames(path: Path) -> list[dict[str, Any]]:
    lines = json_lines(path.read_text())
    assert all(set(line) == {"t", "frame"} and isinstance(line["t"], float) for line in lines)
    times = [line["t"] for line in lines]
    assert times == sorted(times)
    return [json.loads(str(line["frame"])) for line in lines]


def test_record_writes_raw_frames_with_receive_times(recording: Path) -> None:
    frames = recorded_frames(recording)
    assert len(frames) == 80
    assert frames[0]["e"] == "subscribed"
    assert {frame.get("c") for frame in frames[1:]} == {"book", "trade", "ticker"}


STATUS_LINE = re.compile(
    r"recording (?P<path>\S+): (?P<frames>\d+) frames, [\d.]+ (B|kB|MB|GB|TB), "
    r"[\d.]+ frames/s, \d+:\d\d:\d\d elapsed(, connecting|, reconnecting)?(, \d+ reconnects)?"
)
SUMMARY_LINE = re.compile(
    r"recorded (?P<frames>\d+) frames to (?P<path>\S+) \((?P<size>[\d.]+ \w+) in \d+:\d\d:\d\d\)"
)


def test_record_reports_progress_in_plain_lines_off_a_terminal(
    simulator_uri: str, tmp_path: Path
) -> None:
    path = tmp_path / "status.jsonl"
    result = run_cli(
        "record", str(path), "--uri", simulator_uri, "book:btcusdt:5",
        "--duration", "1", "--status-every", "0.2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    *status_lines, last = result.stderr.splitlines()
    # The first line is due at 0.2 s, before the 1 s limit: there is always one.
    statuses = [STATUS_LINE.fullmatch(line) for line in status_lines]
    assert statuses and all(statuses), result.stderr
    counts = [int(match["frames"]) for match in statuses if match]
    assert counts == sorted(counts)
    assert all(match["path"] == str(path) for match in statuses if match)
    summary = SUMMARY_LINE.fullmatch(last)
    assert summary is not None, last
    assert int(summary["frames"]) == len(path.read_text().splitlines()) >= counts[-1]
    assert summary["size"] == format_size(path.stat().st_size)
    assert "\x1b[" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_record_keeps_a_live_status_line_on_a_terminal(simulator_uri: str, tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    code, text = run_on_terminal(
        "record", str(path), "-v", "--uri", simulator_uri, "book:btcusdt:5", "--duration", "1",
        COLUMNS="400",  # the whole line, however long the temporary path
    )  # fmt: skip
    assert code == 0, text
    assert "\x1b[?25l" in text and "\x1b[?25h" in text  # cursor hidden, then given back
    pieces = [ANSI.sub("", piece) for piece in re.split(r"[\r\n]+", text)]
    assert any(STATUS_LINE.fullmatch(piece) for piece in pieces), pieces
    # Log records are printed above the status line, whole.
    assert f"maicoin-ws: INFO maicoin.ws: connected to {simulator_uri}" in pieces
    # The status line is taken away at the end; the summary stays.
    final = [piece for piece in ANSI.sub("", text.rsplit("\x1b[2K", 1)[1]).splitlines() if piece]
    assert len(final) == 1 and SUMMARY_LINE.fullmatch(final[0]), final


def test_replay_rebuilds_the_book_and_counts_responses(recording: Path) -> None:
    frames = recorded_frames(recording)
    book_frames = [f for f in frames if f.get("c") == "book"]
    result = run_cli("replay", str(recording))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "frames          80\n" in out
    assert "decode errors   0\n" in out and "resyncs         0\n" in out
    updates = sum(1 for f in book_frames if f["e"] == "update")
    assert f"  update                   book             {updates}\n" in out
    # The replayed book is synced at the last recorded update id.
    assert f"btcusdt  synced li {book_frames[-1]['li']} v " in out


def test_replay_print_emits_every_response(recording: Path) -> None:
    result = run_cli("replay", str(recording), "--print")
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    assert len(responses) == 80
    assert [r["event"] for r in responses] == [f["e"] for f in recorded_frames(recording)]
    assert "frames          80" in result.stderr  # the summary moves out of the way


def serve_banner(process: subprocess.Popen[str], frames: int) -> str:
    banner = read_line(process)
    assert f"({frames} frames) on ws://127.0.0.1:" in banner, banner
    return banner.split(" on ")[1].split()[0]


def test_replay_serve_sends_the_recording_to_a_client(recording: Path) -> None:
    expected = [json.loads(line)["frame"] for line in recording.read_text().splitlines()]
    process = start_cli("replay", str(recording), "--serve", "--port", "0", "--speed", "0")
    try:
        with connect(serve_banner(process, 80)) as websocket:
            assert re.fullmatch(r"client 1 connected from 127\.0\.0\.1:\d+\n", read_line(process))
            websocket.send('{"action":"sub","id":"1","subscriptions":[]}')  # read, ignored
            received = [websocket.recv(TIMEOUT) for _ in expected]
            assert read_line(process) == (
                "client 1: sent all 80 frames (end of recording), connection kept open\n"
            )
        assert re.fullmatch(
            r"client 1 left after \d+:\d\d:\d\d: sent 80 of 80 frames\n", read_line(process)
        )
        assert received == expected
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err
    assert "Traceback" not in err


def test_replay_serve_notices_a_client_leaving_between_frames(tmp_path: Path) -> None:
    path = tmp_path / "slow.jsonl"
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for minute in range(3):  # a frame a minute
            writer.write(json.dumps({"e": "update", "n": minute}), 1_700_000_000.0 + 60 * minute)
    process = start_cli("replay", str(path), "--serve", "--port", "0")
    try:
        with connect(serve_banner(process, 3)) as websocket:
            assert "client 1 connected from " in read_line(process)
            assert json.loads(websocket.recv(TIMEOUT)) == {"e": "update", "n": 0}
        # Reported when the client leaves, not when the next frame would be due.
        assert re.fullmatch(
            r"client 1 left after 0:00:\d\d: sent 1 of 3 frames\n", read_line(process)
        )
    finally:
        code, out, err = interrupt(process)
    assert code == 0, err
    assert out == ""


def test_replay_refuses_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    result = run_cli("replay", str(path))
    assert result.returncode == 2
    assert "is not a recording" in result.stderr


# -- bench ------------------------------------------------------------------------------------


def test_bench_prints_the_end_to_end_table() -> None:
    result = run_cli(
        "bench", "--frames", "3000", "--repeat", "1", "--transports", "websockets",
        "--loops", "asyncio", "--modes", "receive,inline",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| websockets")]
    assert len(rows) == 2
    assert "receive only (ceiling)" in rows[0] and "Stream, inline" in rows[1]
    assert all(row.rstrip().endswith("| yes |") for row in rows)
    # Progress stays off stdout: a line per run, with the runs done and the time left.
    progress = result.stderr.splitlines()
    assert len(progress) == 2, result.stderr
    assert progress[0].startswith("[1/1] websockets asyncio receive")
    assert re.search(r"ok  \(1/2 runs, about \d+:\d\d:\d\d left\)$", progress[0])
    assert progress[1].startswith("[1/1] websockets asyncio inline")
    assert progress[1].endswith("ok  (2/2 runs, done)")


# -- metrics ----------------------------------------------------------------------------------

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
DEFAULT = frozenset({("stream", "default")})
BTCUSDT_BOOK = frozenset({("stream", "default"), ("market", "btcusdt")})


def scrape(url: str) -> tuple[str, Samples]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
        assert reply.status == 200
        text = str(reply.read().decode())
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def scrape_until(url: str, ready: Any, what: str) -> tuple[str, Samples]:
    """Scrape until ``ready(samples)``; at most 200 scrapes, 50 ms apart."""
    for _ in range(200):
        text, samples = scrape(url)
        if ready(samples):
            return text, samples
        time.sleep(0.05)
    raise AssertionError(f"never scraped {what}: {samples}")


def start_with_metrics(*args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    """Start a command with ``--metrics-port 0``; the process and its metrics URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "maicoin.ws", *args, "--metrics-port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(**env),
    )
    line = read_line(process, stderr=True)
    match = re.fullmatch(
        rf"maicoin-ws {args[0]}: Prometheus metrics on (http://127\.0\.0\.1:\d+/metrics)\n", line
    )
    assert match is not None, line
    return process, match[1]


def test_stream_serves_its_metrics(simulator_uri: str) -> None:
    pytest.importorskip("prometheus_client")
    process, url = start_with_metrics(
        "stream", "--uri", simulator_uri, "book:btcusdt:5", "ticker:btcusdt",
        MAX_API_KEY="key", MAX_API_SECRET="secret",
    )  # fmt: skip
    try:
        text, samples = scrape_until(
            url,
            lambda samples: samples.get(("maicoin_ws_book_synced", BTCUSDT_BOOK)) == 1,
            "a synced book",
        )
        assert samples[("maicoin_ws_messages_total", DEFAULT)] > 0
        assert samples[("maicoin_ws_connected", DEFAULT)] == 1
        assert samples[("maicoin_ws_connections_total", DEFAULT)] == 1
        assert samples[("maicoin_ws_decode_errors_total", DEFAULT)] == 0
        assert samples[("maicoin_ws_requests_sent_total", DEFAULT)] == 2  # auth, sub
        assert any(name == "python_info" for name, _ in samples)  # the global registry
        assert "secret" not in text
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err
    assert "secret" not in err


def test_relay_serves_its_upstream_metrics(simulator_uri: str) -> None:
    pytest.importorskip("prometheus_client")
    process, url = start_with_metrics(
        "relay", "--uri", simulator_uri, "--port", "0", "book:btcusdt:5"
    )
    try:
        _, samples = scrape_until(
            url,
            lambda samples: samples.get(("maicoin_ws_book_synced", BTCUSDT_BOOK)) == 1,
            "the relay's book synced",
        )
        assert samples[("maicoin_ws_connections_total", DEFAULT)] == 1
        assert samples[("maicoin_ws_messages_total", DEFAULT)] > 0
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err


def test_record_serves_its_metrics(simulator_uri: str, tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client")
    path = tmp_path / "metrics.jsonl"
    process, url = start_with_metrics("record", str(path), "--uri", simulator_uri, "book:btcusdt:5")
    try:
        _, samples = scrape_until(
            url,
            lambda samples: samples.get(("maicoin_ws_messages_total", DEFAULT), 0) >= 10,
            "10 messages",
        )
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err
    summary = SUMMARY_LINE.search(err)
    assert summary is not None, err
    # Every frame the stream had decoded by the scrape was recorded.
    recorded = len(path.read_text().splitlines())
    assert int(summary["frames"]) == recorded >= samples[("maicoin_ws_messages_total", DEFAULT)]


def test_a_metrics_port_in_use_exits_with_1(simulator_uri: str) -> None:
    pytest.importorskip("prometheus_client")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "stream", "--uri", simulator_uri, "ticker:btcusdt", "--metrics-port", str(port)
        )
    assert result.returncode == 1, result.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}: " in result.stderr
    assert "Traceback" not in result.stderr


# -- usage errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["stream", "candles:btcusdt"], "unknown channel 'candles'"),
        (["stream", "book"], "book needs a market: book:MARKET[:DEPTH]"),
        (["stream", "ticker"], "ticker needs a market"),
        (["stream", "book:btcusdt:7"], "book depth must be one of (1, 5, 10, 20, 50)"),
        (["stream", "book:btcusdt:deep"], "book depth must be one of 1, 5, 10, 20, 50"),
        (["stream", "kline:btcusdt:2m"], "resolution must be one of 1m, 5m, 15m, 30m, 1h"),
        (["stream", "pool_quota"], "pool_quota needs a currency"),
        (["stream", "ticker:btcusdt", "--filters", "orders"], "unknown filter 'orders'"),
        (["stream", "ticker:btcusdt", "--count", "0"], "expected a positive number"),
        (["stream"], "nothing to subscribe to"),
        (["stream", "order"], "need MAX_API_KEY and MAX_API_SECRET"),
        (["stream", "--uri", "http://example.com", "ticker:btcusdt"], "scheme isn't ws or wss"),
        (["record", "/nonexistent-dir/x.jsonl", "ticker:btcusdt"], "cannot write"),
        (["stream", "ticker:btcusdt", "--metrics-port", "70000"], "expected a port number"),
        (["record", "x.jsonl", "ticker:btcusdt", "--status-every", "0"], "expected a positive"),
        (["stream", "ticker:btcusdt", "--metrics-addr", "0.0.0.0"], "needs --metrics-port"),
        (["demo", "--market", "btc-usd"], "unknown market 'btc-usd'"),
        (["demo", "--duration", "-1"], "expected a positive number"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["bench", "--loops", "trio"], "loops must be chosen from asyncio, uvloop"),
    ],
)
def test_bad_arguments_exit_with_2_and_say_what_is_accepted(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_channel_lists_every_accepted_form() -> None:
    result = run_cli("stream", "candles:btcusdt")
    for form in ("book:MARKET[:DEPTH]", "kline:MARKET[:RESOLUTION]", "market_status"):
        assert form in result.stderr


def test_only_one_credential_is_a_usage_error() -> None:
    result = run_cli("stream", "ticker:btcusdt", MAX_API_KEY="key")
    assert result.returncode == 2
    assert "MAX_API_SECRET is missing" in result.stderr


def test_help_documents_commands_and_exit_statuses() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("demo", "stream", "record", "replay", "simulate", "bench", "130"):
        assert word in result.stdout


def test_console_script_runs_the_same_main() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    module, _, name = pyproject["project"]["scripts"]["maicoin-ws"].partition(":")
    assert getattr(importlib.import_module(module), name) is cli.main


def test_relay_serves_a_stream_from_its_upstream(simulator_uri: str) -> None:
    process = start_cli("relay", "--uri", simulator_uri, "--port", "0", "book:btcusdt:5")
    try:
        banner = read_line(process, stderr=True)
        match = re.fullmatch(
            r"maicoin-ws relay: relaying \S+ on (ws://127\.0\.0\.1:\d+/ws)\n", banner
        )
        assert match, banner
        result = run_cli("stream", "--uri", match[1], "--count", "3", "book:btcusdt:5")
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [line["event"] for line in lines[:2]] == ["subscribed", "snapshot"]
        assert lines[1]["market"] == "btcusdt" and len(lines[1]["asks"]) == 5
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err
    assert "served 1 consumer(s)" in err and "Traceback" not in err


def test_relay_refuses_private_channels() -> None:
    result = run_cli("relay", "--port", "0", "order")
    assert result.returncode == 2
    assert "private channels (order, trade_update, balance_update) are not SUBSCRIPTIONs" in (
        result.stderr
    )


def test_relay_private_needs_both_credentials() -> None:
    result = run_cli("relay", "--port", "0", "--private", MAX_API_KEY="key")
    assert result.returncode == 2
    assert "--private needs MAX_API_KEY and MAX_API_SECRET" in result.stderr
    assert "MAX_API_SECRET not set" in result.stderr


def test_relay_private_serves_the_account_to_a_stream_with_the_same_key(
    simulator_uri: str,
) -> None:
    process = start_cli(
        "relay", "--uri", simulator_uri, "--port", "0", "--private",
        MAX_API_KEY="key", MAX_API_SECRET="secret",
    )  # fmt: skip
    try:
        banner = read_line(process, stderr=True)
        match = re.fullmatch(
            r"maicoin-ws relay: relaying \S+ on (ws://127\.0\.0\.1:\d+/ws) \(and the account, "
            r"to consumers authenticated as it\)\n",
            banner,
        )
        assert match, banner
        result = run_cli(
            "stream", "--uri", match[1], "--filters", "order,account", "--count", "3",
            MAX_API_KEY="key", MAX_API_SECRET="secret",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        events = [r["event"] for r in json_lines(result.stdout)]
        assert events == ["authenticated", "order_snapshot", "account_snapshot"]
        refused = run_cli(
            "stream", "--uri", match[1], MAX_API_KEY="key", MAX_API_SECRET="wrong-secret"
        )
        assert refused.returncode == 1 and "E-1007" in refused.stderr
    finally:
        code, _, err = interrupt(process)
    assert code == 0, err
    assert "secret" not in banner + err and "Traceback" not in err


def test_relay_refuses_a_redis_url_that_is_not_one() -> None:
    result = run_cli("relay", "--port", "0", "--redis", "http://localhost:6379", "book:btcusdt")
    assert result.returncode == 2
    assert "--redis must be a redis:// or rediss:// URL" in result.stderr


def test_relay_publishes_to_redis_for_a_stream_on_a_redis_uri(
    simulator_uri: str, tmp_path: Path
) -> None:
    with redis_server(tmp_path) as url:
        process = start_cli(
            "relay", "--uri", simulator_uri, "--port", "0", "--redis", url, "book:btcusdt:5"
        )
        try:
            read_line(process, stderr=True)  # the banner: listening
            result = run_cli("stream", "--uri", url, "--count", "3", "book:btcusdt:5")
            assert result.returncode == 0, result.stderr
            lines = [json.loads(line) for line in result.stdout.splitlines()]
            assert [line["event"] for line in lines] == ["subscribed", "snapshot", "update"]
            assert len(lines[1]["asks"]) == 5
        finally:
            code, _, err = interrupt(process)
    assert code == 0, err
    assert "Traceback" not in err
