"""Type stub of the compiled dispatcher; it behaves exactly like ``_dispatch_py``."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, final

from ..errors import HandlerError
from ._dispatch_py import ErrorCallback
from .routing import Handler
from .rules import DISPATCH_MODES as DISPATCH_MODES

@final
class Dispatcher:
    def __init__(
        self,
        mode: str,
        handlers: list[Handler],
        queue: asyncio.Queue[Any] | None,
        on_handler_error: ErrorCallback | None,
        on_unhandled: Callable[[HandlerError], None],
        *,
        max_pending_tasks: int | None = 10_000,
    ) -> None: ...
    @property
    def mode(self) -> str: ...
    @property
    def handler_errors(self) -> int: ...
    @property
    def pending_tasks(self) -> int: ...
    @property
    def max_pending_tasks(self) -> int | None: ...
    @property
    def closed(self) -> bool: ...
    def dispatch(self, response: Any) -> Awaitable[None] | None: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...
