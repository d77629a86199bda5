"""The one rule that decides whether compiled hot paths are used.

Read by ``setup.py`` at build time (by path, without importing the package) and by every
selector module at run time, so both places agree on what "truthy" means.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "MAICOIN_WS_NO_EXTENSIONS"
_FALSY = frozenset({"", "0", "false", "no", "off"})


def env_flag(value: str | None) -> bool:
    """True when an environment value switches a flag on: anything but empty/0/false/no/off."""
    return value is not None and value.strip().lower() not in _FALSY


def extensions_disabled(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """True when the pure-Python twins must be used: opted out, or not CPython."""
    env = os.environ if environ is None else environ
    return env_flag(env.get(ENV_VAR)) or sys.implementation.name != "cpython"


NO_EXTENSIONS: bool = extensions_disabled()
