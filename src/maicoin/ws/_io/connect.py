"""The transport seam: how a Stream opens a connection, reads frames and reads a refusal.

A ``connect_factory(uri, **connect_options)`` returns an async context manager yielding a
connection with ``send(str)``, ``recv() -> str | bytes`` and ``close()``. The default is
``websockets.asyncio.client.connect``, which verifies TLS for ``wss://`` URIs with the
system's trust store and sends keepalive pings (``ping_interval``/``ping_timeout``); its
connection is websockets' own class with one addition, ``run_frame_path``, through which
the stream takes frames from websockets' frame events instead of ``recv()``
(``websockets_push``). The fast alternative is ``transport_picows.picows_connect``.
A connection without ``run_frame_path`` (any user factory) is read with ``recv()``.
"""

from __future__ import annotations

import email.utils
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import InvalidStatus

from .websockets_push import PushClientConnection

__all__ = ["ConnectFactory", "default_connect", "frame_reader", "retry_after"]

ConnectFactory = Callable[..., AbstractAsyncContextManager[Any]]


def default_connect(uri: str, **connect_options: Any) -> AbstractAsyncContextManager[Any]:
    """Open a websockets client connection; every keyword is forwarded unchanged.

    The connection is websockets' own, subclassed so the stream can take frames straight
    from its frame events (``websockets_push``); a ``create_connection`` keyword of
    the caller's wins.
    """
    connect_options.setdefault("create_connection", PushClientConnection)
    return websockets_connect(uri, **connect_options)


def frame_reader(connection: Any) -> Callable[[], Awaitable[str | bytes]]:
    """The coroutine function that reads one frame from ``connection``.

    For websockets connections it asks for the raw bytes: the decoder reads UTF-8 bytes
    directly, so websockets' own UTF-8 decode of every text frame is wasted work.
    """
    if isinstance(connection, ClientConnection):
        return partial(connection.recv, decode=False)
    recv: Callable[[], Awaitable[str | bytes]] = connection.recv
    return recv


def retry_after(exc: BaseException, *, now: float | None = None) -> float | None:
    """Unix time before which MAX asks us not to reconnect, from an HTTP 429 handshake refusal.

    MAX sends ``Retry-After`` as a Unix timestamp in seconds; a small number is read as the
    standard delay in seconds, and an HTTP date is accepted too. None when ``exc`` is not a
    429 or carries no usable header. Both transports' refusals are understood: websockets'
    ``InvalidStatus`` and picows' ``WSInvalidStatusError``.
    """
    value = _retry_after_header(exc)
    if value is None:
        return None
    now = time.time() if now is None else now
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
    # Anything before 2001 cannot be a Unix timestamp: it is a delay in seconds.
    return number if number > 1e9 else now + number


def _retry_after_header(exc: BaseException) -> str | None:
    """The ``Retry-After`` header of an HTTP 429 handshake refusal, else None."""
    if isinstance(exc, InvalidStatus):
        if exc.response.status_code != 429:
            return None
        value: str | None = exc.response.headers.get("Retry-After")
        return value
    # A picows refusal can only exist once picows was imported: never import it here.
    picows = sys.modules.get("picows")
    if picows is None or not isinstance(exc, picows.WSHandshakeError):
        return None
    response = exc.response
    if response is None or int(response.status) != 429:
        return None
    header = response.headers.get("Retry-After")
    return header if isinstance(header, str) else None
