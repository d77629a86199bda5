"""Frame decoding: JSON text or bytes to :class:`Response`, the first step of every frame."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from .._model import DECODE_FAILURES, as_validation_error
from ..response import Response

__all__ = ["decode_response", "make_decoder"]


def make_decoder() -> Callable[[bytes | str], Response]:
    """A frame decoder, built once per stream; it raises ValidationError naming the field.

    Every way a bad document fails is one: not JSON, not UTF-8, a wrong type, a missing key,
    and nesting too deep for the stack (which msgspec reports as ``RecursionError``).
    """
    decode = msgspec.json.Decoder(Response).decode

    def decode_frame(frame: bytes | str) -> Response:
        try:
            return decode(frame)
        except DECODE_FAILURES as exc:
            raise as_validation_error(exc, "Response") from None

    return decode_frame


decode_response = make_decoder()
"""Decode one frame with a module-wide decoder (convenience; a stream builds its own)."""
