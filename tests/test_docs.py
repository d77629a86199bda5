"""Documentation: every public name has a docstring, the reference builds, the README holds."""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import pkgutil
import re
import runpy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import maicoin.ws
from maicoin.ws import Stream

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


@pytest.fixture(scope="module")
def docs_build() -> dict[str, Any]:
    pytest.importorskip("pdoc")
    return runpy.run_path(str(ROOT / "docs" / "build.py"))


@pytest.fixture(scope="module")
def reference(docs_build: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API reference, built once for this module."""
    output = tmp_path_factory.mktemp("api")
    own = maicoin.ws.__doc__
    front = docs_build["build"](output)
    assert maicoin.ws.__doc__ == own  # the build lends the guide to pdoc and takes it back
    assert front == output / "index.html"
    return output


def test_the_api_reference_builds_with_the_guide_as_front_page(reference: Path) -> None:
    assert "maicoin/ws.html" in (reference / "index.html").read_text()
    package_page = (reference / "maicoin" / "ws.html").read_text()
    assert "Your first stream" in package_page and "Handlers and dispatch modes" in package_page
    assert "Stream.from_env" in package_page
    assert (reference / "maicoin" / "ws" / "book.html").exists()
    assert (reference / "maicoin" / "ws" / "testing.html").exists()


def test_the_api_reference_has_public_modules_only(
    docs_build: dict[str, Any], reference: Path
) -> None:
    pages = {p.relative_to(reference).with_suffix("").as_posix() for p in reference.rglob("*.html")}
    modules = {name.replace(".", "/") for name in docs_build["public_modules"]()}
    assert pages == {"index", *modules}
    assert "maicoin/ws/stream" in pages and "maicoin/ws/testing/pytest_plugin" in pages
    # Subpackages by what their packages export: no cli or testing internals.
    assert not {p for p in pages if p.startswith("maicoin/ws/cli/")}
    assert {p for p in pages if p.startswith("maicoin/ws/testing/")} == {
        "maicoin/ws/testing/pytest_plugin"
    }


def test_the_api_reference_shows_public_names_only(
    docs_build: dict[str, Any], reference: Path
) -> None:
    assert docs_build["check_reference"](reference) == []
    stream = (reference / "maicoin" / "ws" / "stream.html").read_text()
    assert "Mapping[str, maicoin.ws.book.OrderBook]" in html.unescape(re.sub("<[^>]+>", "", stream))
    kline = html.unescape(re.sub("<[^>]+>", "", (reference / "maicoin/ws/kline.html").read_text()))
    assert "start_time: datetime.datetime" in kline and "msgspec.Meta" not in kline


def test_the_reference_check_finds_private_names_and_undescribed_parameters(
    docs_build: dict[str, Any],
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = docs_build["check_reference"]
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    page = tmp_path / "maicoin" / "ws" / "book.html"
    page.write_text(
        page.read_text().replace("</nav>", '<a href="#_Secret">_Secret</a></nav>', 1)
        + "<p>see maicoin.ws._frames.rules</p>"
    )
    (tmp_path / "maicoin" / "ws" / "_frames.html").write_text("<html></html>")
    monkeypatch.setattr(Stream, "__doc__", (Stream.__doc__ or "").replace("``dispatch``", "x"))
    assert sorted(check(tmp_path)) == [
        "Stream docstring: parameter dispatch is not described",
        "maicoin/ws/_frames.html: the page of a private module",
        "maicoin/ws/book.html: link to #_Secret",
        "maicoin/ws/book.html: names maicoin.ws._frames.rules",
        "maicoin/ws/book.html: navigation entry _Secret",
    ]


def test_every_stream_parameter_is_described_with_its_default(
    docs_build: dict[str, Any],
) -> None:
    described = docs_build["described_parameters"](Stream.__doc__)
    parameters = inspect.signature(Stream.__init__).parameters
    assert set(described) == set(parameters) - {"self"}
    for name, parameter in parameters.items():
        if name != "self" and parameter.kind is not parameter.VAR_KEYWORD:
            assert "default" in described[name], name
    assert "default 10,000" in described["max_pending_tasks"]
    assert "default True" in described["reconnect"]
    assert "ping_interval" in described["connect_options"]


# -- no file outside the repository -----------------------------------------------------------

FILE_NAME = re.compile(
    r"(?<![\w/.-])((?:\.\./|/)?[\w.-]+(?:/[\w.-]+)*\.(?:md|rst|txt|toml|png|pyx|pxd|cfg|ini|ya?ml))\b"
)
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
NOT_SCANNED = {".git", ".venv", ".ci-venv", ".ci-wheel", "build", "dist", "api"}


def repository_files() -> list[Path]:
    # A virtual environment made inside the checkout, under any name, is not the repository's.
    venvs = {config.parent for config in ROOT.glob("*/pyvenv.cfg")}
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not any(part in NOT_SCANNED or part.endswith(".egg-info") for part in path.parts)
        and not any(venv in path.parents for venv in venvs)
    ]


def documentation_texts() -> Iterator[tuple[str, str]]:
    """(where, text) of every doc page and every docstring in the repository."""
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        yield path.name, path.read_text(encoding="utf-8")
    for path in repository_files():
        where = path.relative_to(ROOT).as_posix()
        if path.suffix == ".py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(
                    node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
                ):
                    doc = ast.get_docstring(node)
                    if doc:
                        yield where, doc
        elif path.suffix in (".pyx", ".pxd", ".pyi"):
            for doc in re.findall(r'"""(.*?)"""', path.read_text(encoding="utf-8"), flags=re.S):
                yield where, doc


def test_docs_and_docstrings_name_only_files_of_the_repository() -> None:
    files = repository_files()
    paths = {path.relative_to(ROOT).as_posix() for path in files}
    names = {path.name for path in files}
    outside = []
    for where, text in documentation_texts():
        for name in FILE_NAME.findall(text):
            inside = name in paths if "/" in name else name in names
            if name.startswith(("../", "/")) or not inside:
                outside.append(f"{where}: {name}")
    assert not outside


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
