"""Build the Cython hot paths; everything else lives in pyproject.toml."""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
# Same truthy rule as the run-time selectors: load the module by path, not by import,
# because the package is not importable before it is built.
_rule = runpy.run_path(str(HERE / "src" / "maicoin" / "ws" / "_extensions.py"))

HOT_PATHS = ("_book_c", "_dispatch_c", "_receive_c")


def extensions() -> list[Extension]:
    """The compiled hot paths; none only when the opt-out variable asks for a pure build."""
    if _rule["extensions_disabled"]():
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(f"maicoin.ws.{name}", [f"cext/{name}.pyx"], extra_compile_args=["-O3"])
        for name in HOT_PATHS
    ]
    return cythonize(
        modules,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )


setup(ext_modules=extensions())
