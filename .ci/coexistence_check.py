"""One check of .ci/coexistence.sh, run by a test venv's own Python from a neutral folder.

    python coexistence_check.py LABEL ws=ours|original|none v3=import|found|none

- ``ws=ours``: ``import maicoin.ws`` is maicoin-ws (its relocated tree, its compiled hot paths,
  its CLI); ``ws=original``: it is the original distribution's; ``ws=none``: nothing answers.
- ``v3=import``: ``import maicoin.v3`` is the original's REST client; ``v3=found``: the import
  system finds the original's ``maicoin.v3`` (for a Python older than the original supports,
  where its PEP 695 syntax cannot run); ``v3=none``: there is no ``maicoin.v3``.

Whatever is expected, every installed distribution of the two must have every file its RECORD
lists, byte for byte (so neither install overwrote nor removed the other's files), and every
file under ``site-packages/maicoin`` and ``site-packages/maicoin-ws`` must belong to one of them
(an uninstall leaves nothing of its own behind). Prints one ``ok`` line, or raises.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
import sysconfig
from pathlib import Path

DISTRIBUTIONS = ("maicoin", "maicoin-ws")
SITE = Path(sysconfig.get_paths()["purelib"]).resolve()
PLATLIB = Path(sysconfig.get_paths()["platlib"]).resolve()
OURS = PLATLIB / "maicoin-ws" / "maicoin" / "ws"
ORIGINAL = SITE / "maicoin"
COMPILED = (
    "maicoin.ws._frames._book_c",
    "maicoin.ws._frames._dispatch_c",
    "maicoin.ws._frames._frame_path_c",
    "maicoin.ws._io._receive_c",
)


def installed() -> dict[str, importlib.metadata.Distribution]:
    found = {}
    for name in DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.distribution(name)
    return found


def check_records(dists: dict[str, importlib.metadata.Distribution]) -> int:
    """Every file each distribution recorded is there, with the recorded hash."""
    count = 0
    for name, dist in dists.items():
        for record in dist.files or ():
            path = Path(dist.locate_file(record)).resolve()
            assert path.is_file(), f"{name}: {record} is missing"
            if record.hash is not None:
                algorithm, expected = record.hash.mode, record.hash.value
                digest = hashlib.new(algorithm, path.read_bytes()).digest()
                actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                assert actual == expected, f"{name}: {record} is not the file it installed"
            count += 1
    return count


def check_no_stray_files(dists: dict[str, importlib.metadata.Distribution]) -> None:
    owned = {
        Path(dist.locate_file(record)).resolve()
        for dist in dists.values()
        for record in dist.files or ()
    }
    for root in {SITE / "maicoin", PLATLIB / "maicoin", PLATLIB / "maicoin-ws"}:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.resolve() in owned, f"{path} belongs to no installed distribution"
    for pth in {SITE / "maicoin_ws.pth", PLATLIB / "maicoin_ws.pth"}:
        assert pth.exists() == ("maicoin-ws" in dists), f"{pth}: left behind or missing"


def check_ours() -> None:
    import maicoin.ws
    import maicoin.ws.stream
    from maicoin.ws import Channel, Stream, Subscription
    from maicoin.ws._frames import book, dispatch, frame_path
    from maicoin.ws._io import receive

    assert Path(maicoin.ws.__file__).resolve() == OURS / "__init__.py", maicoin.ws.__file__
    assert Stream is maicoin.ws.stream.Stream
    assert Stream.__module__ == "maicoin.ws.stream", Stream.__module__
    assert Path(maicoin.ws.stream.__file__).resolve() == OURS / "stream.py"
    for selector in (book, dispatch, frame_path, receive):
        assert selector.IMPLEMENTATION == "c", f"{selector.__name__}: compiled twin not loaded"
    for name in COMPILED:
        compiled = importlib.import_module(name)
        assert Path(compiled.__file__).resolve().is_relative_to(OURS), compiled.__file__
    sub = Subscription(channel=Channel.TICKER, market="btcusdt")
    assert sub.model_dump()["channel"] == "ticker"
    # The console script and ``python -m`` reach the same package.
    for command in (
        [str(Path(sys.executable).with_name("maicoin-ws")), "--help"],
        [sys.executable, "-m", "maicoin.ws", "--help"],
    ):
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        assert out.startswith("usage: maicoin-ws"), out[:200]


def check_original_ws() -> None:
    import maicoin.ws

    assert Path(maicoin.ws.__file__).resolve() == ORIGINAL / "ws" / "__init__.py", (
        maicoin.ws.__file__
    )
    assert importlib.util.find_spec("maicoin.ws._frames") is None, "a file of ours is left"
    assert importlib.util.find_spec("maicoin.ws._stream") is not None
    if sys.version_info >= (3, 12):  # the original's own floor
        from maicoin.ws import Stream

        assert Stream.__module__ == "maicoin.ws.stream"
        assert Path(sys.modules["maicoin.ws.stream"].__file__).resolve() == (
            ORIGINAL / "ws" / "stream.py"
        )


def check_no_ws() -> None:
    for name in ("maicoin.ws", "maicoin"):
        sys.modules.pop(name, None)
    try:
        import maicoin.ws  # noqa: F401
    except ModuleNotFoundError:
        return
    raise AssertionError("maicoin.ws still imports with neither distribution installed")


def check_v3(mode: str) -> None:
    origin = ORIGINAL / "v3" / "__init__.py"
    if mode == "none":
        assert importlib.util.find_spec("maicoin") is None or (
            importlib.util.find_spec("maicoin.v3") is None
        ), "maicoin.v3 is still there"
        return
    spec = importlib.util.find_spec("maicoin.v3")
    assert spec is not None and Path(spec.origin).resolve() == origin, spec
    if mode == "import":
        import maicoin.v3

        assert Path(maicoin.__file__).resolve() == ORIGINAL / "__init__.py", maicoin.__file__
        assert maicoin.v3.Client.__module__ == "maicoin.v3.client"
        assert Path(maicoin.v3.__file__).resolve() == origin


def main() -> None:
    label, *expectations = sys.argv[1:]
    expected = dict(item.split("=", 1) for item in expectations)
    dists = installed()
    files = check_records(dists)
    check_no_stray_files(dists)
    {"ours": check_ours, "original": check_original_ws, "none": check_no_ws}[expected["ws"]]()
    check_v3(expected["v3"])
    versions = ", ".join(f"{name} {dist.version}" for name, dist in sorted(dists.items()))
    print(
        f"ok  {label}: [{versions or 'neither installed'}] maicoin.ws={expected['ws']} "
        f"maicoin.v3={expected['v3']}, {files} recorded files intact"
    )


if __name__ == "__main__":
    main()
