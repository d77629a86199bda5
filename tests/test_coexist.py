"""The finder that keeps ``maicoin.ws`` ours beside the original distribution.

The wheel installs its tree under ``site-packages/maicoin-ws/`` and a ``.pth`` imports
``_maicoin_ws_coexist`` at start-up (setup.py). Here a stand-in for the original, a regular
``maicoin`` package with its own ``ws`` and ``v3``, comes first on ``sys.path`` of a fresh
interpreter; the real thing, installed from PyPI in every order, is .ci/coexistence.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import _maicoin_ws_coexist as coexist
import maicoin.ws

PACKAGE_DIR = Path(maicoin.ws.__file__).resolve().parent


def test_the_finder_points_at_this_package() -> None:
    assert Path(coexist.PACKAGE_DIR).resolve() == PACKAGE_DIR
    spec = coexist.WsFinder.find_spec("maicoin.ws")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == PACKAGE_DIR / "__init__.py"
    assert [Path(p).resolve() for p in spec.submodule_search_locations or ()] == [PACKAGE_DIR]


def test_the_finder_answers_for_maicoin_ws_only() -> None:
    for name in ("maicoin", "maicoin.v3", "maicoin.ws.stream", "maicoin.wsx", "ws"):
        assert coexist.WsFinder.find_spec(name) is None, name


def test_a_missing_package_leaves_the_name_to_the_other_finders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(coexist.WsFinder, "package_dir", str(tmp_path / "maicoin" / "ws"))
    assert coexist.WsFinder.find_spec("maicoin.ws", [str(tmp_path / "maicoin")]) is None


def test_the_originals_package_is_passed_over(tmp_path: Path) -> None:
    original = _fake_original(tmp_path / "original") / "maicoin"
    spec = coexist.WsFinder.find_spec("maicoin.ws", [str(original)])
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == PACKAGE_DIR / "__init__.py"


def test_install_is_idempotent() -> None:
    coexist.install()
    coexist.install()
    assert sys.meta_path.count(coexist.WsFinder) == 1


def _fake_original(root: Path) -> Path:
    """A regular ``maicoin`` package (``__init__.py``) with its own ``ws`` and ``v3``."""
    for package in ("maicoin", "maicoin/ws", "maicoin/v3"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("ORIGINAL = True\n")
    (root / "maicoin" / "ws" / "stream.py").write_text("ORIGINAL = True\n")
    return root


def _fake_copy_of_ours(root: Path) -> Path:
    """A maicoin-ws tree (namespace ``maicoin``, ``ws/_frames``), as a source checkout is."""
    (root / "maicoin" / "ws" / "_frames").mkdir(parents=True)
    for module in ("ws/__init__.py", "ws/stream.py", "ws/_frames/__init__.py"):
        (root / "maicoin" / module).write_text("COPY = True\n")
    return root


def _imports(*roots: Path, with_finder: bool) -> dict[str, str | None]:
    script = (
        "import json, sys\n"
        + ("import _maicoin_ws_coexist\n" if with_finder else "")
        + "import maicoin, maicoin.ws, maicoin.ws.stream, maicoin.v3\n"
        "print(json.dumps({m: sys.modules[m].__file__ for m in"
        " ('maicoin', 'maicoin.ws', 'maicoin.ws.stream', 'maicoin.v3')}))\n"
    )
    if not (roots[0] / "maicoin" / "v3").exists():
        script = script.replace(", maicoin.v3\n", "\n").replace(", 'maicoin.v3'", "")
    hook_dir = str(Path(coexist.__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, roots), hook_dir])}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=roots[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, str | None] = json.loads(done.stdout)
    # A namespace package has no file: None.
    return {name: path and str(Path(path).resolve()) for name, path in result.items()}


def test_with_the_finder_maicoin_ws_is_ours_and_maicoin_v3_the_originals(
    tmp_path: Path,
) -> None:
    original = _fake_original(tmp_path).resolve() / "maicoin"
    found = _imports(tmp_path, with_finder=True)
    assert found == {
        "maicoin": str(original / "__init__.py"),
        "maicoin.ws": str(PACKAGE_DIR / "__init__.py"),
        "maicoin.ws.stream": str(PACKAGE_DIR / "stream.py"),
        "maicoin.v3": str(original / "v3" / "__init__.py"),
    }


def test_a_wheel_install_loads_the_finder_at_start_up_so_it_wins_anyway(
    tmp_path: Path,
) -> None:
    # What the .pth does in a wheel install; in an editable install nothing does, and the
    # original's regular package (first on the path here) keeps its own ``ws``.
    original = _fake_original(tmp_path).resolve() / "maicoin"
    found = _imports(tmp_path, with_finder=False)
    wheel_install = Path(coexist.__file__).resolve().parent.name == "maicoin-ws"
    expected = PACKAGE_DIR / "__init__.py" if wheel_install else original / "ws" / "__init__.py"
    assert found["maicoin.ws"] == str(expected)
    assert found["maicoin.v3"] == str(original / "v3" / "__init__.py")


def test_a_copy_of_ours_first_on_the_path_keeps_its_place(tmp_path: Path) -> None:
    # ``PYTHONPATH=src`` beside an installed wheel: the source tree is imported, as before.
    copy = _fake_copy_of_ours(tmp_path).resolve() / "maicoin"
    found = _imports(tmp_path, with_finder=True)
    assert found["maicoin"] is None  # the namespace package
    assert found["maicoin.ws"] == str(copy / "ws" / "__init__.py")
    assert found["maicoin.ws.stream"] == str(copy / "ws" / "stream.py")
