"""Make ``maicoin.ws`` this distribution's package, whoever owns ``maicoin``.

The original ``maicoin`` distribution (its REST client ``maicoin.v3``) ships a regular
``maicoin/__init__.py`` and its own ``maicoin/ws/``. Two distributions writing the same files
cannot both stay installed (the second overwrites the first, and uninstalling either deletes
files the other needs), so the maicoin-ws wheel shares no path with it: its tree is installed
under ``site-packages/maicoin-ws/`` (``maicoin-ws/maicoin/ws/...``), and the wheel's
``maicoin_ws.pth`` adds that folder to ``sys.path`` and imports this module at start-up.

This module puts a finder in front of ``sys.meta_path`` that answers for exactly one name,
``maicoin.ws``: with the package the ordinary search finds when that is a maicoin-ws tree
(a source checkout put first with ``PYTHONPATH=src`` keeps working as before), else with the
package beside this module; its submodules are then found the ordinary way, through that
package's ``__path__``. ``maicoin`` itself is found the ordinary way: the
original's regular package when it is installed (so ``maicoin.v3`` is its own), else a
namespace package made of the ``maicoin`` folder beside this module.

Uninstalling maicoin-ws removes this module and the ``.pth`` with it, leaving the original's
files, never touched, to answer for ``maicoin.ws`` again.

PYTEST_DONT_REWRITE: pytest marks every module of a distribution that has a pytest plugin
for assertion rewriting, and warns about one already imported; this one is imported at
start-up, before pytest, and has no assertions to rewrite.
"""

from __future__ import annotations

import os
import sys

# Read at every interpreter start: ``typing`` alone would cost more than everything else here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

NAME = "maicoin.ws"
# The folder holding this distribution's ``maicoin/ws``: the one this module lives in.
ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(ROOT, "maicoin", "ws")
# A file the original's ``maicoin/ws`` does not have and every maicoin-ws tree has.
MARKER = os.path.join("_frames", "__init__.py")


class WsFinder:
    """Answers ``maicoin.ws`` with a maicoin-ws package, never the original's; any other
    name: not mine."""

    package_dir = PACKAGE_DIR

    @classmethod
    def find_spec(
        cls,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != NAME:
            return None
        from importlib.machinery import PathFinder

        if path is None:  # called directly: the import system passes ``maicoin.__path__``
            path = getattr(sys.modules.get("maicoin"), "__path__", None)
        found = PathFinder.find_spec(fullname, path) if path is not None else None
        if found is not None and any(
            os.path.isfile(os.path.join(location, MARKER))
            for location in found.submodule_search_locations or ()
        ):
            return found  # maicoin-ws already: this one, or a copy earlier on the path
        init = os.path.join(cls.package_dir, "__init__.py")
        if not os.path.isfile(init):
            # A half-removed install: let the ordinary finders answer.
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(NAME, init, submodule_search_locations=[cls.package_dir])


def install() -> None:
    """Put the finder first in ``sys.meta_path`` (once)."""
    if WsFinder not in sys.meta_path:
        sys.meta_path.insert(0, WsFinder)


install()
