"""Blast mode: a separate process streams a pre-encoded book subscription as fast as it can."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sim_client import ReferenceBook
from websockets.asyncio.client import connect

from maicoin.ws.testing import BlastServer, blast_stream, measure_send_rate, start_blast_server
from maicoin.ws.testing.blast_stream import frame_chunks, websocket_frame

N_FRAMES = 3000


@pytest.fixture(scope="module")
def blast() -> Iterator[BlastServer]:
    with start_blast_server(N_FRAMES, depth=20, seed=3) as server:
        yield server


async def test_a_client_receives_the_whole_stream_and_the_true_book(blast: BlastServer) -> None:
    book = ReferenceBook()
    kinds: dict[str, int] = {}
    async with connect(blast.uri, max_queue=None) as websocket:
        await websocket.send(json.dumps(blast.subscription_request("b1")))
        reply = json.loads(await websocket.recv())
        async for message in websocket:
            frame = json.loads(message)
            kinds[frame["c"]] = kinds.get(frame["c"], 0) + 1
            if frame["c"] == "book":
                book.apply(frame)
        close_code = websocket.close_code
    result = blast.next_result(10)
    assert (reply["e"], reply["i"]) == ("subscribed", "b1")
    assert sum(kinds.values()) == N_FRAMES
    assert kinds["book"] > kinds["trade"] > kinds["ticker"] > 0
    assert book.levels() == {"asks": blast.final_book["asks"], "bids": blast.final_book["bids"]}
    assert book.last_update_id == blast.final_book["last_update_id"]
    assert close_code == 1000
    assert result.subscribed and result.closed_cleanly
    assert (result.frames_sent, result.bytes_sent) == (N_FRAMES, blast.total_bytes)


async def test_a_wrong_subscription_gets_an_error_and_no_stream(blast: BlastServer) -> None:
    request = {"action": "sub", "id": "x", "subscriptions": [{"channel": "book", "market": "eth"}]}
    async with connect(blast.uri) as websocket:
        await websocket.send(json.dumps(request))
        error = json.loads(await websocket.recv())
    result = blast.next_result(10)
    assert error["e"] == "error" and error["i"] == "x"
    assert error["E"][0].startswith("E-1100")
    assert not result.subscribed and result.frames_sent == 0
    assert [json.loads(text) for text in result.requests] == [request]


def test_a_raw_reader_measures_the_send_rate(blast: BlastServer) -> None:
    rate = measure_send_rate(blast)
    result = blast.next_result(10)
    assert (rate.frames, rate.bytes) == (N_FRAMES, blast.total_bytes)
    assert rate.seconds > 0 and rate.frames_per_second > 0
    assert result.subscribed and result.closed_cleanly


def test_the_stream_is_deterministic_and_starts_with_a_snapshot() -> None:
    first, second = blast_stream(500, seed=1), blast_stream(500, seed=1)
    assert first.payloads == second.payloads
    assert first.payloads != blast_stream(500, seed=2).payloads
    assert len(first.payloads) == sum(first.counts.values()) == 500
    assert json.loads(first.payloads[0])["e"] == "snapshot"
    with pytest.raises(ValueError, match="n_frames"):
        blast_stream(0)


@pytest.mark.parametrize(("size", "header"), [(125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_frames_have_the_right_header(size: int, header: int) -> None:
    frame = websocket_frame(b"x" * size)
    assert len(frame) == size + header
    assert frame[0] == 0x81


def test_chunks_end_on_frame_boundaries() -> None:
    payloads = [b"a" * 100] * 50
    chunks = frame_chunks(payloads, chunk_size=1000)
    assert sum(count for _, count in chunks) == 50
    assert all(len(chunk) == count * 102 for chunk, count in chunks)
