"""The package's layout rules: no import cycle, and each layer imports only what lies below.

Every import is read from the source (``.py``, ``.pyi`` and the Cython sources in ``cext/``),
including those under ``TYPE_CHECKING`` and inside functions, so a cycle hidden from the
interpreter still fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "src" / "maicoin" / "ws"
CEXT = ROOT / "cext"
PACKAGE = "maicoin.ws"
# The compiled modules' sources and where each module lives (setup.py's HOT_PATHS and
# PICOWS_LISTENER).
COMPILED = {
    "_book_c": "maicoin.ws._frames._book_c",
    "_dispatch_c": "maicoin.ws._frames._dispatch_c",
    "_frame_path_c": "maicoin.ws._frames._frame_path_c",
    "_receive_c": "maicoin.ws._io._receive_c",
    "_picows_listener_c": "maicoin.ws._io._picows_listener_c",
}
_CYTHON_IMPORT = re.compile(
    r"^\s*(?:from\s+([\w.]+)\s+c?import\s+([\w, ()]+)|c?import\s+([\w.]+))", re.M
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py*")):
        if path.suffix in (".py", ".pyi") and "__pycache__" not in path.parts:
            yield _module_name(path), path
    for path in sorted(CEXT.glob("*.pyx")):
        yield COMPILED[path.stem], path


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imports(module: str, path: Path) -> set[str]:
    """Fully qualified names this module imports (modules, or a module's attribute)."""
    found: set[str] = set()
    text = path.read_text()
    if path.suffix == ".pyx":
        for match in _CYTHON_IMPORT.finditer(text):
            source, names, plain = match.groups()
            if plain:
                found.add(plain)
            elif source:
                for name in re.split(r"[,\s()]+", names):
                    if name and name != "as":
                        found.add(f"{source}.{name}")
        return found
    is_package = path.stem == "__init__"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module)
            # ``from pkg import x`` imports pkg.x when x is a module, else pkg itself.
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name imported from a module counts as
    that module; a submodule imported from a package counts as the submodule)."""
    sources = dict(_sources())
    modules = set(sources)
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        edges = set()
        for imported in _imports(module, path):
            name = imported
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = _graph()


def _reachable(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_walker_sees_the_whole_package() -> None:
    # A walker that lost its way would find no cycle in an empty graph.
    expected = {"maicoin.ws.stream", "maicoin.ws._frames._book_c", "maicoin.ws._io._receive_c"}
    assert expected <= set(GRAPH)
    assert "maicoin.ws._frames._frame_path_c" in GRAPH["maicoin.ws._io._receive_c"]
    assert "maicoin.ws._frames.frame_path" in GRAPH["maicoin.ws._io._receive_py"]
    assert "maicoin.ws._client.session" in GRAPH["maicoin.ws.stream"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


FRAME_PATH = sorted(m for m in GRAPH if m.startswith("maicoin.ws._frames"))


@pytest.mark.parametrize("module", FRAME_PATH)
def test_the_frame_path_imports_neither_the_stream_nor_a_transport(module: str) -> None:
    below = _reachable(module)
    forbidden = {
        m
        for m in below
        if m.startswith(("maicoin.ws._io", "maicoin.ws._client", "maicoin.ws.cli"))
        or m in ("maicoin.ws.stream", "maicoin.ws.transport_picows", "maicoin.ws.testing")
    }
    assert forbidden == set()
    imported = _imports(module, next(p for m, p in _sources() if m == module))
    assert not {name for name in imported if name.split(".")[0] in ("websockets", "picows")}


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("maicoin.ws._io")))
def test_the_io_layer_knows_no_stream(module: str) -> None:
    below = _reachable(module)
    assert not {m for m in below if m.startswith(("maicoin.ws._client", "maicoin.ws.cli"))}
    assert "maicoin.ws.stream" not in below


@pytest.mark.parametrize(
    "module",
    [m for m in GRAPH if m.rsplit(".", 1)[1].endswith(("_c", "_py"))],
)
def test_only_a_selector_imports_a_twin(module: str) -> None:
    stem = module.rsplit(".", 1)[1].removesuffix("_c").removesuffix("_py").lstrip("_")
    selector = module.rsplit(".", 1)[0] + "." + stem
    importers = {m for m, edges in GRAPH.items() if module in edges}
    # A compiled module's stub may name its twin's type aliases, and compiled code may
    # cimport another compiled module's declarations (its .pxd); nothing else may.
    allowed = {selector, module.removesuffix("_py") + "_c"}
    if module.endswith("_c"):
        allowed |= {m for m in importers if m.endswith("_c")}
    assert importers <= allowed, f"{module} is imported by {importers - allowed}"


def test_the_model_modules_import_no_stream_parts() -> None:
    models = ["balance", "channel", "filter", "kline", "m_wallet", "market_status", "order",
              "pool_quota", "request", "response", "side", "subscription", "ticker", "trade",
              "errors", "_model", "_json_schema"]  # fmt: skip
    for name in models:
        below = _reachable(f"maicoin.ws.{name}")
        allowed = ("maicoin.ws._model", "maicoin.ws._json_schema")
        parts = {m for m in below if m.startswith(("maicoin.ws._", "maicoin.ws.stream"))}
        assert not parts - set(allowed), name
