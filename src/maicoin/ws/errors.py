"""Exceptions raised by ``maicoin.ws``.

Every message names what was wrong; none ever contains an API secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MaxWSError(Exception):
    """Base class of every error this package raises on purpose."""


class ValidationError(MaxWSError, ValueError):
    """A frame or a model input is not valid: bad JSON, a wrong type, a missing key.

    ``field`` is the dotted path of the offending field (``"$.t[0].p"``) when known.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class HandlerError(MaxWSError):
    """A user handler raised; the original exception is ``__cause__``, the frame ``response``.

    The dispatcher raises it (inline mode) or reports it (task mode) when no
    ``on_handler_error`` callback took the error. The Stream never treats it as a network
    fault: it logs it, stops without reconnecting and re-raises the handler's own exception
    from ``arun``.
    """

    def __init__(self, exc: BaseException, response: Any) -> None:
        super().__init__(f"handler raised {type(exc).__name__}: {exc}")
        # A Response, typed loosely so this module imports no model (no import cycle).
        self.response: Any = response
        self.__cause__ = exc


class AuthenticationError(MaxWSError):
    """The exchange refused the credentials (E-1006, E-1007, E-1012). Permanent: no reconnect."""


class SubscriptionError(MaxWSError, ValueError):
    r"""A subscription the exchange cannot serve: caught before it is sent, or refused by it.

    ``subscriptions`` are the ``Subscription``\ s concerned (empty when the check is about
    one argument), ``reason`` the exchange's own words for a refusal (else the message).
    """

    def __init__(
        self, message: str, *, subscriptions: Sequence[Any] = (), reason: str = ""
    ) -> None:
        super().__init__(message)
        # Subscriptions, typed loosely so this module imports no model (no import cycle).
        self.subscriptions: list[Any] = list(subscriptions)
        self.reason = reason or message


class HandshakeError(MaxWSError, ConnectionError):
    """The endpoint refused the WebSocket handshake in a way no retry can cure.

    A wrong URI, an HTTP server that is not a WebSocket endpoint, a TLS certificate that does
    not verify. ``__cause__`` is the transport's own exception. Permanent: no reconnect.
    """
