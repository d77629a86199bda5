"""API credentials that never show their secret."""

from __future__ import annotations

import logging

from .._model import mask

__all__ = ["Credentials", "credentials_from", "mask"]

log = logging.getLogger("maicoin.ws")


class Credentials:
    """An API key and secret. Neither ``repr`` nor ``str`` shows the secret (or the full key)."""

    __slots__ = ("api_key", "api_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret

    def __repr__(self) -> str:
        return f"<credentials api_key={mask(self.api_key)}>"


def credentials_from(api_key: str | None, api_secret: str | None) -> Credentials | None:
    """Credentials when both are given, else None: as in the original, unset or empty ones
    (``os.environ.get(...)``) leave the stream public. Only one of them is warned about."""
    if api_key and api_secret:
        return Credentials(api_key, api_secret)
    if api_key or api_secret:
        missing = "api_secret" if api_key else "api_key"
        log.warning("%s is missing or empty: the credentials are ignored (public only)", missing)
    return None
