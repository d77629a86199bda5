"""An event loop running in a daemon thread, driven from synchronous code.

Used by ``ThreadedStream`` (a stream read from synchronous code) and by the pytest plugin
(a simulator serving a synchronous test). Daemon, so a loop nobody stopped never keeps the
interpreter from exiting; nothing raised on the loop escapes the thread as a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopFactory", "LoopThread"]

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class LoopThread:
    """One event loop in one daemon thread: ``start()``, submit coroutines, ``stop()``."""

    def __init__(self, *, name: str, loop_factory: LoopFactory | None = None) -> None:
        self.name = name
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (only between ``start()`` and ``stop()``)."""
        if self._loop is None:
            raise RuntimeError(f"{self.name}: the loop thread is not running")
        return self._loop

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def is_current(self) -> bool:
        """True when called from the loop's own thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until its loop runs."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self.name}: the event loop did not start within {timeout} s")
        if self._failure is not None:
            raise RuntimeError(f"{self.name}: the event loop failed to start") from self._failure

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the loop; its result arrives in the returned future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (``TimeoutError`` after
        ``timeout`` seconds, with the coroutine cancelled)."""
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call_soon(self, callback: Callable[..., object], *args: Any) -> bool:
        """Call ``callback(*args)`` on the loop soon; False when the loop has already closed."""
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def stop(self, timeout: float | None = 10.0) -> bool:
        """End the loop (tasks still running are cancelled) and join the thread.

        Returns True once the thread has ended. From the loop's own thread it only asks the
        loop to end: a thread cannot join itself.
        """
        thread = self._thread
        if thread is None:
            return True
        if self._release is not None:
            self.call_soon(self._release.set)
        if threading.current_thread() is thread:
            return False
        thread.join(timeout)
        return not thread.is_alive()

    def _serve(self) -> None:
        if hasattr(signal, "pthread_sigmask"):
            # Ctrl-C and SIGTERM go to a thread that does not block them: leave them to the
            # main thread, whose Python handlers are the only ones that run.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            # asyncio.Runner installs its Ctrl-C handler only in the main thread: a
            # KeyboardInterrupt stays with the code that owns the main thread.
            with asyncio.Runner(loop_factory=self._loop_factory) as runner:
                runner.run(self._hold())
        except BaseException as exc:  # reported by start(); a thread must not print tracebacks
            self._failure = exc
        finally:
            self._loop = None
            self._ready.set()

    async def _hold(self) -> None:
        self._release = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._release.wait()
