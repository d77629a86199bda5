"""The frame profile's harness keeps the book in sequence in every context it times.

A timed frame the book declined (a gap, a book waiting for its snapshot) would be timed
as a refusal, not as a read: each context must take every book update it times.

Run: ``.venv/bin/python -m pytest benchmarks/test_profile_frames_bench.py``
"""

from __future__ import annotations

import pytest

from maicoin.ws._frames import book

pytestmark = pytest.mark.skipif(book.IMPLEMENTATION != "c", reason="times the compiled book")


@pytest.mark.parametrize("between", ["book", "stream"])
def test_every_timed_book_update_is_read_in_one_pass(between: str) -> None:
    import profile_frames

    payloads = profile_frames.blast_stream(2_000).payloads
    indexes = [
        i
        for i, payload in enumerate(payloads)
        if i and profile_frames.kind(payload) == "book update, 3 levels"
    ]
    assert len(indexes) > 20
    run = profile_frames.InContext(payloads, indexes, between)
    run()
    assert run.taken == len(indexes)
    assert run.spent > 0
