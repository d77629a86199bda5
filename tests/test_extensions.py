"""The opt-out rule for compiled hot paths, and the selectors that obey it."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maicoin.ws._extensions import ENV_VAR, NO_EXTENSIONS, env_flag, extensions_disabled
from maicoin.ws._frames import dispatch

# Each selector module and the compiled module it should pick in a normal install.
SELECTORS = {
    "maicoin.ws._frames.book": "maicoin.ws._frames._book_c",
    "maicoin.ws._frames.dispatch": "maicoin.ws._frames._dispatch_c",
    "maicoin.ws._frames.frame_path": "maicoin.ws._frames._frame_path_c",
    "maicoin.ws._io.receive": "maicoin.ws._io._receive_c",
    "maicoin.ws._io.picows_listener": "maicoin.ws._io._picows_listener_c",
    # The public face of the book follows its selector.
    "maicoin.ws.book": "maicoin.ws._frames._book_c",
}


def selector_params() -> list[object]:
    return [pytest.param(name, id=name.removeprefix("maicoin.ws.")) for name in SELECTORS]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("   ", False),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        (" OFF ", False),
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("2", True),
        ("anything", True),
    ],
)
def test_env_flag_truth_table(value: str | None, expected: bool) -> None:
    assert env_flag(value) is expected


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="extensions are CPython-only")
def test_extensions_disabled_reads_the_variable() -> None:
    assert extensions_disabled({}) is False
    assert extensions_disabled({ENV_VAR: "0"}) is False
    assert extensions_disabled({ENV_VAR: "1"}) is True
    assert extensions_disabled({"OTHER": "1"}) is False


def test_dispatch_c_loaded() -> None:
    """Fails when a normal install runs without the compiled dispatcher."""
    if NO_EXTENSIONS:
        pytest.skip(f"{ENV_VAR} is set or the interpreter is not CPython")
    compiled = importlib.import_module("maicoin.ws._frames._dispatch_c")
    assert dispatch.IMPLEMENTATION == "c"
    assert dispatch.Dispatcher is compiled.Dispatcher


@pytest.mark.parametrize("selector", selector_params())
def test_selector_picks_compiled_module(selector: str) -> None:
    if NO_EXTENSIONS:
        pytest.skip(f"{ENV_VAR} is set or the interpreter is not CPython")
    assert importlib.import_module(selector).IMPLEMENTATION == "c"
    assert importlib.import_module(SELECTORS[selector]) is not None


def _implementations_in_subprocess(selectors: list[str], flag: str | None) -> dict[str, str]:
    """Import the selectors in a fresh interpreter with the opt-out variable as given."""
    source_root = Path(dispatch.__file__).resolve().parents[3]
    env = {key: value for key, value in os.environ.items() if key != ENV_VAR}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source_root), env.get("PYTHONPATH")]))
    if flag is not None:
        env[ENV_VAR] = flag
    script = (
        "import importlib, json, sys\n"
        "print(json.dumps({name: importlib.import_module(name).IMPLEMENTATION"
        " for name in sys.argv[1:]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *selectors],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("selector", selector_params())
def test_opt_out_selects_the_python_twin(selector: str) -> None:
    assert _implementations_in_subprocess([selector], "1") == {selector: "py"}


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="extensions are CPython-only")
def test_falsy_opt_out_keeps_compiled_modules() -> None:
    selectors = list(SELECTORS)
    assert _implementations_in_subprocess(selectors, "0") == dict.fromkeys(selectors, "c")
