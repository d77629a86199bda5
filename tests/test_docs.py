"""Documentation: every public name has a docstring, the reference builds, the README holds."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

import maicoin.ws

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def own_docstring(obj: Any) -> str | None:
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


@pytest.mark.parametrize("name", maicoin.ws.__all__)
def test_every_exported_name_has_a_docstring(name: str) -> None:
    assert own_docstring(getattr(maicoin.ws, name)), f"maicoin.ws.{name} has no docstring"


@pytest.mark.parametrize(
    "name", [n for n in maicoin.ws.__all__ if inspect.isclass(getattr(maicoin.ws, n))]
)
def test_public_methods_and_properties_have_docstrings(name: str) -> None:
    undocumented = []
    for attribute, value in vars(getattr(maicoin.ws, name)).items():
        if attribute.startswith("_"):
            continue
        function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if inspect.isfunction(function) and not own_docstring(function):
            undocumented.append(attribute)
    assert not undocumented, f"{name}: {undocumented} have no docstring"


def public_modules() -> list[str]:
    found = pkgutil.walk_packages(maicoin.ws.__path__, "maicoin.ws.")
    return [m.name for m in found if not any(p.startswith("_") for p in m.name.split("."))]


def test_every_public_module_says_what_it_is() -> None:
    undocumented = [n for n in public_modules() if not own_docstring(importlib.import_module(n))]
    assert not undocumented


def test_the_api_reference_builds_with_the_guide_as_front_page(tmp_path: Path) -> None:
    pytest.importorskip("pdoc")
    build = runpy.run_path(str(ROOT / "docs" / "build.py"))["build"]
    own = maicoin.ws.__doc__
    front = build(tmp_path)
    assert maicoin.ws.__doc__ == own  # the build lends the guide to pdoc and takes it back
    assert "maicoin/ws.html" in front.read_text()
    package_page = (tmp_path / "maicoin" / "ws.html").read_text()
    assert "Public channels" in package_page and "Handlers and dispatch modes" in package_page
    assert "Stream.from_env" in package_page
    assert (tmp_path / "maicoin" / "ws" / "book.html").exists()
    assert (tmp_path / "maicoin" / "ws" / "testing.html").exists()


# -- README -----------------------------------------------------------------------------------


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_quickstart_has_the_two_commands() -> None:
    section = readme().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(python3 .+)$", section, flags=re.M)
    assert commands == [
        "python3 -m pip install . && python3 -m maicoin.ws demo --duration 10",
        "python3 -m pip install '.[test]' && python3 -m pytest",
    ]
    # CI runs the second one from a fresh clone (its install may add extras to [test]),
    # from the wheel built of this tree.
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip wheel --quiet --no-deps --wheel-dir \.ci-wheel \.$", ci, flags=re.M)
    assert re.search(r'pip install --quiet "\$\{WHEEL\}\[test(,\w+)*\]"', ci)
    assert re.search(r"^python -m pytest$", ci, flags=re.M)


def test_readme_python_examples_are_valid_python() -> None:
    blocks = re.findall(r"```python\n(.*?)```", readme(), flags=re.S)
    assert len(blocks) >= 10
    for block in blocks:
        ast.parse(block)


def test_readme_names_the_exit_statuses_the_cli_uses() -> None:
    from maicoin.ws.cli import EXIT_STATUSES

    text = readme()
    for status in re.findall(r"^  (\d+) ", EXIT_STATUSES, flags=re.M):
        assert f"| {status} |" in text
