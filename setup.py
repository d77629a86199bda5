"""Build the Cython hot paths; everything else lives in pyproject.toml."""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
# Same truthy rule as the run-time selectors: load the module by path, not by import,
# because the package is not importable before it is built.
_rule = runpy.run_path(str(HERE / "src" / "maicoin" / "ws" / "_extensions.py"))

# Each compiled hot path: its module (beside its pure-Python twin) and its source in cext/.
HOT_PATHS = (
    "maicoin.ws._frames._book_c",
    "maicoin.ws._frames._dispatch_c",
    "maicoin.ws._frames._frame_path_c",
    "maicoin.ws._io._receive_c",
)


def extensions() -> list[Extension]:
    """The compiled hot paths; none only when the opt-out variable asks for a pure build."""
    if _rule["extensions_disabled"]():
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(name, [f"cext/{name.rsplit('.', 1)[1]}.pyx"], extra_compile_args=["-O3"])
        for name in HOT_PATHS
    ]
    return cythonize(
        modules,
        # A .pxd is found by its module's name under src/ (``_frame_path_c.pxd``).
        include_path=["src"],
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
