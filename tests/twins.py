"""The compiled module and its pure-Python twin, as one ``impl`` fixture for both."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

NOT_BUILT = "compiled module not built"


def compiled(name: str) -> ModuleType | None:
    """``maicoin.ws.<name>``, or None when that compiled module was not built."""
    try:
        return importlib.import_module(f"maicoin.ws.{name}")
    except ImportError:
        return None


def twin_params(
    compiled: ModuleType | None, twin: ModuleType, *, reason: str = NOT_BUILT
) -> list[Any]:
    """Params ``c-extension-module`` (skipped with ``reason`` when not built) and
    ``pure-python-module``."""
    return [
        pytest.param(
            compiled,
            id="c-extension-module",
            marks=pytest.mark.skipif(compiled is None, reason=reason),
        ),
        pytest.param(twin, id="pure-python-module"),
    ]


def twin_fixture(compiled: ModuleType | None, twin: ModuleType, *, reason: str = NOT_BUILT) -> Any:
    """An ``impl`` fixture giving each test the compiled module, then the twin."""

    @pytest.fixture(params=twin_params(compiled, twin, reason=reason))
    def impl(request: pytest.FixtureRequest) -> ModuleType:
        module: ModuleType = request.param
        return module

    return impl
