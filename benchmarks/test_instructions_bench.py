"""benchmarks/instructions.py: a real callgrind count of a short stream, and its attribution.

Needs valgrind (CI installs it). The count itself is the benchmark's; what is checked is
that it is a count of ``FramePath.feed`` alone, frame by frame, and that the libraries'
shares add up to it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maicoin.ws._frames import frame_path

SCRIPT = Path(__file__).resolve().parent / "instructions.py"


def test_library_names_group_code_by_where_it_runs() -> None:
    import instructions

    name = instructions.library_name
    assert name("/x/maicoin/ws/_frames/_book_c.cpython-311-x86_64-linux-gnu.so") == "ours: _book_c"
    # inlined header code, named by the function it is in
    assert (
        name(
            "/usr/include/python3.11/object.h:__pyx_f_7maicoin_2ws_7_frames_13_frame_path_c_9FramePath_feed"
        )
        == "ours: _frame_path_c"
    )
    assert name("/venv/site-packages/msgspec/_core.cpython-311-x86_64-linux-gnu.so") == "msgspec"
    assert name("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0") == "CPython"
    assert name("/usr/lib/x86_64-linux-gnu/libc.so.6") == "libc"


@pytest.mark.skipif(frame_path.IMPLEMENTATION != "c", reason="counts the compiled frame path")
def test_a_short_stream_is_counted_frame_by_frame(tmp_path: Path) -> None:
    assert shutil.which("valgrind"), "valgrind is needed (apt-get install valgrind)"
    out = tmp_path / "instructions.md"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--frames", "300", "--mix-only", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    text = out.read_text()
    mix = re.search(r"\| every frame \(the mix\) \| ([\d,]+) \| ([\d,]+) \|", text)
    assert mix is not None, text
    fed, per_frame = (int(group.replace(",", "")) for group in mix.groups())
    assert fed == 299  # every frame but the snapshot that starts the stream
    # A frame costs thousands of instructions, not the millions of an interpreter start-up
    # that a count outside FramePath.feed would take in.
    assert 1_000 < per_frame < 100_000
    shares = [
        int(v.replace(",", ""))
        for v in re.findall(r"^\| [^|]+ \| ([\d,]+) \| \d+% \|$", text, re.M)
    ]
    assert shares and abs(sum(shares) - per_frame) <= 0.02 * per_frame + len(shares)
    assert "ours: _book_c" in text and "msgspec" in text
