"""Run the end-to-end benchmark: one blast server process, one fresh client process per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..testing.blast import BlastServer, start_blast_server
from .config import LOOPS, MODES, ORIGINAL, STREAM_MODES, TRANSPORTS, RunConfig
from .report import Result

Progress = Callable[[str], None]
_BOOK_MODES = frozenset({"book", "onepass", *STREAM_MODES})


def run_benchmark(
    frames: int = 200_000,
    *,
    transports: Sequence[str] = TRANSPORTS,
    loops: Sequence[str] = LOOPS,
    modes: Sequence[str] = MODES,
    repeat: int = 3,
    market: str = "btcusdt",
    depth: int = 50,
    timeout: float = 300.0,
    progress: Progress | None = None,
) -> list[Result]:
    """Measure every transport x loop x mode on a blast of ``frames`` frames.

    Runs are interleaved (every configuration once, ``repeat`` times over) so a noisy
    neighbour slows all of them alike; each configuration reports its fastest run and is
    correct only if every run was. Raises ``ValueError`` for an unknown name.
    """
    _check(frames, transports, loops, modes, repeat)
    with start_blast_server(frames, market=market, depth=depth) as server:
        configs = [
            _config(server, transport, loop, mode)
            for transport in transports
            for loop in loops
            for mode in modes
        ]
        runs: dict[RunConfig, list[dict[str, Any]]] = {config: [] for config in configs}
        for round_number in range(repeat):
            for config in configs:
                report = _run_client(config, server, timeout)
                runs[config].append(report)
                if progress is not None:
                    progress(_describe(config, report, round_number + 1, repeat))
    return [_best(config, runs[config]) for config in configs]


def run_memory(
    frames: int = 2_000_000,
    *,
    blast_frames: int = 200_000,
    transports: Sequence[str] = TRANSPORTS,
    loops: Sequence[str] = ("uvloop",),
    modes: Sequence[str] = STREAM_MODES,
    market: str = "btcusdt",
    depth: int = 50,
    timeout: float = 900.0,
    progress: Progress | None = None,
) -> list[Result]:
    """Run one Stream per configuration over ``frames`` frames, reconnecting to a blast of
    ``blast_frames`` until done, and record its RSS after every connection."""
    _check(blast_frames, transports, loops, modes, 1)
    if set(modes) - set(STREAM_MODES):
        raise ValueError(f"memory runs measure Stream modes only: {', '.join(STREAM_MODES)}")
    connections = max(1, -(-frames // blast_frames))
    results = []
    with start_blast_server(blast_frames, market=market, depth=depth) as server:
        for transport in transports:
            for loop in loops:
                for mode in modes:
                    config = _config(server, transport, loop, mode, connections)
                    report = _run_client(config, server, timeout)
                    results.append(_best(config, [report]))
                    if progress is not None:
                        progress(_describe(config, report, 1, 1))
    return results


def _check(
    frames: int, transports: Sequence[str], loops: Sequence[str], modes: Sequence[str], repeat: int
) -> None:
    if type(frames) is not int or frames < 2:
        raise ValueError(f"frames must be an integer of at least 2, got {frames!r}")
    if type(repeat) is not int or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    for name, values, allowed in (
        ("transport", transports, TRANSPORTS),
        ("loop", loops, LOOPS),
        ("mode", modes, MODES),
    ):
        unknown = [value for value in values if value not in allowed]
        if unknown or not values:
            raise ValueError(
                f"{name}s must be chosen from {', '.join(allowed)}; got {list(values)!r}"
            )


def _config(
    server: BlastServer, transport: str, loop: str, mode: str, connections: int = 1
) -> RunConfig:
    return RunConfig(
        transport=transport,
        loop=loop,
        mode=mode,
        uri=server.uri,
        market=server.market,
        depth=server.depth,
        expected=server.n_frames + 1,  # the ``subscribed`` reply comes first
        connections=connections,
    )


def _run_client(
    config: RunConfig,
    server: BlastServer,
    timeout: float,
    command: Sequence[str] = (sys.executable, "-m", "maicoin.ws.benchmark.client"),
    *,
    this_package: bool = True,
) -> dict[str, Any]:
    """Run ``config`` in a fresh interpreter (``command``, then the config's JSON) and check
    what it and the server saw. ``this_package``: the child imports this very package
    (False for the original's interpreter, which must find its own ``maicoin.ws``)."""
    env = dict(os.environ)
    if this_package:
        package_root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    else:
        env.pop("PYTHONPATH", None)
    try:
        done = subprocess.run(
            [*command, config.to_json()],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"problems": [f"client did not finish within {timeout} s"]}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"problems": [f"client failed ({done.returncode}): {' / '.join(tail)}"]}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["problems"] = _problems(config, server, report)
    return report


def _problems(config: RunConfig, server: BlastServer, report: dict[str, Any]) -> list[str]:
    problems = []
    for _ in range(config.connections):
        try:
            sent = server.next_result(timeout=30)
        except (TimeoutError, RuntimeError) as exc:
            problems.append(f"blast server: {exc}")
            break
        if sent.frames_sent != server.n_frames:
            problems.append(f"server sent {sent.frames_sent} of {server.n_frames} frames")
        if sent.stamps:
            report.setdefault("sent_stamps", []).append(sent.stamps)
    expected = config.expected * config.connections
    if report["received"] != expected:
        problems.append(f"counted {report['received']} of {expected} frames")
    if config.mode in _BOOK_MODES and config.transport != ORIGINAL:  # the original keeps none
        if not report.get("synced"):
            problems.append("book not synced")
        elif report.get("book") != server.final_book:
            problems.append("book differs from the server's")
    for counter in ("resyncs", "decode_errors", "handler_errors"):
        if report.get(counter):
            problems.append(f"{counter} = {report[counter]}")
    return problems


def _best(config: RunConfig, reports: list[dict[str, Any]]) -> Result:
    problems = tuple(dict.fromkeys(p for report in reports for p in report.get("problems", [])))
    measured = [report for report in reports if "seconds" in report]
    if not measured:
        return Result(config.transport, config.loop, config.mode, config.expected, 0, 0.0, 0.0,
                      problems or ("no run finished",), len(reports))  # fmt: skip
    best = max(measured, key=lambda report: report["received"] / max(report["seconds"], 1e-9))
    return Result(
        transport=config.transport,
        loop=config.loop,
        mode=config.mode,
        frames=config.expected * config.connections,
        received=best["received"],
        seconds=best["seconds"],
        cpu_seconds=best["cpu_seconds"],
        problems=problems,
        runs=len(reports),
        rss=tuple(best.get("rss", ())),
    )


def _describe(config: RunConfig, report: dict[str, Any], round_number: int, rounds: int) -> str:
    where = f"[{round_number}/{rounds}] {config.transport:<10} {config.loop:<7} {config.mode:<7}"
    if "seconds" not in report:
        return f"{where} FAILED: {'; '.join(report['problems'])}"
    rate = report["received"] / max(report["seconds"], 1e-9)
    cpu = report["cpu_seconds"] / max(report["received"], 1) * 1e6
    verdict = "ok" if not report["problems"] else "WRONG: " + "; ".join(report["problems"])
    return f"{where} {rate:>12,.0f} msgs/s {cpu:6.2f} CPU µs/msg  {verdict}"
