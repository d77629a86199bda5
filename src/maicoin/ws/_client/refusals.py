"""What the exchange's ``error`` frames mean for the stream: which end it, which reconnect.

MAX error codes that no reconnect can cure are a bad key or signature (E-1006) and a nonce
out of window (E-1007: the local clock is wrong). A reused nonce (E-1012) is cured by the
next connection's fresh nonce. Anything else leaves the stream running (the session handles
a refused subscription).
"""

from __future__ import annotations

from typing import Final

from ..errors import AuthenticationError
from ..response import Response

__all__ = ["PERMANENT_AUTH_CODES", "RETRY_AUTH_CODES", "Reconnect", "check_error_response"]

PERMANENT_AUTH_CODES: Final = ("E-1006", "E-1007")
RETRY_AUTH_CODES: Final = ("E-1012",)


class Reconnect(Exception):
    """Leave the current connection and reconnect (internal, never seen by users)."""


def check_error_response(response: Response) -> None:
    """Raise when an ``error`` frame ends the stream or the connection; else return."""
    errors = response.errors or []
    text = "; ".join(errors)
    if any(e.startswith(PERMANENT_AUTH_CODES) for e in errors):
        raise AuthenticationError(f"MAX refused authentication: {text}")
    if any(e.startswith(RETRY_AUTH_CODES) for e in errors):
        raise Reconnect(f"MAX rejected the auth nonce ({text}); reconnecting with a fresh one")
