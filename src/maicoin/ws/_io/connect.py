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
import importlib.util
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import (
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    SecurityError,
)
from websockets.uri import parse_uri

from .websockets_push import PushClientConnection

__all__ = [
    "DEFAULT_COMPRESSION",
    "ConnectFactory",
    "checked_uri",
    "default_connect",
    "frame_reader",
    "handshake_failure",
    "is_redis_uri",
    "redacted_uri",
    "retry_after",
]

ConnectFactory = Callable[..., AbstractAsyncContextManager[Any]]

DEFAULT_COMPRESSION: None = None
"""What the default transport offers for ``compression``: nothing, so frames come plain.

websockets itself offers permessage-deflate, which MAX accepts. Measured
(benchmarks/results/latency.md): inflating every frame costs the client CPU on each
of them and raises wire-to-handler latency, on frames of about 165 bytes that MAX sends
at a few hundred a second, where the bytes saved are no gain. A ``compression=`` keyword
of the caller's always wins (``"deflate"`` turns it back on).
"""


REDIS_SCHEMES = ("redis://", "rediss://")
"""URIs the default transport reads from a relay's Redis Streams instead of a WebSocket."""


def is_redis_uri(uri: str) -> bool:
    return uri.lower().startswith(REDIS_SCHEMES)


def redacted_uri(uri: str) -> str:
    """``uri`` as logs and messages show it: a password in it (``redis://:PASSWORD@host``)
    replaced by ``***``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def checked_uri(uri: object, *, source: str = "uri") -> str:
    """``uri`` if the default transport can open it, else ValueError naming ``source``.

    ``ws://`` and ``wss://`` go to MAX (or anything speaking its protocol); ``redis://``
    and ``rediss://`` to a relay's Redis Streams, which needs the ``redis`` extra.
    """
    if not isinstance(uri, str):
        raise TypeError(f"{source} must be a str, got {type(uri).__name__}")
    if is_redis_uri(uri):
        if importlib.util.find_spec("redis") is None:
            raise ValueError(
                f"{source} {uri.split('@')[-1]!r} needs redis-py: pip install 'maicoin-ws[redis]'"
            )
        return uri
    try:
        parse_uri(uri)
    except (InvalidURI, ValueError) as exc:  # ValueError: a port that is not a number
        raise ValueError(
            f"{source} is not a WebSocket URI: {uri!r} ({exc}); "
            "expected ws://HOST[:PORT]/PATH or wss://..."
        ) from None
    return uri


def default_connect(uri: str, **connect_options: Any) -> AbstractAsyncContextManager[Any]:
    """Open a websockets client connection; every keyword is forwarded unchanged.

    The connection is websockets' own, subclassed so the stream can take frames straight
    from its frame events (``websockets_push``), and offers no compression
    (``DEFAULT_COMPRESSION``); a ``create_connection`` or ``compression`` keyword of the
    caller's wins.
    """
    connect_options.setdefault("create_connection", PushClientConnection)
    connect_options.setdefault("compression", DEFAULT_COMPRESSION)
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
    if _refusal_status(exc) != 429:
        return None
    if isinstance(exc, InvalidStatus):
        value: str | None = exc.response.headers.get("Retry-After")
        return value
    header = exc.response.headers.get("Retry-After")  # type: ignore[attr-defined]
    return header if isinstance(header, str) else None


def handshake_failure(exc: BaseException) -> str | None:
    """Why a failed handshake can never succeed on retry, or None when a retry may cure it.

    Permanent: a URI websockets cannot parse, a TLS certificate that does not verify, an
    HTTP answer other than 101 that no wait changes (2xx, and 4xx but 408 and 429: the
    endpoint is not a WebSocket endpoint, or refuses us), and a peer that does not speak
    HTTP or refuses the upgrade, and a Redis server refusing the URL's credentials.
    Transient: 408, 429 (see ``retry_after``), 5xx, a peer
    that closed or reset the connection mid-handshake, timeouts, DNS and socket errors.
    """
    if isinstance(exc, InvalidURI):
        return f"invalid WebSocket URI ({exc})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({exc.verify_message or exc})"
    status = _refusal_status(exc)
    if status is not None:
        if status in (408, 429) or status >= 500 or status < 200:
            return None
        return f"HTTP {status} instead of a WebSocket upgrade: not a WebSocket endpoint"
    if isinstance(exc, InvalidMessage):
        # A reset or EOF mid-handshake is a restart or a blip; anything else is a peer that
        # does not answer in HTTP.
        if isinstance(exc.__cause__, (EOFError, OSError)):
            return None
        return f"the peer does not speak HTTP ({exc})"
    if isinstance(exc, (InvalidHandshake, SecurityError)):
        return f"the peer refused the WebSocket upgrade ({exc})"
    picows = sys.modules.get("picows")
    if picows is not None and isinstance(exc, picows.WSHandshakeError):
        return f"the peer refused the WebSocket upgrade ({exc})"
    # Like picows', a Redis refusal can only exist once redis-py was imported.
    redis_errors = sys.modules.get("redis.exceptions")
    if redis_errors is not None and isinstance(exc, redis_errors.AuthenticationError):
        return f"Redis refused the credentials in the URL ({exc})"
    return None


def _refusal_status(exc: BaseException) -> int | None:
    """The HTTP status of a handshake refused with an HTTP response, on either transport."""
    if isinstance(exc, InvalidStatus):
        return int(exc.response.status_code)
    # A picows refusal can only exist once picows was imported: never import it here.
    picows = sys.modules.get("picows")
    if picows is not None and isinstance(exc, picows.WSHandshakeError):
        response = exc.response
        if response is not None:
            return int(response.status)
    return None
