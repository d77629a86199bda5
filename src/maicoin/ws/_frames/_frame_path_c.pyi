"""Type stub of the compiled per-frame path; it behaves exactly like ``_frame_path_py``."""

from collections.abc import Awaitable, Callable
from typing import Any, final

from ..feed_lag import FeedLag
from ..response import Response

@final
class FramePath:
    def __init__(
        self,
        *,
        decode: Callable[[bytes | str], Response],
        stats: Any,
        apply_book: Callable[[Response], Any],
        dispatch: Callable[[Response], Awaitable[Any] | None],
        request_resync: Callable[[Any], None],
        on_control: Callable[[Response], None],
        apply_private: Callable[[Response], None] | None = None,
        feed_lag: FeedLag | None = None,
        apply_book_frame: Callable[[bytes | str], Response | None] | None = None,
    ) -> None: ...
    @property
    def stats(self) -> Any: ...
    def feed(self, frame: bytes | str) -> Awaitable[Any] | None: ...

def read_market_update(frame: bytes | str) -> Response | None:
    """The ``Response`` of a trade or ticker update read in one pass from its bytes (or ASCII
    str), equal to what msgspec decodes from it; None for any other frame."""
