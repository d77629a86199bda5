"""Every example of the user's WebSocket guide, run as a script against the simulator.

The simulator runs in a thread of this process; each example runs in a fresh interpreter
with ``MAX_WS_URI`` (and the credentials) pointing at it, exactly as the guide says to
configure a staging or test endpoint.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from maicoin.ws.testing import MaxSimulator

KEY, SECRET = "guide-key", "guide-secret"

# Verbatim from the guide ("Public channels").
PUBLIC = """
from maicoin.ws import Channel, Stream, Subscription

stream = Stream()
stream.subscribe(
    [
        Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
        Subscription(channel=Channel.TICKER, market="btcusdt"),
        Subscription(channel=Channel.TRADE, market="btcusdt"),
        Subscription(channel=Channel.KLINE, market="btcusdt"),
        Subscription(channel=Channel.MARKET_STATUS),
    ]
)
stream.add_handler(lambda r: print(r.model_dump(exclude_none=True)))
stream.run()
"""

# "Private channels", both constructions, then the guide's handler and run().
PRIVATE = """
from maicoin.ws import Channel, Stream, Subscription

stream = Stream.from_env()
stream.subscribe(
    [
        Subscription(channel=Channel.ORDER),
        Subscription(channel=Channel.TRADE_UPDATE),
        Subscription(channel=Channel.BALANCE_UPDATE),
    ]
)
explicit = Stream(api_key="...", api_secret="...")

def on_response(response):
    if response.event == "ticker":
        ...
    print(response.event)

stream.add_handler(on_response)
stream.run()
"""

# "Handlers and dispatch modes" and "Reconnects and heartbeat options", verbatim.
CONSTRUCTION = """
from maicoin.ws import ReconnectPolicy, Stream

stream = Stream(dispatch="task", on_handler_error=lambda exc, response: print(exc))

queue_stream = Stream(dispatch="queue")
# elsewhere: response = await queue_stream.response_queue.get()

stream = Stream(
    reconnect_policy=ReconnectPolicy(max_retries=10, base_delay=1, max_delay=30),
    ping_interval=20,
    ping_timeout=20,
    close_timeout=5,
)
assert stream.connect_options == {"ping_interval": 20, "ping_timeout": 20, "close_timeout": 5}
assert stream.reconnect_policy.max_retries == 10
print("constructed")
"""

# "Async usage": the guide's `[...]` and `...` placeholders filled with a real subscription
# and handler; the queue example's "elsewhere" line is run for real.
ASYNC = """
import asyncio
from maicoin.ws import Channel, Stream, Subscription

async def main():
    stream = Stream.from_env()
    stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
    stream.add_handler(lambda r: print("handler", r.event))
    queue_stream = Stream(dispatch="queue")
    queue_stream.subscribe([Subscription(channel=Channel.TRADE, market="btcusdt")])
    runner = asyncio.ensure_future(queue_stream.arun())
    response = await queue_stream.response_queue.get()
    print("queued", response.event)
    await queue_stream.aclose()
    await runner
    await stream.arun()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def sim_uri() -> Iterator[str]:
    ready = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        async with MaxSimulator(api_keys={KEY: SECRET}, update_interval=0.02) as sim:
            stop = asyncio.Event()
            state.update(uri=sim.uri, loop=asyncio.get_running_loop(), stop=stop, sim=sim)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "simulator did not start"
    yield str(state["uri"])
    loop, stop = state["loop"], state["stop"]
    loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]
    thread.join(10)


def run_example(code: str, uri: str, *, wait_for: list[str], timeout: float = 20) -> str:
    """Run ``code``; once every string of ``wait_for`` was printed, interrupt it (Ctrl-C)."""
    env = dict(os.environ, MAX_WS_URI=uri, MAX_API_KEY=KEY, MAX_API_SECRET=SECRET)
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while not all(any(w in line for line in lines) for w in wait_for):
            if time.monotonic() > deadline:
                raise AssertionError(f"example never printed {wait_for}: {''.join(lines)[-2000:]}")
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        lines.extend(proc.stdout.readlines())
    return "".join(lines)


def test_public_channels_example(sim_uri: str) -> None:
    out = run_example(
        PUBLIC,
        sim_uri,
        wait_for=[
            "<Channel.BOOK: 'book'>",
            "<Channel.TICKER: 'ticker'>",
            "<Channel.TRADE: 'trade'>",
            "<Channel.KLINE: 'kline'>",
            "<Channel.MARKET_STATUS: 'market_status'>",
        ],
    )
    first = out.splitlines()[0]
    assert first.startswith("{'event': <Event.SUBSCRIBED: 'subscribed'>"), first
    assert "None" not in first  # exclude_none=True


def test_private_channels_example(sim_uri: str) -> None:
    out = run_example(
        PRIVATE,
        sim_uri,
        wait_for=["authenticated\n", "order_snapshot\n", "account_snapshot\n"],
    )
    assert "Error" not in out.split("Traceback")[0]


def test_dispatch_and_reconnect_construction_examples() -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CONSTRUCTION)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "constructed"


def test_async_usage_example(sim_uri: str) -> None:
    out = run_example(ASYNC, sim_uri, wait_for=["queued subscribed", "handler snapshot"])
    assert out.index("queued") < out.index("handler")


@pytest.mark.parametrize(
    ("opt_out_env", "use_uvloop", "expected"),
    [(None, None, "uvloop"), ("1", None, "asyncio"), (None, False, "asyncio")],
)
def test_run_uses_uvloop_unless_opted_out(
    sim_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    opt_out_env: str | None,
    use_uvloop: bool | None,
    expected: str,
) -> None:
    from maicoin.ws import Channel, Stream, Subscription

    if opt_out_env is None:
        monkeypatch.delenv("MAICOIN_WS_NO_UVLOOP", raising=False)
    else:
        monkeypatch.setenv("MAICOIN_WS_NO_UVLOOP", opt_out_env)
    stream = Stream(uri=sim_uri)
    stream.subscribe([Subscription(channel=Channel.TICKER, market="btcusdt")])
    loops: list[str] = []

    def handler(response: object) -> None:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        stream.stop()

    stream.add_handler(handler)
    stream.run(use_uvloop=use_uvloop)
    assert loops and set(loops) == {expected}
