"""Build the HTML API reference of ``maicoin.ws`` from its docstrings, offline.

The guide (``docs/guide.md``) becomes the package's front page. Usage, from the repository
root::

    python -m pip install '.[docs]'
    python docs/build.py                  # writes docs/api/index.html
    python docs/build.py -o /tmp/api      # elsewhere
    python docs/build.py -o /tmp/api --check   # and check it (as CI does)

The output is generated, not committed (``docs/.gitignore``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import html as htmllib
import importlib
import pkgutil
import re
import sys
import types
import typing
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
GUIDE = DOCS / "guide.md"
DEFAULT_OUTPUT = DOCS / "api"


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the reference into ``output``; return the path of its front page."""
    try:
        import pdoc
        import pdoc.render
    except ImportError:
        raise SystemExit("pdoc is missing: python -m pip install '.[docs]'") from None
    import maicoin.ws

    modules = public_modules()
    # pdoc renders a module's docstring at the top of its page, and the package page is the
    # one index.html opens: the guide goes there.
    own_docstring = maicoin.ws.__doc__
    maicoin.ws.__doc__ = GUIDE.read_text(encoding="utf-8")
    pdoc.render.configure(
        docformat="markdown",
        footer_text="maicoin-ws API reference",
        show_source=False,
    )
    try:
        with warnings.catch_warnings(), _public_annotations(modules):
            # maicoin.ws.testing exports a function named like its module blast_stream.
            warnings.filterwarnings("ignore", message="The module specification")
            pdoc.pdoc(*modules, *_left_out(modules), output_directory=output)
    finally:
        maicoin.ws.__doc__ = own_docstring
    return output / "index.html"


# Modules inside the subpackages that users call directly; the rest of a subpackage is
# reached through the names its package exports (``maicoin.ws.testing.MaxSimulator``).
PUBLIC_SUBMODULES = ("maicoin.ws.testing.pytest_plugin",)


def public_modules() -> list[str]:
    """The modules of the reference: ``maicoin.ws``, its public modules and subpackages
    (``cli``, ``testing``, ``benchmark``: each package's own exports), and
    ``PUBLIC_SUBMODULES``. Nothing whose dotted name has a ``_`` part.

    Named one by one: pdoc leaves out submodules a package's ``__all__`` does not list.
    """
    import maicoin.ws

    found = pkgutil.iter_modules(maicoin.ws.__path__, "maicoin.ws.")
    names = [m.name for m in found if not m.name.rsplit(".", 1)[1].startswith("_")]
    return ["maicoin.ws", *sorted([*names, *PUBLIC_SUBMODULES])]


def _left_out(modules: list[str]) -> list[str]:
    """pdoc's ``!name`` exclusions for every other module it could reach (a subpackage's
    module named like a function the package exports, ``testing.blast_stream``)."""
    import maicoin.ws

    found = pkgutil.walk_packages(maicoin.ws.__path__, "maicoin.ws.")
    return [f"!{m.name}" for m in found if m.name not in modules]


# -- annotations as users read them -----------------------------------------------------------


@contextlib.contextmanager
def _public_annotations(modules: list[str]) -> Iterator[None]:
    """While pdoc renders, show annotations as the source declares them and with public
    names: a model's timestamp field as ``datetime`` and a lenient one as ``Literal[...] |
    str`` (not the constrained unions msgspec decodes them with), a class defined in a
    private module by the public name that exports it (``maicoin.ws.book.OrderBook``), and
    a private base class by its nearest public ancestor."""
    import inspect

    import pdoc.doc

    public = _public_classes(modules)
    original = inspect.formatannotation

    def formatannotation(annotation: Any, *args: Any, **kwargs: Any) -> str:
        return original(_declared(annotation, public), *args, **kwargs)

    original_bases: Any = vars(pdoc.doc.Class)["bases"]  # a cached_property

    def bases(self: pdoc.doc.Class) -> list[tuple[str, str, str]]:
        return [_public_base(base) for base in original_bases.func(self)]

    inspect.formatannotation = formatannotation  # what inspect.Parameter.__str__ calls
    pdoc.doc.formatannotation = formatannotation  # type: ignore[attr-defined]
    pdoc.doc.Class.bases = property(bases)  # type: ignore[assignment]
    try:
        yield
    finally:
        inspect.formatannotation = original
        pdoc.doc.formatannotation = original  # type: ignore[attr-defined]
        pdoc.doc.Class.bases = original_bases  # type: ignore[method-assign]


def _public_base(base: tuple[str, str, str]) -> tuple[str, str, str]:
    """A base class from a private module as its nearest public ancestor (the models'
    ``WireModel`` as ``msgspec.Struct``, ``WireEnum`` as ``enum.StrEnum``)."""
    module, qualname, _ = base
    if not _is_private(module):
        return base
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    for ancestor in cls.__mro__[1:]:
        if not _is_private(ancestor.__module__) and ancestor is not object:
            name = f"{ancestor.__module__}.{ancestor.__qualname__}"
            return ancestor.__module__, ancestor.__qualname__, name
    return "builtins", "object", "object"


def _is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def _public_classes(modules: list[str]) -> dict[type, type]:
    """A stand-in named by its public path for every exported class of a private module."""
    public: dict[type, str] = {}
    for name in modules:
        module = importlib.import_module(name)
        for export in getattr(module, "__all__", ()):
            value = getattr(module, export, None)
            if isinstance(value, type) and _is_private(value.__module__):
                path = f"{name}.{export}"
                if value not in public or len(path) < len(public[value]):
                    public[value] = path
    return {
        cls: type(cls.__name__, (), {"__module__": path.rsplit(".", 1)[0]})
        for cls, path in public.items()
    }


def _declared(annotation: Any, public: dict[type, type]) -> Any:
    """``annotation`` with the substitutions of ``_public_annotations``."""
    from maicoin.ws._model import _Choices, _UnixMs

    if isinstance(annotation, type):
        if annotation not in public and _is_private(annotation.__module__):
            # Exported nowhere: by its bare name (a stand-in "from builtins").
            public[annotation] = type(annotation.__name__, (), {"__module__": "builtins"})
        return public.get(annotation, annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is None or origin is typing.Literal:
        return annotation
    if origin is typing.Annotated:
        base, *metadata = args
        for meta in metadata:
            if isinstance(meta, _UnixMs):
                return datetime.datetime
            if isinstance(meta, _Choices):
                return typing.Union[typing.Literal[meta.values], str]  # noqa: UP007
        return _declared(base, public)  # msgspec.Meta constraints are not part of the type
    new = tuple(_declared(arg, public) for arg in args)
    if all(old is changed for old, changed in zip(args, new, strict=True)):
        return annotation
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]  # noqa: UP007
    try:
        if isinstance(annotation, types.GenericAlias):
            return types.GenericAlias(origin, new)
        return annotation.copy_with(new)
    except (AttributeError, TypeError):
        return annotation


# -- checks of a built reference --------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a\b[^>]*\bhref="([^"]*)"[^>]*>(.*?)</a>', re.S)
_PRIVATE_PATH = re.compile(r"\bmaicoin\.ws(?:\.\w+)*?\._\w+(?:\.\w+)*")


def described_parameters(docstring: str) -> dict[str, str]:
    """The parameters a docstring's bullet list describes (``- ``name`` (...): ...``), each
    with its bullet's text."""
    described = {}
    for bullet in re.split(r"\n\s*- ", docstring)[1:]:
        names = bullet.split(":", 1)[0].split("(", 1)[0]  # the names, not the types
        for name in re.findall(r"``\*{0,2}(\w+)``", names):
            described[name] = " ".join(bullet.split())
    return described


def _private_link(href: str) -> bool:
    path, _, anchor = href.partition("#")
    parts = [*path.removesuffix(".html").split("/"), *anchor.split(".")]
    return any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts)


def check_reference(output: Path) -> list[str]:
    """What is wrong with the reference built in ``output``: a page, navigation entry or
    link of a private name, a private module's path in the text, or a ``Stream``
    parameter the ``Stream`` docstring does not describe (name, default)."""
    import inspect

    from maicoin.ws import Stream

    problems = []
    pages = sorted(output.rglob("*.html"))
    if not pages:
        return [f"{output}: no pages"]
    for page in pages:
        where = page.relative_to(output).as_posix()
        html = page.read_text(encoding="utf-8")
        if _private_link(where):
            problems.append(f"{where}: the page of a private module")
        for nav in re.findall(r"<nav\b.*?</nav>", html, flags=re.S):
            for _, label in _LINK.findall(nav):
                if _TAG.sub("", label).strip().startswith("_"):
                    problems.append(f"{where}: navigation entry {_TAG.sub('', label).strip()}")
        for href, _ in _LINK.findall(html):
            if "://" not in href and _private_link(href):
                problems.append(f"{where}: link to {href}")
        text = htmllib.unescape(_TAG.sub(" ", html))
        for name in sorted(set(_PRIVATE_PATH.findall(text))):
            problems.append(f"{where}: names {name}")
        if "object at 0x" in text:
            problems.append(f"{where}: shows an object's repr")
    described = described_parameters(Stream.__doc__ or "")
    stream_page = (output / "maicoin" / "ws" / "stream.html").read_text(encoding="utf-8")
    stream_list = re.sub(r"</?a\b[^>]*>", "", stream_page)  # names pdoc turned into links
    for name, parameter in inspect.signature(Stream.__init__).parameters.items():
        if name == "self":
            continue
        if name not in described:
            problems.append(f"Stream docstring: parameter {name} is not described")
        elif parameter.kind is not parameter.VAR_KEYWORD and "default" not in described[name]:
            problems.append(f"Stream docstring: parameter {name} has no default")
        if not re.search(rf"<li>(<code>\w+</code>, )*<code>(\*\*)?{name}</code>", stream_list):
            problems.append(f"maicoin/ws/stream.html: parameter {name} is not listed")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the maicoin.ws API reference (HTML).")
    parser.add_argument(
        "-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="directory (docs/api)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="then check it: public names only, every Stream parameter described",
    )
    args = parser.parse_args(argv)
    front = build(args.output)
    print(f"API reference written to {front}")
    if args.check:
        problems = check_reference(args.output)
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("checked: public names only, every Stream parameter described")
    return 0


if __name__ == "__main__":
    sys.exit(main())
