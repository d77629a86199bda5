"""A real ``redis-server`` on loopback for one test module (Debian's package; CI installs it)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_WITHIN = 10.0


def free_port() -> int:
    """A port nothing listens on now (redis-server cannot be told to pick one itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def redis_server(directory: Path, password: str | None = None) -> Iterator[str]:
    """Run ``redis-server`` without persistence; yield its ``redis://`` URL (with the
    password in it when one is required)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            *(["--requirepass", password] if password else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + START_WITHIN
        while True:  # bounded: until it answers, exits or the deadline passes
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {port}")
            time.sleep(0.02)
        auth = f":{password}@" if password else ""
        yield f"redis://{auth}127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
