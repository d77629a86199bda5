"""Build the Cython hot paths; everything else lives in pyproject.toml."""

from __future__ import annotations

import importlib.util
import os
import runpy
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.install_lib import install_lib

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
# picows' listener in C, built only where picows (a build requirement) is installed.
PICOWS_LISTENER = "maicoin.ws._io._picows_listener_c"


def picows_version() -> str | None:
    """The version of the picows whose C declarations (its .pxd file) the build can cimport."""
    spec = importlib.util.find_spec("picows")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / "picows.pxd").is_file():
        return None
    # Read without importing picows: its version file is plain Python.
    return str(runpy.run_path(str(folder / "version.py"))["__version__"])


def compiled(name: str, **options: Any) -> Extension:
    """The extension of module ``name``, built from its source in cext/."""
    return Extension(
        name, [f"cext/{name.rsplit('.', 1)[1]}.pyx"], extra_compile_args=["-O3"], **options
    )


def extensions() -> list[Extension]:
    """The compiled hot paths; none only when the opt-out variable asks for a pure build."""
    if _rule["extensions_disabled"]():
        return []
    from Cython.Build import cythonize

    modules = [compiled(name) for name in HOT_PATHS]
    version = picows_version()
    if version is not None:
        # The compiled listener records the release it was built for (picows_listener.py).
        macro = ("MAICOIN_WS_PICOWS_VERSION", f'"{version}"')
        modules.append(compiled(PICOWS_LISTENER, define_macros=[macro]))
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


# Installed side by side with the original ``maicoin`` distribution (its REST client
# ``maicoin.v3``), the wheel must share no file with it: the original owns
# ``maicoin/__init__.py`` and its own ``maicoin/ws/*.py`` under the same names as ours, and pip
# lets the last install overwrite such a file and an uninstall delete it for both. So the whole
# built tree goes under LIBRARY_ROOT instead of the top of site-packages; the .pth adds that
# folder to sys.path and imports _maicoin_ws_coexist, whose finder answers ``maicoin.ws``
# with ours (src/_maicoin_ws_coexist.py says how). An editable install keeps the plain layout.
LIBRARY_ROOT = "maicoin-ws"
PTH_NAME = "maicoin_ws.pth"
PTH_TEXT = f"{LIBRARY_ROOT}\nimport _maicoin_ws_coexist\n"


class install_lib_beside_maicoin(install_lib):
    """install_lib that installs build_lib under LIBRARY_ROOT and writes the .pth."""

    def install(self) -> list[str] | None:
        if not os.path.isdir(self.build_dir):
            return super().install()
        outfiles = self.copy_tree(self.build_dir, os.path.join(self.install_dir, LIBRARY_ROOT))
        pth = os.path.join(self.install_dir, PTH_NAME)
        if not self.dry_run:
            with open(pth, "w", encoding="utf-8") as file:
                file.write(PTH_TEXT)
        return [*outfiles, pth]

    def get_outputs(self) -> list[str]:
        root = os.path.join(self.install_dir, "")
        relocated = [
            os.path.join(self.install_dir, LIBRARY_ROOT, path[len(root) :])
            if path.startswith(root)
            else path
            for path in super().get_outputs()
        ]
        return [*relocated, os.path.join(self.install_dir, PTH_NAME)]


setup(ext_modules=extensions(), cmdclass={"install_lib": install_lib_beside_maicoin})
