"""Checks shared by the one-pass readers' tests: a Response's surface and byte-level mutants."""

from __future__ import annotations

import gc
import operator
import pickle
import random
import sys
from collections.abc import Callable

from maicoin.ws.response import Response


def assert_same_surface(taken: Response, decoded: Response) -> None:
    """Everything a user can ask of a Response, both ways round."""
    assert type(taken) is Response
    assert taken == decoded and operator.eq(decoded, taken) and not operator.ne(taken, decoded)
    assert repr(taken) == repr(decoded)
    assert taken.model_dump() == decoded.model_dump()
    assert taken.model_dump_json() == decoded.model_dump_json()
    assert pickle.loads(pickle.dumps(taken)) == decoded


def assert_references_balanced(
    build: Callable[[], object], shared: tuple[object, ...], count: int = 1000, kept: int = 0
) -> None:
    """Each object ``build`` makes holds a reference of its own to every one of ``shared``
    (values it copies from a prototype), and gives it back when it goes; ``kept``: how many
    of them the builder keeps for reuse (a spare: each holds its references too)."""
    gc.collect()
    before = [sys.getrefcount(value) for value in shared]
    built = [build() for _ in range(count)]
    held = [sys.getrefcount(value) for value in shared]
    assert all(now - then >= count for now, then in zip(held, before, strict=True)), (held, before)
    del built
    gc.collect()
    assert [sys.getrefcount(value) - kept for value in shared] == before


def mutate(frame: bytes, rng: random.Random, alphabet: bytes) -> bytes:
    """``frame`` with one to three random edits: a byte replaced, deleted or inserted, the
    new bytes drawn from ``alphabet`` (the characters a reader's decisions turn on)."""
    mutant = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(len(mutant))
        choice = rng.random()
        if choice < 0.4:
            mutant[where] = rng.choice(alphabet)
        elif choice < 0.7:
            del mutant[where]
        else:
            mutant.insert(where, rng.choice(alphabet))
    return bytes(mutant)
