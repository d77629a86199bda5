"""The simulator as its own process, and the pieces it is built from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.sync.client import connect

from maicoin.ws.testing import main, market_spec
from maicoin.ws.testing.book import ASK, BID, TrueBook
from maicoin.ws.testing.catalog import format_units, to_units

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_command_line_serves_a_simulator() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "maicoin.ws.testing", "--port", "0", "--markets", "ethtwd"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            uri = banner.split(" on ")[1].split()[0]
            with connect(uri) as websocket:
                subscription = {"channel": "book", "market": "ethtwd", "depth": 1}
                websocket.send(
                    json.dumps({"action": "sub", "id": 1, "subscriptions": [subscription]})
                )
                assert json.loads(websocket.recv(5))["e"] == "subscribed"
                snapshot = json.loads(websocket.recv(5))
        finally:
            process.terminate()
    assert "API keys: key" in banner and "secret" not in banner
    assert snapshot["M"] == "ethtwd" and len(snapshot["a"]) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--api-key", "no-colon"], "KEY:SECRET"),
        (["--rate", "0"], "--rate"),
        (["--markets", "btc-usd"], "unknown market"),
    ],
)
def test_bad_options_exit_with_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_units_round_trip_with_fixed_decimals() -> None:
    assert to_units("60000.12", 2) == 6000012
    assert to_units("1", 3) == 1000
    assert format_units(6000012, 2) == "60000.12"
    assert format_units(5, 6) == "0.000005"
    with pytest.raises(ValueError, match="at most 2 decimals"):
        to_units("1.234", 2)


def test_market_specs() -> None:
    assert market_spec("btcusdt").price_decimals == 2
    generic = market_spec("solusdt")
    assert (generic.base, generic.quote) == ("sol", "usdt")
    with pytest.raises(ValueError, match="unknown market 'btc-usd'"):
        market_spec("btc-usd")


def test_true_book_rebuilds_old_states() -> None:
    book = TrueBook(first_update_id=10, history=5)
    book.apply([(ASK, 101, 5), (BID, 99, 7)])
    book.apply([(ASK, 101, 0), (ASK, 102, 1), (ASK, 101, 3)])
    assert book.update_id == 12
    assert book.top() == ([(101, 3), (102, 1)], [(99, 7)])
    assert book.state_at(11).asks == [(101, 5)]
    assert book.state_at(10).asks == book.state_at(10).bids == []
    book.bump_version()
    book.apply([(BID, 99, 0)])
    assert (book.state_at(12).version, book.state_at(13).version) == (1, 2)
