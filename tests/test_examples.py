"""Every script in ``examples/`` runs unchanged against the simulator and stops by itself.

Each runs in a fresh interpreter with ``MAX_WS_URI`` (and ``MAX_API_KEY``/``MAX_API_SECRET``)
pointing at a simulator that the plugin serves from a background thread of this process.
"""

from __future__ import annotations

import ast
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maicoin.ws.testing import Faults, MaxSimulator
from maicoin.ws.testing.pytest_plugin import SimulatorCredentials, ThreadedSimulatorFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT = 60.0


@pytest.fixture
def example_env(
    max_simulator: MaxSimulator, max_credentials: SimulatorCredentials
) -> dict[str, str]:
    return environment(max_simulator, max_credentials)


def environment(sim: MaxSimulator, credentials: SimulatorCredentials) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAX_")}
    env.update(
        MAX_WS_URI=sim.uri, MAX_API_KEY=credentials.api_key, MAX_API_SECRET=credentials.api_secret
    )
    return env


def run(script: str, env: dict[str, str], *args: str) -> str:
    """Run an example to its end; return its output after checking it exited cleanly."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_every_example_is_tested_and_documents_itself() -> None:
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    tested = sorted(
        {m for m in re.findall(r'"(\w+\.py)"', Path(__file__).read_text()) if m in scripts}
    )
    assert scripts == tested
    for script in scripts:
        tree = ast.parse((EXAMPLES / script).read_text())
        assert ast.get_docstring(tree), script
        # The endpoint comes from MAX_WS_URI only, so the same script runs live or here.
        assert "uri=" not in (EXAMPLES / script).read_text(), script


def test_public_channels(example_env: dict[str, str]) -> None:
    out = run("public_channels.py", example_env, "--count", "40")
    lines = out.strip().splitlines()
    assert lines[0].startswith("{'event': <Event.SUBSCRIBED: 'subscribed'>")
    for channel in ("BOOK", "TICKER", "TRADE", "KLINE", "MARKET_STATUS"):
        assert f"<Channel.{channel}:" in out, channel
    assert lines[-1] == "received 40 responses" and len(lines) == 41


def test_private_channels(example_env: dict[str, str]) -> None:
    out = run("private_channels.py", example_env)
    events = [line.split(" ")[0].rstrip(":") for line in out.strip().splitlines()[:-1]]
    assert events[0] == "authenticated"
    assert sorted(events[1:]) == ["account_snapshot", "order_snapshot"]
    assert " available " in out  # balances of the account snapshot
    assert last_line(out) == "received 3 responses"


def test_private_channels_without_credentials_says_so(example_env: dict[str, str]) -> None:
    env = {k: v for k, v in example_env.items() if k != "MAX_API_SECRET"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "private_channels.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "private_channels: environment variable MAX_API_SECRET is missing or empty"
    )


def test_dispatch_inline(example_env: dict[str, str]) -> None:
    out = run("dispatch_inline.py", example_env, "--count", "30")
    assert last_line(out) == "book updates in order: True"
    book_lines = re.findall(r"update (\d+), book at (\d+)", out)
    assert book_lines
    assert all(frame == book for frame, book in book_lines)  # the book holds its own frame


def test_dispatch_task(example_env: dict[str, str]) -> None:
    out = run("dispatch_task.py", example_env, "--count", "10", "--work", "0.05")
    assert "handler error: RuntimeError('a bug in a handler') (on a subscribed response)" in out
    assert re.search(r"^handled 10; at most \d+ handlers at once$", out, flags=re.M)
    assert last_line(out) == "handler errors: 1"


def test_dispatch_queue(example_env: dict[str, str]) -> None:
    out = run("dispatch_queue.py", example_env, "--count", "25")
    assert re.match(r"1 subscribed None \(queued: \d+\)", out)
    assert last_line(out) == "consumed 25 responses"


def test_reconnect_policy(
    max_simulator_factory: ThreadedSimulatorFactory, max_credentials: SimulatorCredentials
) -> None:
    # Every connection is closed after 8 frames: 20 responses need at least 3 connections.
    sim = max_simulator_factory(faults=Faults(close_after_frames=8))
    out = run(
        "reconnect_policy.py",
        environment(sim, max_credentials),
        *("--count", "20", "--base-delay", "0.01", "--max-delay", "0.05", "--jitter", "0"),
    )
    assert "connected (connection 1)" in out and "connected (connection 3)" in out
    assert "reconnecting after a close" in out
    stats = dict(pair.split("=") for pair in last_line(out).split())
    assert stats["responses"] == "20" and int(stats["connections"]) >= 3
    assert int(stats["reconnects"]) == int(stats["connections"]) - 1


def test_async_usage(example_env: dict[str, str]) -> None:
    out = run("async_usage.py", example_env, "--count", "30")
    lines = out.strip().splitlines()
    assert lines[0] == "1 subscribed"
    first_ticker = next(i for i, line in enumerate(lines) if " ticker " in line)
    after = "\n".join(lines[first_ticker + 1 :])
    assert "unsubscribed" in after and " book btcusdt" in after
    assert last_line(out) == "received 30 responses"


def test_trading_state(example_env: dict[str, str]) -> None:
    out = run("trading_state.py", example_env, "--duration", "1.5")
    lines = out.strip().splitlines()
    synced = next(i for i, line in enumerate(lines) if line.startswith("synced: "))
    held = re.fullmatch(r"synced: (\d+) open orders, (\d+) currencies", lines[synced])
    assert held is not None, lines[synced]
    account = lines[synced + 1 :]
    # What the caches held at that moment, order by order and currency by currency.
    assert sum(line.startswith("open ") for line in account) == int(held[1])
    assert sum(line.startswith("balance ") for line in account) == int(held[2]) >= 1
    assert re.search(r"^balance usdt available [\d.]+ locked [\d.]+$", out, flags=re.M)
    assert re.fullmatch(r"after 1\.5 s: \d+ open orders", last_line(out))


def test_threaded_stream(example_env: dict[str, str]) -> None:
    out = run("threaded_stream.py", example_env, "--count", "30")
    assert last_line(out) == "read 30 responses, dropped 0"
    assert re.search(r"^\d+ update book best bid \d", out, flags=re.M)


def test_prometheus_metrics(example_env: dict[str, str]) -> None:
    pytest.importorskip("prometheus_client")
    out = run("prometheus_metrics.py", example_env, "--port", "0", "--count", "20")
    assert re.match(r"metrics on http://127\.0\.0\.1:\d+/metrics", out)
    assert 'maicoin_ws_connections_total{stream="btcusdt"} 1.0' in out
    messages = re.search(r'^maicoin_ws_messages_total\{stream="btcusdt"\} (\S+)$', out, re.M)
    assert messages is not None and float(messages.group(1)) >= 20


# -- the order book, stepped by the test ------------------------------------------------------


class Lines:
    """The lines a running process prints, read in a thread, waited for with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        self._reader = threading.Thread(target=self._read, args=(stdout,), daemon=True)
        self._reader.start()

    def _read(self, stdout: object) -> None:
        for line in stdout:  # type: ignore[attr-defined]
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, matches: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line {what} in {self.seen}") from None
            if line is None:
                raise AssertionError(f"ended without a line {what}: {self.seen}")
            self.seen.append(line)
            if matches(line):
                return line


@pytest.fixture
def stepped_sim(max_simulator_factory: ThreadedSimulatorFactory) -> Iterator[MaxSimulator]:
    yield max_simulator_factory(update_interval=None, private_every=None, pool_quota_every=None)


def test_order_book(
    stepped_sim: MaxSimulator,
    max_simulator_factory: ThreadedSimulatorFactory,
    max_credentials: SimulatorCredentials,
) -> None:
    sim, call = stepped_sim, max_simulator_factory.call
    process = subprocess.Popen(
        [sys.executable, "-u", str(EXAMPLES / "order_book.py"), "--depth", "5", "--count", "8"],
        env=environment(sim, max_credentials),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = Lines(process)
        snapshot = lines.wait_for(lambda line: " snapshot: " in line, "with the snapshot")
        call(sim.step, 3)
        lines.wait_for(lambda line: " update: " in line, "with an update")
        call(sim.inject_gap, "btcusdt")
        resync = None
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            call(sim.step, 1)  # the stream only moves when the market does
            if resync is None and any(line.startswith("resync") for line in lines.seen):
                resync = next(line for line in lines.seen if line.startswith("resync"))
            time.sleep(0.02)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lines.wait_for(lambda line: line.startswith("resyncs:"), "with the resync count")
    assert process.returncode == 0 and "Traceback" not in err, err
    assert re.fullmatch(
        r"btcusdt #\d+ snapshot: bid \S+ x \S+ \| ask \S+ x \S+ \| spread \S+ \| mid \S+ \| "
        r"levels 5/5",
        snapshot,
    )
    assert any(line.startswith("resync btcusdt: gap after update ") for line in lines.seen)
    assert lines.seen[-1] == "resyncs: 1"
    assert lines.seen[-2].startswith("best bids at the end: ['")
