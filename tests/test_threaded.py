"""``ThreadedStream``: a stream read from synchronous code, against the simulator.

These are synchronous tests: the plugin's ``max_simulator`` serves them from a loop in a
background thread, and the stream runs on a loop of its own in another.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from maicoin.ws import AuthenticationError, Channel, Response, Stream, Subscription
from maicoin.ws.testing import Faults, MaxSimulator
from maicoin.ws.testing.pytest_plugin import ThreadedSimulatorFactory
from maicoin.ws.threaded import ThreadedStream

THREAD_NAME = "maicoin.ws ThreadedStream"
BOOK = Subscription(channel=Channel.BOOK, market="btcusdt")
TICKER = Subscription(channel=Channel.TICKER, market="btcusdt")


def wait_for(predicate: Callable[[], Any], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.005)


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def wait_subscribed(factory: ThreadedSimulatorFactory, sim: MaxSimulator) -> None:
    """Until the one connection got its ``subscribed`` reply and book snapshot."""
    factory.call(sim.wait_until, lambda: sim.connections and sim.connections[0].frames_sent >= 2)


def frames_sent(factory: ThreadedSimulatorFactory, sim: MaxSimulator) -> int:
    """Frames the simulator has written on its one connection (its send queue flushed)."""

    async def flushed() -> int:
        (connection,) = sim.connections
        await sim.wait_until(lambda: connection.pending_frames == 0)
        return connection.frames_sent

    return factory.call(flushed)


def assert_book_updates_continue(responses: list[Response]) -> None:
    updates = [r for r in responses if r.channel == "book" and r.event == "update"]
    assert updates
    for before, after in itertools.pairwise(updates):
        assert after.first_update_id == before.last_update_id + 1  # type: ignore[operator]


@pytest.fixture
def manual_sim(max_simulator_factory: ThreadedSimulatorFactory) -> MaxSimulator:
    """A simulator that only moves when the test steps it."""
    return max_simulator_factory(update_interval=None, private_every=None, pool_quota_every=None)


@pytest.mark.parametrize("use_uvloop", [True, False], ids=["uvloop", "asyncio"])
def test_responses_arrive_in_order_and_the_with_block_stops_everything(
    max_simulator: MaxSimulator,
    max_simulator_factory: ThreadedSimulatorFactory,
    use_uvloop: bool,
) -> None:
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([BOOK, TICKER])
    received: list[Response] = []
    with ThreadedStream(stream, use_uvloop=use_uvloop) as responses:
        assert len(stream_threads()) == 1
        for response in responses:
            received.append(response)
            if sum(r.channel == "book" and r.event == "update" for r in received) >= 10:
                break
        assert stream.connected
    assert stream_threads() == []
    assert responses.closed and not stream.connected
    assert received[0].event == "subscribed"
    assert_book_updates_continue(received)
    max_simulator_factory.call(max_simulator.wait_until, lambda: not max_simulator.connections)
    assert responses._handoff.offer not in stream.handlers  # the stream can run again


def test_block_holds_the_stream_back_and_loses_nothing(
    manual_sim: MaxSimulator, max_simulator_factory: ThreadedSimulatorFactory
) -> None:
    stream = Stream(uri=manual_sim.uri)
    stream.subscribe([BOOK])
    with ThreadedStream(stream, maxsize=2) as responses:
        wait_subscribed(max_simulator_factory, manual_sim)
        max_simulator_factory.call(manual_sim.step, 30)
        sent = frames_sent(max_simulator_factory, manual_sim)
        assert sent > 10
        # Two queued, one held by the handler waiting for room: the rest stays unread.
        wait_for(lambda: stream.stats.messages == 3, "the stream to fill the queue")
        assert responses.pending == 2
        received = [next(responses) for _ in range(sent)]
        assert responses.dropped == 0
        assert stream.stats.messages == sent
    assert_book_updates_continue(received)


def test_drop_oldest_keeps_the_newest_and_counts_every_drop(
    manual_sim: MaxSimulator, max_simulator_factory: ThreadedSimulatorFactory
) -> None:
    stream = Stream(uri=manual_sim.uri)
    stream.subscribe([BOOK])
    with ThreadedStream(stream, maxsize=3, overflow="drop_oldest") as responses:
        wait_subscribed(max_simulator_factory, manual_sim)
        max_simulator_factory.call(manual_sim.step, 30)
        sent = frames_sent(max_simulator_factory, manual_sim)
        wait_for(lambda: stream.stats.messages == sent, "every frame to be received")
        assert responses.pending == 3
        assert responses.dropped == sent - 3
        kept = [responses.get(timeout=5) for _ in range(3)]
        assert responses.get(timeout=0.01) is None  # nothing else arrives
    book = stream.books["btcusdt"]
    assert kept[-1] is not None and kept[-1].last_update_id == book.last_update_id
    assert book.synced  # the book saw every frame, whatever the reader dropped


def test_close_releases_a_stream_waiting_for_room(
    manual_sim: MaxSimulator, max_simulator_factory: ThreadedSimulatorFactory
) -> None:
    stream = Stream(uri=manual_sim.uri)
    stream.subscribe([BOOK])
    responses = ThreadedStream(stream, maxsize=1).start()
    wait_subscribed(max_simulator_factory, manual_sim)
    max_simulator_factory.call(manual_sim.step, 10)
    wait_for(lambda: stream.stats.messages == 2, "the stream to wait for room")
    responses.close(timeout=20)
    assert stream_threads() == [] and not stream.connected
    assert responses.closed and responses.pending == 0
    assert next(responses, None) is None


def test_close_right_after_start_stops_a_stream_still_connecting(
    max_simulator: MaxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Stream.stop() alone is not seen by a stream before or during its opening handshake.
    for _ in range(5):
        stream = Stream(uri=max_simulator.uri)
        stream.subscribe([TICKER])
        ThreadedStream(stream).start().close(timeout=20)
        assert stream_threads() == [] and not stream.connected
    assert "did not end" not in caplog.text


def test_a_failure_reaches_the_reader(max_simulator: MaxSimulator) -> None:
    stream = Stream("unknown-key", "wrong-secret", uri=max_simulator.uri)
    with ThreadedStream(stream) as responses, pytest.raises(AuthenticationError):
        for _ in responses:
            pass
    assert isinstance(responses.error, AuthenticationError)
    assert stream_threads() == []


def test_iteration_ends_when_the_stream_ends(max_simulator_factory: ThreadedSimulatorFactory):
    sim = max_simulator_factory(faults=Faults(close_after_frames=3))
    stream = Stream(uri=sim.uri, reconnect=False)
    stream.subscribe([TICKER, BOOK])
    with ThreadedStream(stream) as responses:
        received = list(responses)
        assert responses.closed
        assert responses.get(timeout=5) is None
    assert len(received) == 3 and responses.error is None


def test_subscribe_and_unsubscribe_from_the_reading_thread(max_simulator: MaxSimulator) -> None:
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([TICKER])
    with ThreadedStream(stream) as responses:
        assert responses.get(timeout=10) is not None  # connected and subscribed
        responses.subscribe([BOOK])
        for response in responses:
            if response.channel == "book" and response.event == "snapshot":
                break
        responses.unsubscribe([BOOK])
        for response in responses:
            if response.event == "unsubscribed":
                break
    assert stream.subscriptions == [TICKER]


def test_a_dropped_threaded_stream_stops_its_thread(max_simulator: MaxSimulator) -> None:
    stream = Stream(uri=max_simulator.uri)
    stream.subscribe([TICKER])
    responses = ThreadedStream(stream)
    assert next(iter(responses)).event == "subscribed"
    del responses
    gc.collect()
    assert stream_threads() == [] and not stream.connected


def test_get_waits_at_most_its_timeout(max_simulator: MaxSimulator) -> None:
    with ThreadedStream(Stream(uri=max_simulator.uri)) as responses:  # no subscription
        assert responses.get(timeout=0.05) is None
        assert not responses.closed


def test_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="queue"):
        ThreadedStream(Stream(dispatch="queue"))
    with pytest.raises(ValueError, match="maxsize"):
        ThreadedStream(Stream(), maxsize=0)
    with pytest.raises(ValueError, match="overflow"):
        ThreadedStream(Stream(), overflow="drop_newest")


def test_repr_shows_no_secret() -> None:
    text = repr(ThreadedStream(Stream("my-api-key", "my-api-secret")))
    assert "my-api-secret" not in text and "my-api-key" not in text
    assert "new" in text and "dropped=0" in text


# -- Ctrl-C -----------------------------------------------------------------------------------

# Busy: responses keep coming, so Ctrl-C lands anywhere in the loop; the with block stops all.
BUSY = """
import os, threading
from maicoin.ws import Channel, Stream, Subscription
from maicoin.ws.threaded import ThreadedStream

stream = Stream(uri=os.environ["MAX_WS_URI"])
stream.subscribe([Subscription(channel=Channel.BOOK, market="btcusdt", depth=5),
                  Subscription(channel=Channel.TICKER, market="btcusdt")])
try:
    with ThreadedStream(stream) as responses:
        for count, response in enumerate(responses):
            if count == 3:
                print("reading", flush=True)
except KeyboardInterrupt:
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print("interrupted", others, stream.connected, flush=True)
"""

# Idle: no subscription, so the main thread waits in next(); a helper thread says "waiting"
# once the main thread is inside the reader's wait, so Ctrl-C lands there (no with block).
IDLE = """
import os, sys, threading, time
from maicoin.ws import Stream
from maicoin.ws.threaded import ThreadedStream

def announce_waiting(main_id):
    while True:
        frame = sys._current_frames().get(main_id)
        up = frame.f_back if frame is not None else None
        if up is not None and up.f_code.co_name == "take" and frame.f_code.co_name == "wait":
            print("waiting", flush=True)
            return
        time.sleep(0.005)

stream = Stream(uri=os.environ["MAX_WS_URI"])
responses = ThreadedStream(stream).start()
announcer = threading.Thread(target=announce_waiting, args=(threading.main_thread().ident,))
announcer.start()
try:
    for response in responses:
        pass
except KeyboardInterrupt:
    announcer.join()  # it has printed and is ending: only the stream's own threads count
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print("interrupted", others, stream.connected, responses.closed, flush=True)
"""


@pytest.mark.parametrize(("script", "ready"), [(BUSY, "reading"), (IDLE, "waiting")])
def test_ctrl_c_stops_the_stream_and_joins_its_thread(
    max_simulator: MaxSimulator, script: str, ready: str
) -> None:
    env = dict(os.environ, MAX_WS_URI=max_simulator.uri)
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == ready, line + proc.stderr.read()  # type: ignore[union-attr]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception in thread" not in err, err
    expected = "interrupted [] False True" if script is IDLE else "interrupted [] False"
    assert out.strip().splitlines()[-1] == expected
