"""Filtered handlers (``Route``) in both dispatchers: who gets which frame, in what order,
with handlers added and removed while frames flow, in every dispatch mode."""

from __future__ import annotations

import asyncio
import itertools
import json
from types import ModuleType
from typing import Any

import pytest
from streamkit import FAST_RECONNECT, Recorder, eventually, running
from twins import compiled, twin_fixture

from maicoin.ws import Channel, Event, Response, Stream, Subscription
from maicoin.ws._frames import _dispatch_py
from maicoin.ws._frames.decode import decode_response
from maicoin.ws._frames.routing import ROUTE_CACHE_LIMIT, Handler, Route, resume_index
from maicoin.ws.errors import HandlerError
from maicoin.ws.testing import MaxSimulator

_dispatch_c = compiled("_frames._dispatch_c")
impl = twin_fixture(_dispatch_c, _dispatch_py)

CHANNELS = (Channel.BOOK, Channel.TRADE)
MARKETS = ("btcusdt", "ethusdt")
EVENTS = (Event.SNAPSHOT, Event.UPDATE)


def frame(channel: str, market: str, event: str) -> Response:
    """A decoded frame (known values as the enum members, as the stream gets them)."""
    return decode_response(json.dumps({"c": channel, "M": market, "e": event, "T": 1}))


FRAMES = [frame(c, m, e) for c, m, e in itertools.product(CHANNELS, MARKETS, EVENTS)]


def dispatcher(impl: ModuleType, mode: str, handlers: list[Handler]) -> Any:
    unhandled: list[HandlerError] = []
    queue: asyncio.Queue[Any] = asyncio.Queue()
    return impl.Dispatcher(mode, handlers, queue, None, unhandled.append)


async def deliver(dispatcher: Any, response: Any) -> None:
    pending = dispatcher.dispatch(response)
    if pending is not None:
        await pending


def key(response: Response) -> tuple[str, str, str]:
    return (str(response.channel), str(response.market), str(response.event))


# ---------------------------------------------------------------- who gets what


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_every_filter_combination_gets_exactly_its_frames(
    impl: ModuleType, mode: str
) -> None:
    # 27 routes: each filter absent or one of two values; one plain handler among them.
    combos = list(itertools.product((None, *CHANNELS), (None, *MARKETS), (None, *EVENTS)))
    log: list[tuple[int, tuple[str, str, str]]] = []
    handlers: list[Handler] = []
    for number, (channel, market, event) in enumerate(combos):

        def record(r: Response, number: int = number) -> None:
            log.append((number, key(r)))

        handlers.append(Route(record, channel=channel, market=market, event=event))
    handlers.insert(13, lambda r: log.append((-1, key(r))))
    target = dispatcher(impl, mode, handlers)
    for _ in range(2):  # the second round is served from the route table
        for frame in FRAMES:
            await deliver(target, frame)
    expected = []
    for frame in FRAMES:
        matched = [
            number
            for number, (c, m, e) in enumerate(combos)
            if c in (None, frame.channel) and m in (None, frame.market) and e in (None, frame.event)
        ]
        # The plain handler sits where it was inserted, between routes 12 and 13.
        numbers = [n for n in matched if n < 13] + [-1] + [n for n in matched if n >= 13]
        expected += [(n, key(frame)) for n in numbers]
    assert log == expected * 2


async def test_filters_take_the_strings_of_channels_and_events(impl: ModuleType) -> None:
    seen: list[Response] = []
    target = dispatcher(
        impl, "inline", [Route(seen.append, channel="trade", market="ethusdt", event="update")]
    )
    for frame in FRAMES:
        await deliver(target, frame)
    assert [key(r) for r in seen] == [("trade", "ethusdt", "update")]


async def test_unknown_wire_values_reach_only_unfiltered_handlers(impl: ModuleType) -> None:
    filtered: list[Any] = []
    everyone: list[Any] = []
    target = dispatcher(impl, "inline", [Route(filtered.append, channel="book"), everyone.append])
    odd = frame("nope", "x", "brand_new")
    await deliver(target, odd)
    await deliver(target, "not a response")  # no channel, market or event at all
    assert filtered == [] and everyone == [odd, "not a response"]


async def test_queue_mode_ignores_routes(impl: ModuleType) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    called: list[Any] = []
    target = impl.Dispatcher("queue", [Route(called.append, channel="book")], queue, None, print)
    await deliver(target, FRAMES[0])
    assert called == [] and queue.get_nowait() is FRAMES[0]


async def test_task_mode_runs_async_routes_as_tasks(impl: ModuleType) -> None:
    seen: list[str] = []

    async def slow(r: Response) -> None:
        seen.append(f"async {r.market}")

    target = dispatcher(impl, "task", [Route(slow, market="ethusdt"), seen.append])
    for frame in FRAMES[:4]:
        assert target.dispatch(frame) is None
    assert target.pending_tasks == 2
    await asyncio.gather(*[asyncio.sleep(0) for _ in range(3)])
    for _ in range(10):
        if target.pending_tasks == 0:
            break
        await asyncio.sleep(0)
    assert seen.count("async ethusdt") == 2 and len(seen) == 6


async def test_inline_async_routes_keep_registration_order(impl: ModuleType) -> None:
    order: list[str] = []

    async def first(r: Response) -> None:
        await asyncio.sleep(0)
        order.append("first")

    handlers: list[Handler] = [
        Route(first, channel="book"),
        lambda r: order.append("plain"),
        Route(lambda r: order.append("last"), event="update"),
    ]
    target = dispatcher(impl, "inline", handlers)
    await deliver(target, FRAMES[1])  # book btcusdt update
    await deliver(target, FRAMES[4])  # trade btcusdt snapshot
    assert order == ["first", "plain", "last", "plain"]


# ---------------------------------------------------------------- the list changes


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_a_route_added_between_frames_gets_the_next_frame(
    impl: ModuleType, mode: str
) -> None:
    seen: list[str] = []
    handlers: list[Handler] = [Route(lambda r: seen.append("a"), channel="book")]
    target = dispatcher(impl, mode, handlers)
    await deliver(target, FRAMES[0])
    handlers.append(Route(lambda r: seen.append("b"), channel="book"))
    await deliver(target, FRAMES[0])
    handlers.pop(0)
    await deliver(target, FRAMES[0])
    assert seen == ["a", "a", "b", "b"]


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_a_same_length_replacement_between_frames_is_seen(
    impl: ModuleType, mode: str
) -> None:
    seen: list[str] = []
    handlers: list[Handler] = [Route(lambda r: seen.append("old"), channel="book")]
    target = dispatcher(impl, mode, handlers)
    await deliver(target, FRAMES[0])
    handlers[0] = Route(lambda r: seen.append("new"), channel="book")
    await deliver(target, FRAMES[0])
    assert seen == ["old", "new"]


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_a_route_added_by_a_handler_gets_the_same_frame(impl: ModuleType, mode: str) -> None:
    seen: list[str] = []
    handlers: list[Handler] = []

    def adds_one(r: Response) -> None:
        seen.append("adder")
        if len(handlers) == 2:
            handlers.append(Route(lambda r: seen.append("late"), channel="book"))

    handlers += [adds_one, Route(lambda r: seen.append("second"), channel="book")]
    target = dispatcher(impl, mode, handlers)
    await deliver(target, FRAMES[0])
    await deliver(target, FRAMES[4])  # a trade frame: the book routes stay quiet
    assert seen == ["adder", "second", "late", "adder"]


async def test_an_async_handler_adding_a_route_mid_frame(impl: ModuleType) -> None:
    seen: list[str] = []
    handlers: list[Handler] = []

    async def adds_one(r: Response) -> None:
        handlers.append(Route(lambda r: seen.append("late"), market="btcusdt"))

    handlers.append(adds_one)
    await deliver(dispatcher(impl, "inline", handlers), FRAMES[0])
    assert seen == ["late"]


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_a_one_shot_handler_removing_itself_costs_no_other_its_call(
    impl: ModuleType, mode: str
) -> None:
    seen: list[str] = []
    handlers: list[Handler] = []

    def once(r: Response) -> None:
        seen.append("once")
        handlers.remove(entry)

    entry = Route(once, channel="book")
    handlers += [entry, lambda r: seen.append("always")]
    target = dispatcher(impl, mode, handlers)
    await deliver(target, FRAMES[0])
    await deliver(target, FRAMES[0])
    assert seen == ["once", "always", "always"]


def test_resume_index_goes_past_what_was_called() -> None:
    a, b, c, d = print, repr, str, len
    assert resume_index((a, b, c), (a,)) == 1  # nothing changed before the position
    assert resume_index((b, c), (a,)) == 0  # a removed itself
    assert resume_index((a, b, d, c), (a, b)) == 2  # d inserted after b
    assert resume_index((a, a, c), (a,)) == 1  # a registered twice: its second call is due


async def test_the_route_table_starts_afresh_at_its_limit(impl: ModuleType) -> None:
    seen: list[str] = []
    target = dispatcher(impl, "inline", [Route(lambda r: seen.append(r.market), channel="book")])
    for number in range(ROUTE_CACHE_LIMIT + 10):
        await deliver(target, frame("book", f"m{number}", "update"))
    assert len(seen) == ROUTE_CACHE_LIMIT + 10 and seen[-1] == f"m{ROUTE_CACHE_LIMIT + 9}"


# ---------------------------------------------------------------- Route and add_handler


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"channel": "books"}, "unknown channel 'books'; frames carry one of: book, trade"),
        ({"channel": Channel.ORDER}, "channel 'order' is a subscription, not a frame channel"),
        ({"event": "updated"}, "unknown event 'updated'; events are: error,"),
        ({"market": ""}, "market must be a non-empty string such as 'btctwd'; got ''"),
        ({"market": 5}, "market must be a non-empty string such as 'btctwd'; got 5"),
    ],
)
def test_bad_filters_are_named(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        Stream().add_handler(print, **filters)


def test_routes_are_values_with_a_readable_repr() -> None:
    route = Route(print, channel="book", event=Event.UPDATE)
    assert route.channel is Channel.BOOK and route.event is Event.UPDATE and route.market is None
    assert route == Route(print, channel=Channel.BOOK, event="update")
    assert hash(route) == hash(Route(print, channel=Channel.BOOK, event="update"))
    assert route != Route(print, channel="book")
    assert repr(route) == "Route(<built-in function print>, channel='book', event='update')"
    with pytest.raises(AttributeError):
        route.market = "btcusdt"  # type: ignore[misc]


def test_calling_a_route_applies_its_filter() -> None:
    seen: list[Response] = []
    route = Route(seen.append, market="ethusdt")
    assert [route(frame) for frame in FRAMES] == [None] * len(FRAMES)
    assert [r.market for r in seen] == ["ethusdt"] * 4


def test_add_handler_one_argument_form_is_unchanged() -> None:
    stream = Stream()
    assert stream.add_handler(print) is print
    assert stream.handlers == [print]
    with pytest.raises(TypeError, match="handler must be callable, got str"):
        stream.add_handler("print", channel="book")  # type: ignore[arg-type]


def test_add_handler_with_filters_returns_what_removes_it() -> None:
    stream = Stream()
    route = stream.add_handler(print, channel=Channel.BOOK, market="btcusdt")
    assert stream.handlers == [Route(print, channel="book", market="btcusdt")]
    stream.handlers.remove(route)
    assert stream.handlers == []


# ---------------------------------------------------------------- a stream, over loopback


@pytest.mark.parametrize("mode", ["inline", "task", "queue"])
async def test_a_stream_routes_frames_by_channel_market_and_event(mode: str) -> None:
    async with MaxSimulator(update_interval=0.01, seed=5) as sim:
        stream = Stream(uri=sim.uri, dispatch=mode, reconnect_policy=FAST_RECONNECT)
        stream.subscribe(
            [
                Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
                Subscription(channel=Channel.BOOK, market="ethusdt", depth=5),
                Subscription(channel=Channel.TRADE, market="btcusdt"),
            ]
        )
        everything, eth_book, updates, late = Recorder(), Recorder(), Recorder(), Recorder()
        stream.add_handler(everything)
        stream.add_handler(eth_book, channel="book", market="ethusdt")
        stream.add_handler(updates, event=Event.UPDATE)
        async with running(stream):
            if mode == "queue":
                assert stream.response_queue is not None
                for _ in range(20):
                    await asyncio.wait_for(stream.response_queue.get(), 10)
            else:
                await eventually(
                    lambda: len(eth_book.having("update")) >= 5, within=20, what="eth updates"
                )
                # Added while running: from the next frame on.
                stream.add_handler(late, channel=Channel.TRADE, market="btcusdt")
                await eventually(lambda: len(late.responses) >= 2, within=20, what="trades")
    if mode == "queue":
        assert everything.responses == eth_book.responses == updates.responses == []
        return
    seen = everything.responses
    assert eth_book.responses == [r for r in seen if key(r)[:2] == ("book", "ethusdt")]
    assert updates.responses == [r for r in seen if r.event is Event.UPDATE]
    trades = [r for r in seen if key(r)[:2] == ("trade", "btcusdt")]
    assert late.responses == trades[len(trades) - len(late.responses) :]


@pytest.mark.parametrize("mode", ["inline", "task"])
async def test_a_handler_removed_during_a_frame_still_gets_that_frame_only(
    impl: ModuleType, mode: str
) -> None:
    seen: list[str] = []
    handlers: list[Handler] = []

    def removes_the_next(r: Response) -> None:
        seen.append("first")
        if later in handlers:
            handlers.remove(later)

    later = Route(lambda r: seen.append("later"), channel="book")
    handlers += [removes_the_next, later]
    target = dispatcher(impl, mode, handlers)
    await deliver(target, FRAMES[0])
    await deliver(target, FRAMES[0])
    assert seen == ["first", "later", "first"]
