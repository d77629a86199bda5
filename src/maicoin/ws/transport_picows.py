"""The fast transport: picows, a Cython WebSocket client (``pip install 'maicoin-ws[fast]'``).

``Stream(connect_factory=picows_connect)`` keeps the whole Stream API and the websockets
keywords of the user's guide; ``picows_connect``'s docstring lists what each one means here.
"""

from __future__ import annotations

from ._io.picows import PicowsConnection, picows_connect

__all__ = ["PicowsConnection", "picows_connect"]
