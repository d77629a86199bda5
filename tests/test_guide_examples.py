"""Every example of the guide (``docs/guide.md``), run as written against the simulator.

The simulator runs in a thread of this process; each example runs in a fresh interpreter
with ``MAX_WS_URI`` (and the credentials) pointing at it, exactly as the guide says to try
the examples offline. The testing section's example is a test file, run with pytest in an
empty directory (no conftest, no configuration): the plugin alone makes it work.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import maicoin.ws
from maicoin.ws.testing import MaxSimulator

KEY, SECRET = "guide-key", "guide-secret"
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide.md"
PACKAGE_ROOT = str(Path(maicoin.ws.__file__).resolve().parents[2])
TIMEOUT = 90

# What each example must print (regular expressions), by section and example number.
EXPECTED: dict[tuple[str, int], list[str]] = {
    ("Your first stream", 1): [
        r"ticker close \d", r"trade \S+ x \S+", "subscribed", r"\d+ messages, \d+ bytes"
    ],
    ("Handlers and dispatch modes", 1): [r"^stored \d+ handler errors 0$"],
    ("Handlers and dispatch modes", 2): [r"^ethusdt \d+\.\d+$"],
    ("The order book", 1): [
        r"^#\d+ bid \S+ x \S+ \| ask \S+ x \S+ \| spread \d", r"^best bids: \['\d"
    ],
    ("Private channels", 1): [r"^order_snapshot \d+ ", r"^account_snapshot \w+ available "],
    ("Reconnects, heartbeats and rate limits", 1): [
        r"^connected, connection 1$", r"^StreamStats\(messages=\d+"
    ],
    ("Testing with the simulator", 1): [r"^3 passed"],
    ("In production", 1): [
        r"^metrics on http://127\.0\.0\.1:\d+/metrics$",
        r"^ticker \S+ best bid \S+$",
        r"^messages \d+ resyncs 0$",
    ],
}  # fmt: skip


def guide_examples() -> list[tuple[str, int, str]]:
    """(section, number in the section, code) of every ``python`` block of the guide."""
    examples = []
    section, number = "", 0
    pattern = re.compile(r"^## (?P<heading>[^\n]+)$|^```python\n(?P<code>.*?)^```", re.M | re.S)
    for match in pattern.finditer(GUIDE.read_text(encoding="utf-8")):
        if match["heading"]:
            section, number = match["heading"].strip(), 0
        else:
            number += 1
            examples.append((section, number, match["code"]))
    return examples


EXAMPLES = guide_examples()


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


def test_every_example_of_the_guide_is_checked() -> None:
    assert [(section, number) for section, number, _ in EXAMPLES] == list(EXPECTED)


@pytest.mark.parametrize(
    ("section", "number", "code"), EXAMPLES, ids=[f"{s} {n}" for s, n, _ in EXAMPLES]
)
def test_guide_example(section: str, number: int, code: str, sim_uri: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAX_")}
    env.update(
        MAX_WS_URI=sim_uri,
        MAX_API_KEY=KEY,
        MAX_API_SECRET=SECRET,
        PYTHONPATH=PACKAGE_ROOT + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if "def test_" in code:
        (tmp_path / "test_from_the_guide.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    else:
        command = [sys.executable, "-c", code]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    for expected in EXPECTED[(section, number)]:
        assert re.search(expected, result.stdout, flags=re.M), f"{expected!r} not in:\n{output}"
    assert SECRET not in output


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
