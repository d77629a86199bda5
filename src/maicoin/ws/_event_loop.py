"""The one choice of event loop: uvloop where it is installed, unless opted out.

``Stream.run()``, the command line, the benchmark runner and the simulator's blast process
all pick their loop here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Final

from ._extensions import env_flag

__all__ = ["NO_UVLOOP_ENV", "LoopFactory", "loop_factory", "uvloop_factory"]

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

NO_UVLOOP_ENV: Final = "MAICOIN_WS_NO_UVLOOP"
"""Set to a truthy value to run on asyncio's own loop instead of uvloop."""


def uvloop_factory() -> LoopFactory | None:
    """uvloop's loop factory, or None when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def loop_factory(use_uvloop: bool | None = None) -> LoopFactory | None:
    """The factory for ``asyncio.Runner``: uvloop unless ``use_uvloop`` is False (or None and
    ``MAICOIN_WS_NO_UVLOOP`` is set) or uvloop is missing; None means asyncio's own loop."""
    if use_uvloop is None:
        use_uvloop = not env_flag(os.environ.get(NO_UVLOOP_ENV))
    return uvloop_factory() if use_uvloop else None
