"""Frame decoding: JSON text or bytes to :class:`Response`, the first step of every frame."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from .._model import as_validation_error
from ..response import Response

__all__ = ["decode_response", "make_decoder"]


def make_decoder() -> Callable[[bytes | str], Response]:
    """A frame decoder, built once per stream; it raises ValidationError naming the field."""
    decode = msgspec.json.Decoder(Response).decode

    def decode_frame(frame: bytes | str) -> Response:
        try:
            return decode(frame)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise as_validation_error(exc, "Response") from None

    return decode_frame


decode_response = make_decoder()
"""Decode one frame with a module-wide decoder (convenience; a stream builds its own)."""
