"""Pick picows' listener: the compiled one when it was built for the picows installed.

The compiled listener is compiled against picows' own C declarations, so it runs only with
the picows release it was built for; with any other (or with the compiled receive loop
unavailable, or extensions opted out) the Python twin is used, which behaves the same.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import picows

from .._extensions import NO_EXTENSIONS
from . import receive

__all__ = ("IMPLEMENTATION", "FrameListener")

log = logging.getLogger("maicoin.ws")

if TYPE_CHECKING or NO_EXTENSIONS or receive.IMPLEMENTATION != "c":
    from ._picows_listener_py import FrameListener
else:
    try:
        # An older or newer picows may change its types' sizes: Cython warns or refuses.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            from ._picows_listener_c import BUILT_FOR_PICOWS
            from ._picows_listener_c import FrameListener as _Compiled
    except (ImportError, ValueError, RuntimeWarning) as exc:
        log.debug("compiled picows listener unavailable (%s): using the Python one", exc)
        from ._picows_listener_py import FrameListener
    else:
        if picows.__version__ == BUILT_FOR_PICOWS:
            FrameListener = _Compiled
        else:
            log.debug(
                "compiled picows listener built for picows %s, not %s: using the Python one",
                BUILT_FOR_PICOWS,
                picows.__version__,
            )
            from ._picows_listener_py import FrameListener

IMPLEMENTATION: str = "c" if FrameListener.__module__.endswith("_c") else "py"
