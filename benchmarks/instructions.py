"""Instructions per frame on the compiled frame path: ``python benchmarks/instructions.py``.

On a shared VM a timing moves by tens of percent between runs; the number of instructions a
frame costs does not. Each figure here is counted by valgrind's callgrind in a child process
that replays the blast server's stream (the one ``profile_frames.py`` times) through one
compiled ``FramePath``, with counting switched on only inside ``FramePath.feed``: the
figure is feed's own work (stats, the one-pass read of book, trade and ticker updates or
msgspec's decode and the book apply, inline dispatch, a handler that counts), not the replay
loop's. For one kind of frame only that kind goes through ``feed``; every other frame keeps
the book in step outside it.
Writes benchmarks/results/instructions.md. Needs valgrind and the compiled modules.
"""

from __future__ import annotations

import argparse
import collections
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

# Run as a script, this file's folder is on sys.path: the stream's kinds and the frame path
# a stream builds are profile_frames' own.
from profile_frames import kind, stream_path

from maicoin.ws import Channel
from maicoin.ws._frames import frame_path
from maicoin.ws._frames.decode import make_decoder
from maicoin.ws.testing.blast_stream import blast_stream

RESULTS = Path(__file__).resolve().parent / "results"
EVERY_KIND = "every frame (the mix)"
# The compiled FramePath.feed, by its C name: callgrind counts only inside it.
FEED_SYMBOL = "__pyx_f_7maicoin_2ws_7_frames_13_frame_path_c_9FramePath_feed"
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
# callgrind_annotate's per-function lines: "1,234 (12.3%)  file:function [object]".
FUNCTION_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)(?:\s+\[(.+)\])?\s*$")


def replay(frames: int, measured: str) -> int:
    """The child: feed the frames of kind ``measured`` (or all) through the frame path, the
    rest straight to the book; return how many went through ``feed``."""
    payloads = blast_stream(frames).payloads
    keeper, path = stream_path(one_pass=True)
    decode, feed = make_decoder(), path.feed
    fed = 0
    for index, payload in enumerate(payloads):
        # The first frame is the snapshot, and it is every run's start: never measured.
        if index and (measured == EVERY_KIND or kind(payload) == measured):
            feed(payload)
            fed += 1
        elif keeper.apply_frame(payload) is None:
            response = decode(payload)
            if response.channel is Channel.BOOK:
                keeper.apply(response)
    return fed


def count(frames: int, measured: str, out: Path) -> tuple[float, int]:
    """Run the child under callgrind: instructions per ``feed`` call, and the calls."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        "--collect-atstart=no",
        f"--toggle-collect={FEED_SYMBOL}",
        sys.executable,
        __file__,
        "--child",
        measured,
        "--frames",
        str(frames),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    collected = COLLECTED.search(done.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    fed = int(done.stdout.split()[-1])
    return int(collected.group(1)) / max(fed, 1), fed


def by_library(out: Path, calls: int) -> list[tuple[str, float]]:
    """Instructions per call spent in each shared object (its own code, not its callees)."""
    listing = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--inclusive=no", "--threshold=100", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    totals: collections.Counter[str] = collections.Counter()
    for line in listing.splitlines():
        found = FUNCTION_LINE.match(line)
        if found is None or "PROGRAM TOTALS" in line:
            continue
        # Code inlined from a header has no object of its own: the function it is in has.
        where = found.group(3) or found.group(2)
        totals[library_name(where)] += int(found.group(1).replace(",", ""))
    return [(name, spent / max(calls, 1)) for name, spent in totals.most_common()]


def library_name(path: str) -> str:
    """A shared object's short name: ``_book_c``, ``msgspec``, ``libpython3.11``, ``libc``."""
    if "msgspec" in path:
        return "msgspec"
    for part in ("_book_c", "_frame_path_c", "_dispatch_c", "_receive_c"):
        if part in path:
            return f"ours: {part}"
    if "python" in path.lower():
        return "CPython"
    if "libc.so" in path or "/string/" in path:
        return "libc"
    return Path(path.split(":", 1)[0]).name


def report(
    frames: int, rows: Sequence[tuple[str, int, float]], libraries: Sequence[tuple[str, float]]
) -> str:
    mix = next(per for name, _, per in rows if name == EVERY_KIND)
    lines = [
        "# Instructions per frame: the compiled frame path, counted by callgrind",
        "",
        f"`python benchmarks/instructions.py --frames {frames}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}; {platform.machine()}, Python "
        f"{platform.python_version()}, msgspec {msgspec.__version__}).",
        "",
        "Counted, not timed: the same build gives the same figures on a busy machine and a",
        "quiet one, so two builds compare to the instruction even where their timings do not.",
        "The count is what `FramePath.feed` executes for a frame (stats, the one-pass read",
        "of book, trade and ticker updates or msgspec's decode and the book apply, inline",
        "dispatch to one counting handler), the blast server's btcusdt stream replayed in",
        "stream order. Instructions are not time (a cache miss or a division costs many",
        "cycles): read them with [frame-profile.md](frame-profile.md).",
        "",
        "| frames | fed through `feed` | instructions per frame |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {fed:,} | {per:,.0f} |" for name, fed, per in rows]
    lines += [
        "",
        "Where the mix's instructions are (each library's own code, per frame):",
        "",
        "| code | instructions per frame | share |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {per:,.0f} | {per / mix:.0%} |" for name, per in libraries if per >= 1]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "instructions.md")
    parser.add_argument(
        "--mix-only", action="store_true", help="count the mix alone, not each kind too"
    )
    parser.add_argument("--child", metavar="KIND", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(replay(args.frames, args.child))
        return 0
    if frame_path.IMPLEMENTATION != "c":
        parser.error("the compiled frame path is not in use (MAICOIN_WS_NO_EXTENSIONS?)")
    missing = [tool for tool in ("valgrind", "callgrind_annotate") if shutil.which(tool) is None]
    if missing:
        parser.error(f"needs {' and '.join(missing)} (Debian: apt-get install valgrind)")
    kinds = collections.Counter(kind(p) for p in blast_stream(args.frames).payloads[1:])
    rows: list[tuple[str, int, float]] = []
    libraries: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        each_kind = [] if args.mix_only else [name for name, _ in kinds.most_common()]
        for measured in [EVERY_KIND, *each_kind]:
            out = Path(scratch) / "callgrind.out"
            per, fed = count(args.frames, measured, out)
            rows.append((measured, fed, per))
            if measured == EVERY_KIND:
                libraries = by_library(out, fed)
    text = report(args.frames, rows, libraries)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
