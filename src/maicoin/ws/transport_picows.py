"""The fast transport: picows, a Cython WebSocket client (``pip install 'maicoin-ws[fast]'``).

``Stream(connect_factory=picows_connect)`` keeps the whole Stream API; frames are decoded,
applied to the books and handed to sync handlers right in picows' frame callback, with no
``await`` per frame. That callback is compiled against picows' own C declarations, so it is
used with the picows release the package was built with (a build requirement); with any
other release a Python callback does the same work, a little slower.

The websockets keywords of the user's guide mean the same thing here:

- ``ping_interval`` (default 20 s; None: no pings) and ``ping_timeout`` (default 20 s;
  None: wait forever): a ping every ``ping_interval`` s, and a connection whose pong is
  ``ping_timeout`` s late is closed with 1011, so a dead peer is found within
  ``ping_interval + ping_timeout``, exactly as websockets does (MAX drops a connection
  quiet for 60 s).
- ``close_timeout`` (default 10 s), ``open_timeout`` (default 10 s), ``max_size`` (default
  1 MiB, None: unbounded; it bounds each message, however many fragments carry it: a longer
  one is dropped unassembled and the connection closed with 1009, as websockets does),
  ``max_queue`` (frames buffered for ``recv()`` before reading
  pauses; default 16), ``ssl`` (an ``SSLContext``), ``additional_headers``,
  ``compression=None`` (picows never compresses).
- Any other keyword goes to ``picows.ws_connect`` unchanged (``read_buffer_init_size``,
  ``proxy``, ...).

TLS: a ``wss://`` URI is verified against the system's trust store
(``ssl.create_default_context()``) unless you pass your own context. Closing behaves as with
websockets: a close frame with code 1000 or 1001 is a clean close (``ConnectionClosedOK``),
anything else, an abort or a missing pong is ``ConnectionClosedError``, and an HTTP 429
handshake refusal raises picows' ``WSInvalidStatusError``, whose ``Retry-After`` the stream
honours like websockets' ``InvalidStatus``.
"""

from __future__ import annotations

from ._io.picows import PicowsConnection, picows_connect

__all__ = ["PicowsConnection", "picows_connect"]
