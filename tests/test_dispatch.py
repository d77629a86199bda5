"""The dispatcher, in both implementations: inline, task and queue modes and handler errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, Protocol

import pytest
from twins import compiled, twin_fixture

from maicoin.ws._frames import _dispatch_py
from maicoin.ws._frames._dispatch_py import Dispatcher, ErrorCallback, Handler
from maicoin.ws.errors import HandlerError

_dispatch_c = compiled("_frames._dispatch_c")


class MakeDispatcher(Protocol):
    def __call__(
        self,
        mode: str,
        handlers: list[Handler],
        queue: asyncio.Queue[Any] | None = None,
        on_handler_error: ErrorCallback | None = None,
        on_unhandled: Callable[[HandlerError], None] | None = None,
        *,
        max_pending_tasks: int | None = 10_000,
    ) -> Dispatcher: ...


impl = twin_fixture(
    _dispatch_c, _dispatch_py, reason="compiled module not built (test_extensions fails)"
)


@pytest.fixture
def unhandled() -> list[HandlerError]:
    return []


@pytest.fixture
def make(impl: ModuleType, unhandled: list[HandlerError]) -> MakeDispatcher:
    def build(
        mode: str,
        handlers: list[Handler],
        queue: asyncio.Queue[Any] | None = None,
        on_handler_error: ErrorCallback | None = None,
        on_unhandled: Callable[[HandlerError], None] | None = None,
        *,
        max_pending_tasks: int | None = 10_000,
    ) -> Dispatcher:
        sink = unhandled.append if on_unhandled is None else on_unhandled
        dispatcher: Dispatcher = impl.Dispatcher(
            mode, handlers, queue, on_handler_error, sink, max_pending_tasks=max_pending_tasks
        )
        return dispatcher

    return build


async def deliver(dispatcher: Dispatcher, response: Any) -> None:
    """What the stream does with each frame."""
    pending = dispatcher.dispatch(response)
    if pending is not None:
        await pending


async def settle(dispatcher: Dispatcher) -> None:
    """Let every tracked task finish (bounded, so a leak fails instead of hanging)."""
    for _ in range(50):
        if dispatcher.pending_tasks == 0:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{dispatcher.pending_tasks} tasks still pending")


class Boom(Exception):
    pass


class Gates:
    """An async handler that waits until the gate of its response is opened."""

    def __init__(self) -> None:
        self._gates: dict[Any, asyncio.Event] = {}

    async def __call__(self, response: Any) -> None:
        await self._gate(response).wait()

    def open(self, response: Any) -> None:
        self._gate(response).set()

    def _gate(self, response: Any) -> asyncio.Event:
        return self._gates.setdefault(response, asyncio.Event())


async def stays_pending(future: asyncio.Future[Any]) -> bool:
    """True if ``future`` is still pending after the loop had a few chances to finish it."""
    for _ in range(5):
        await asyncio.sleep(0)
    return not future.done()


# Construction


def test_modes_agree_between_twins() -> None:
    assert _dispatch_py.DISPATCH_MODES == ("inline", "task", "queue")
    if _dispatch_c is not None:
        assert _dispatch_c.DISPATCH_MODES == _dispatch_py.DISPATCH_MODES


@pytest.mark.parametrize("mode", ["inline", "task", "queue"])
def test_mode_is_reported(make: MakeDispatcher, mode: str) -> None:
    assert make(mode, [], asyncio.Queue()).mode == mode


@pytest.mark.parametrize("mode", ["sync", "", "INLINE", None])
def test_bad_mode_lists_valid_modes(make: MakeDispatcher, mode: Any) -> None:
    with pytest.raises(ValueError, match="'inline', 'task', 'queue'") as info:
        make(mode, [])
    assert repr(mode) in str(info.value)


def test_queue_mode_needs_a_queue(make: MakeDispatcher) -> None:
    with pytest.raises(ValueError, match="queue=None"):
        make("queue", [], None)


def test_handlers_must_be_a_list(make: MakeDispatcher) -> None:
    with pytest.raises(TypeError, match="handlers must be a list, got tuple"):
        make("inline", (print,))  # type: ignore[arg-type]


# Inline mode


async def test_inline_sync_handlers_run_in_order_without_awaitable(make: MakeDispatcher) -> None:
    seen: list[tuple[str, Any]] = []

    def returns_a_value(r: Any) -> int:
        seen.append(("b", r))
        return 42  # not awaitable: ignored

    dispatcher = make("inline", [lambda r: seen.append(("a", r)), returns_a_value])
    assert dispatcher.dispatch("r1") is None
    assert seen == [("a", "r1"), ("b", "r1")]


async def test_inline_mixed_handlers_keep_strict_order(make: MakeDispatcher) -> None:
    seen: list[str] = []

    def first(r: Any) -> None:
        seen.append("first")

    async def second(r: Any) -> None:
        await asyncio.sleep(0)
        seen.append("second")

    def third(r: Any) -> None:
        seen.append("third")

    async def fourth(r: Any) -> None:
        await asyncio.sleep(0)
        seen.append("fourth")

    dispatcher = make("inline", [first, second, third, fourth])
    pending = dispatcher.dispatch("r")
    assert pending is not None
    assert seen == ["first"]  # the rest waits until the stream awaits
    await pending
    assert seen == ["first", "second", "third", "fourth"]


async def test_inline_awaits_non_coroutine_awaitables(make: MakeDispatcher) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    seen: list[str] = []
    dispatcher = make("inline", [lambda r: future, lambda r: seen.append("after")])
    pending = dispatcher.dispatch("r")
    assert pending is not None
    waiter = asyncio.ensure_future(pending)
    await asyncio.sleep(0)
    assert seen == []
    future.set_result(None)
    await waiter
    assert seen == ["after"]


async def test_handlers_added_after_construction_are_called(make: MakeDispatcher) -> None:
    handlers: list[Handler] = []
    seen: list[str] = []
    inline = make("inline", handlers)
    task = make("task", handlers)
    handlers.append(seen.append)
    await deliver(inline, "inline")
    await deliver(task, "task")
    assert seen == ["inline", "task"]


async def test_inline_handler_added_during_async_dispatch_is_called(
    make: MakeDispatcher,
) -> None:
    seen: list[str] = []
    handlers: list[Handler] = []

    async def adds_one(r: Any) -> None:
        handlers.append(lambda r: seen.append("late"))

    handlers.append(adds_one)
    await deliver(make("inline", handlers), "r")
    assert seen == ["late"]


# Task mode


async def test_task_mode_runs_every_handler(make: MakeDispatcher) -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def slow(r: Any) -> None:
        await release.wait()
        seen.append(f"slow {r}")

    async def fast(r: Any) -> None:
        seen.append(f"fast {r}")

    dispatcher = make("task", [slow, lambda r: seen.append(f"sync {r}"), fast])
    assert dispatcher.dispatch(1) is None
    assert seen == ["sync 1"]  # sync handlers run inside dispatch
    assert dispatcher.pending_tasks == 2
    await asyncio.sleep(0)
    assert seen == ["sync 1", "fast 1"]
    release.set()
    await settle(dispatcher)
    assert sorted(seen) == ["fast 1", "slow 1", "sync 1"]


async def test_task_mode_tracks_non_coroutine_awaitables(make: MakeDispatcher) -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    dispatcher = make("task", [lambda r: future])
    assert dispatcher.dispatch("r") is None
    assert dispatcher.pending_tasks == 1
    future.set_result(None)
    await settle(dispatcher)


async def test_aclose_cancels_pending_tasks_and_leaves_none_behind(
    make: MakeDispatcher,
) -> None:
    started: list[asyncio.Task[Any]] = []
    cancelled: list[Any] = []

    async def forever(r: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        started.append(task)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(r)
            raise

    dispatcher = make("task", [forever])
    for n in range(3):
        dispatcher.dispatch(n)
    await asyncio.sleep(0)
    dispatcher.dispatch(3)  # created but not started yet when aclose cancels it
    assert dispatcher.pending_tasks == 4

    async with asyncio.timeout(5):  # a hang guard, not a timing assertion
        await dispatcher.aclose()

    assert dispatcher.pending_tasks == 0
    assert sorted(cancelled) == [0, 1, 2]
    assert len(started) == 3 and all(task.cancelled() for task in started)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert dispatcher.handler_errors == 0


async def test_aclose_without_tasks_returns(make: MakeDispatcher) -> None:
    dispatcher = make("task", [])
    await dispatcher.aclose()
    assert dispatcher.pending_tasks == 0


# Queue mode


async def test_queue_mode_puts_responses_and_ignores_handlers(make: MakeDispatcher) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    called: list[Any] = []
    dispatcher = make("queue", [called.append], queue)
    assert dispatcher.dispatch("a") is None
    assert dispatcher.dispatch("b") is None
    assert [queue.get_nowait(), queue.get_nowait()] == ["a", "b"]
    assert called == []


async def test_full_bounded_queue_applies_backpressure(make: MakeDispatcher) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
    dispatcher = make("queue", [], queue)
    assert dispatcher.dispatch("first") is None
    pending = dispatcher.dispatch("second")
    assert pending is not None
    put = asyncio.ensure_future(pending)
    for _ in range(3):
        await asyncio.sleep(0)
    assert not put.done()
    assert queue.get_nowait() == "first"
    await asyncio.wait_for(put, 1)
    assert queue.get_nowait() == "second"


# Handler errors: inline mode


async def test_inline_sync_callback_takes_error_and_later_handlers_run(
    make: MakeDispatcher,
) -> None:
    reported: list[tuple[BaseException, Any]] = []
    seen: list[str] = []
    error = Boom("bad")

    def failing(r: Any) -> None:
        raise error

    dispatcher = make(
        "inline",
        [failing, lambda r: seen.append("next")],
        on_handler_error=lambda exc, r: reported.append((exc, r)),
    )
    assert dispatcher.dispatch("r") is None
    assert reported == [(error, "r")]
    assert seen == ["next"]
    assert dispatcher.handler_errors == 1


async def test_inline_async_callback_is_awaited_before_later_handlers(
    make: MakeDispatcher,
) -> None:
    seen: list[str] = []

    async def failing(r: Any) -> None:
        await asyncio.sleep(0)
        raise Boom(r)

    async def on_error(exc: BaseException, r: Any) -> None:
        await asyncio.sleep(0)
        seen.append(f"reported {exc}")

    dispatcher = make("inline", [failing, lambda r: seen.append("next")], on_handler_error=on_error)
    await deliver(dispatcher, "r")
    assert seen == ["reported r", "next"]
    assert dispatcher.handler_errors == 1


async def test_inline_sync_failure_with_async_callback(make: MakeDispatcher) -> None:
    seen: list[str] = []

    def failing(r: Any) -> None:
        raise Boom("sync")

    async def on_error(exc: BaseException, r: Any) -> None:
        seen.append(f"reported {exc}")

    dispatcher = make("inline", [failing, lambda r: seen.append("next")], on_handler_error=on_error)
    pending = dispatcher.dispatch("r")
    assert pending is not None
    assert seen == []
    await pending
    assert seen == ["reported sync", "next"]


async def test_inline_without_callback_raises_handler_error(make: MakeDispatcher) -> None:
    seen: list[str] = []
    error = Boom("sync")

    def failing(r: Any) -> None:
        raise error

    dispatcher = make("inline", [failing, lambda r: seen.append("skipped")])
    with pytest.raises(HandlerError) as info:
        dispatcher.dispatch("r")
    assert info.value.__cause__ is error
    assert info.value.response == "r"
    assert seen == []
    assert dispatcher.handler_errors == 1


async def test_inline_async_failure_without_callback_raises_from_awaitable(
    make: MakeDispatcher,
) -> None:
    async def failing(r: Any) -> None:
        raise Boom("async")

    dispatcher = make("inline", [failing])
    pending = dispatcher.dispatch("r")
    assert pending is not None
    with pytest.raises(HandlerError) as info:
        await pending
    assert isinstance(info.value.__cause__, Boom)
    assert info.value.response == "r"
    assert dispatcher.handler_errors == 1


@pytest.mark.parametrize("callback_kind", ["sync", "async"])
async def test_inline_failing_callback_raises_handler_error(
    make: MakeDispatcher, callback_kind: str
) -> None:
    callback_error = RuntimeError("callback broke")

    def failing(r: Any) -> None:
        raise Boom("handler")

    def sync_callback(exc: BaseException, r: Any) -> None:
        raise callback_error

    async def async_callback(exc: BaseException, r: Any) -> None:
        raise callback_error

    callback = sync_callback if callback_kind == "sync" else async_callback
    dispatcher = make("inline", [failing], on_handler_error=callback)
    with pytest.raises(HandlerError) as info:
        await deliver(dispatcher, "r")
    assert info.value.__cause__ is callback_error
    assert dispatcher.handler_errors == 1


async def test_cancellation_is_not_a_handler_error(make: MakeDispatcher) -> None:
    reported: list[BaseException] = []

    def sync_cancel(r: Any) -> None:
        raise asyncio.CancelledError

    async def async_cancel(r: Any) -> None:
        raise asyncio.CancelledError

    def on_error(exc: BaseException, r: Any) -> None:
        reported.append(exc)

    for handler in (sync_cancel, async_cancel):
        dispatcher = make("inline", [handler], on_handler_error=on_error)
        with pytest.raises(asyncio.CancelledError):
            await deliver(dispatcher, "r")
        assert dispatcher.handler_errors == 0
    task_mode = make("task", [async_cancel], on_handler_error=on_error)
    task_mode.dispatch("r")
    await settle(task_mode)
    assert task_mode.handler_errors == 0
    assert reported == []


async def test_handler_errors_count_across_frames(make: MakeDispatcher) -> None:
    def failing(r: Any) -> None:
        if r % 2:
            raise Boom(r)

    dispatcher = make("inline", [failing, failing], on_handler_error=lambda exc, r: None)
    for n in range(5):
        await deliver(dispatcher, n)
    assert dispatcher.handler_errors == 4


# Handler errors: task mode


@pytest.mark.parametrize("handler_kind", ["sync", "async"])
async def test_task_sync_callback_takes_error(
    make: MakeDispatcher, unhandled: list[HandlerError], handler_kind: str
) -> None:
    reported: list[tuple[str, Any]] = []

    def sync_failing(r: Any) -> None:
        raise Boom("sync")

    async def async_failing(r: Any) -> None:
        raise Boom("async")

    handler = sync_failing if handler_kind == "sync" else async_failing
    dispatcher = make(
        "task", [handler], on_handler_error=lambda exc, r: reported.append((str(exc), r))
    )
    assert dispatcher.dispatch("r") is None
    await settle(dispatcher)
    assert reported == [(handler_kind, "r")]
    assert unhandled == []
    assert dispatcher.handler_errors == 1


@pytest.mark.parametrize("handler_kind", ["sync", "async"])
async def test_task_async_callback_runs_in_a_tracked_task(
    make: MakeDispatcher, unhandled: list[HandlerError], handler_kind: str
) -> None:
    release = asyncio.Event()
    reported: list[str] = []

    def sync_failing(r: Any) -> None:
        raise Boom("sync")

    async def async_failing(r: Any) -> None:
        raise Boom("async")

    async def on_error(exc: BaseException, r: Any) -> None:
        await release.wait()
        reported.append(f"{exc} {r}")

    handler = sync_failing if handler_kind == "sync" else async_failing
    dispatcher = make("task", [handler], on_handler_error=on_error)
    assert dispatcher.dispatch("r") is None
    for _ in range(3):
        await asyncio.sleep(0)
    assert dispatcher.pending_tasks == 1  # the callback, waiting
    release.set()
    await settle(dispatcher)
    assert reported == [f"{handler_kind} r"]
    assert unhandled == []


@pytest.mark.parametrize("handler_kind", ["sync", "async"])
async def test_task_without_callback_calls_on_unhandled(
    make: MakeDispatcher, unhandled: list[HandlerError], handler_kind: str
) -> None:
    error = Boom(handler_kind)

    def sync_failing(r: Any) -> None:
        raise error

    async def async_failing(r: Any) -> None:
        raise error

    handler = sync_failing if handler_kind == "sync" else async_failing
    dispatcher = make("task", [handler, handler])
    assert dispatcher.dispatch("r") is None  # never raises in task mode
    await settle(dispatcher)
    assert [(e.__cause__, e.response) for e in unhandled] == [(error, "r"), (error, "r")]
    assert dispatcher.handler_errors == 2


@pytest.mark.parametrize("callback_kind", ["sync", "async"])
async def test_task_failing_callback_calls_on_unhandled(
    make: MakeDispatcher, unhandled: list[HandlerError], callback_kind: str
) -> None:
    callback_error = RuntimeError("callback broke")

    async def failing(r: Any) -> None:
        raise Boom("handler")

    def sync_callback(exc: BaseException, r: Any) -> None:
        raise callback_error

    async def async_callback(exc: BaseException, r: Any) -> Awaitable[None] | None:
        raise callback_error

    callback = sync_callback if callback_kind == "sync" else async_callback
    dispatcher = make("task", [failing], on_handler_error=callback)
    dispatcher.dispatch("r")
    await settle(dispatcher)
    assert len(unhandled) == 1
    assert unhandled[0].__cause__ is callback_error
    assert unhandled[0].response == "r"
    assert dispatcher.handler_errors == 1


# Task mode: the limit on tasks in flight


def test_max_pending_tasks_defaults_to_10_000(impl: ModuleType) -> None:
    dispatcher = impl.Dispatcher("task", [], None, None, print)
    assert dispatcher.max_pending_tasks == 10_000


@pytest.mark.parametrize("value", [0, -1, 1.5, "5", True])
def test_bad_max_pending_tasks_is_rejected(make: MakeDispatcher, value: Any) -> None:
    with pytest.raises(ValueError, match="max_pending_tasks must be None or an int >= 1") as info:
        make("task", [], max_pending_tasks=value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [1, 7, None, 2**70])
def test_max_pending_tasks_is_reported(make: MakeDispatcher, value: int | None) -> None:
    assert make("task", [], max_pending_tasks=value).max_pending_tasks == value


async def test_at_the_limit_dispatch_waits_until_a_task_finishes(make: MakeDispatcher) -> None:
    gates = Gates()
    dispatcher = make("task", [gates], max_pending_tasks=3)
    assert dispatcher.dispatch(0) is None
    assert dispatcher.dispatch(1) is None  # below the limit: no waiting
    pending = dispatcher.dispatch(2)
    assert pending is not None
    waiter = asyncio.ensure_future(pending)
    assert await stays_pending(waiter)
    gates.open(1)
    await asyncio.wait_for(waiter, 1)
    assert dispatcher.pending_tasks == 2
    again = dispatcher.dispatch(3)  # back at the limit
    assert again is not None
    next_waiter = asyncio.ensure_future(again)
    assert await stays_pending(next_waiter)
    for response in (0, 2, 3):
        gates.open(response)
    await asyncio.wait_for(next_waiter, 1)
    await settle(dispatcher)


async def test_the_limit_counts_tasks_not_frames(make: MakeDispatcher) -> None:
    gates = Gates()
    dispatcher = make("task", [gates, gates], max_pending_tasks=3)
    assert dispatcher.dispatch(0) is None
    pending = dispatcher.dispatch(1)
    assert pending is not None and dispatcher.pending_tasks == 4
    waiter = asyncio.ensure_future(pending)
    gates.open(0)  # both tasks of frame 0 finish: 2 left, below the limit
    await asyncio.wait_for(waiter, 1)
    gates.open(1)
    await settle(dispatcher)


async def test_none_means_no_limit(make: MakeDispatcher) -> None:
    gates = Gates()
    dispatcher = make("task", [gates], max_pending_tasks=None)
    assert all(dispatcher.dispatch(n) is None for n in range(200))
    assert dispatcher.pending_tasks == 200
    await dispatcher.aclose()


@pytest.mark.parametrize("mode", ["inline", "queue"])
async def test_other_modes_ignore_the_limit(make: MakeDispatcher, mode: str) -> None:
    seen: list[int] = []
    dispatcher = make(mode, [seen.append], asyncio.Queue(), max_pending_tasks=1)
    assert [dispatcher.dispatch(n) for n in range(3)] == [None, None, None]
    assert dispatcher.pending_tasks == 0


async def test_aclose_releases_a_waiter_and_cancels_tasks(make: MakeDispatcher) -> None:
    gates = Gates()
    dispatcher = make("task", [gates], max_pending_tasks=2)
    dispatcher.dispatch(0)
    pending = dispatcher.dispatch(1)
    assert pending is not None
    waiter = asyncio.ensure_future(pending)
    assert await stays_pending(waiter)
    async with asyncio.timeout(5):  # a hang guard, not a timing assertion
        await dispatcher.aclose()
        await waiter
    assert waiter.exception() is None
    assert dispatcher.pending_tasks == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_cancelled_waiter_leaves_the_dispatcher_usable(make: MakeDispatcher) -> None:
    gates = Gates()
    dispatcher = make("task", [gates], max_pending_tasks=2)
    dispatcher.dispatch(0)
    first = asyncio.ensure_future(dispatcher.dispatch(1))  # type: ignore[arg-type]
    second = asyncio.ensure_future(dispatcher.dispatch(2))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    gates.open(0)
    assert await stays_pending(second)  # 2 tasks left: still at the limit
    gates.open(1)
    await asyncio.wait_for(second, 1)  # the shared wait survived the cancellation
    pending = dispatcher.dispatch(3)
    assert pending is not None
    third = asyncio.ensure_future(pending)
    gates.open(2)
    await asyncio.wait_for(third, 1)
    gates.open(3)
    await settle(dispatcher)
    assert dispatcher.handler_errors == 0
