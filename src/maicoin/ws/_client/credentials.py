"""API credentials that never show their secret."""

from __future__ import annotations

from .._model import mask

__all__ = ["Credentials", "mask"]


class Credentials:
    """An API key and secret. Neither ``repr`` nor ``str`` shows the secret (or the full key)."""

    __slots__ = ("api_key", "api_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret

    def __repr__(self) -> str:
        return f"<credentials api_key={mask(self.api_key)}>"
