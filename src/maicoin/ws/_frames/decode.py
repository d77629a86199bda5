"""Frame decoding: JSON text or bytes to :class:`Response`, the first step of every frame."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from .._model import DECODE_FAILURES, as_validation_error
from ..response import Response

__all__ = ["decode_response", "frame_error", "make_decoder"]


def frame_error(exc: Exception) -> Exception:
    """What a frame decoder raises for what decoding raised: a ValidationError naming the
    field for every way a bad document fails, anything else as it is.

    The ways are one: not JSON, not UTF-8, a wrong type, a missing key, and nesting too deep
    for the stack (which msgspec reports as ``RecursionError``).
    """
    if isinstance(exc, DECODE_FAILURES):
        return as_validation_error(exc, "Response")
    return exc


def make_decoder(*, raw: bool = False) -> Callable[[bytes | str], Response]:
    """A frame decoder, built once per stream; it raises ValidationError naming the field.

    ``raw``: msgspec's own decode, whose failures are msgspec's (``frame_error`` names them);
    the frame path takes it, as a call into C with no Python frame of its own.
    """
    decode = msgspec.json.Decoder(Response).decode
    if raw:
        return decode

    def decode_frame(frame: bytes | str) -> Response:
        try:
            return decode(frame)
        except DECODE_FAILURES as exc:
            raise frame_error(exc) from None

    return decode_frame


decode_response = make_decoder()
"""Decode one frame with a module-wide decoder (convenience; a stream builds its own)."""
