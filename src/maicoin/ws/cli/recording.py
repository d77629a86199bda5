"""Recordings of raw frames, for replaying a day of the exchange offline.

A recording is a text file of JSON lines, one per frame, in the order they arrived::

    {"t": 1764000000.123456, "frame": "{\\"e\\":\\"update\\",\\"c\\":\\"book\\",...}"}

``t`` is the wall-clock receive time in Unix seconds (a float), ``frame`` the frame's text
exactly as the server sent it (a frame that is not valid UTF-8 is stored with U+FFFD in
place of the bad bytes). Nothing else is written, so any tool that reads JSON lines can
read a recording and any tool that writes these two keys can make one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

import msgspec

from .._io.tap import tapped_connect

__all__ = [
    "RecordedFrame",
    "RecordingError",
    "RecordingReader",
    "RecordingWriter",
    "tapped_connect",
]


class RecordedFrame(msgspec.Struct, frozen=True):
    """One line of a recording."""

    t: float
    """Receive time, Unix seconds."""
    frame: str
    """The frame's text as received."""


class RecordingError(ValueError):
    """A file that is not a recording (its first line is not a recorded frame)."""


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(RecordedFrame).decode


def frame_text(frame: str | bytes) -> str:
    """A received frame as text (frames arrive as UTF-8 bytes on the fast path)."""
    return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")


class RecordingWriter:
    """Appends frames to an open binary file, one JSON line each."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.frames = 0
        """Frames written."""
        self.bytes = 0
        """Bytes written to the file."""

    def write(self, frame: str | bytes, received_at: float) -> None:
        """Record one frame received at ``received_at`` (Unix seconds)."""
        line = _encode(RecordedFrame(received_at, frame_text(frame))) + b"\n"
        self._file.write(line)
        self.frames += 1
        self.bytes += len(line)


class RecordingReader:
    """Iterates over the frames of a recording file, oldest first.

    The first line must be a recorded frame (else ``RecordingError``); a later line that is
    not one (a recording cut short mid-line) is skipped and counted in ``bad_lines``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.bad_lines = 0
        self.first_bad_line: int | None = None

    def __iter__(self) -> Iterator[RecordedFrame]:
        self.bad_lines = 0
        self.first_bad_line = None
        with self.path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    yield _decode(line)
                except msgspec.DecodeError as exc:
                    if number == 1:
                        raise RecordingError(
                            f"{self.path} is not a recording: line 1 is not "
                            f'{{"t": <unix seconds>, "frame": "<text>"}} ({exc})'
                        ) from None
                    self.bad_lines += 1
                    if self.first_bad_line is None:
                        self.first_bad_line = number
