"""The blast server process: ``python -m maicoin.ws.testing.blast_process '<json options>'``.

Reports to its parent as JSON lines on stdout (``ready``, then one ``result`` per
connection) and exits when its stdin closes, so it never outlives the parent.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

from .._event_loop import loop_factory
from .blast import BLAST_PATH
from .blast_stream import BlastStream, blast_stream, frame_chunks, websocket_frame
from .paced import Pace, deflate_message


def report(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    options = json.loads(argv[0])
    try:
        stream = blast_stream(
            options["n_frames"],
            market=options["market"],
            depth=options["depth"],
            seed=options["seed"],
        )
        chunks = frame_chunks(stream.payloads)
        pace = None if options.get("pace") is None else Pace(**options["pace"])
    except Exception as exc:  # reported to the parent, which raises it
        report({"kind": "error", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    with asyncio.Runner(loop_factory=loop_factory(use_uvloop=True)) as runner:
        runner.run(_serve(stream, chunks, pace, options))
    return 0


def _exit_with_parent() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


async def _serve(
    stream: BlastStream,
    chunks: list[tuple[bytes, int]],
    pace: Pace | None,
    options: dict[str, Any],
) -> None:
    from picows import (
        WSUpgradeRequest,
        WSUpgradeResponse,
        WSUpgradeResponseWithListener,
        ws_create_server,
    )

    from .blast_listener import BlastListener
    from .paced import DEFLATE_EXTENSION, offers_deflate
    from .paced_listener import PacedListener

    plain = [websocket_frame(payload) for payload in stream.payloads] if pace else []
    compressed = (
        [websocket_frame(deflate_message(p), compressed=True) for p in stream.payloads]
        if pace is not None and pace.deflate
        else []
    )
    connections = 0

    def listener_factory(
        request: WSUpgradeRequest,
    ) -> BlastListener | WSUpgradeResponseWithListener | None:
        nonlocal connections
        if request.path.decode().split("?")[0] != BLAST_PATH:
            return None
        if pace is None:
            return BlastListener(stream, chunks, close=options["close"], report=report)
        connections += 1
        deflate = pace.deflate and offers_deflate(
            request.headers.getall("Sec-WebSocket-Extensions", [])
        )
        listener = PacedListener(
            stream,
            compressed if deflate else plain,
            pace,
            deflate=deflate,
            index=connections,
            close=options["close"],
            report=report,
        )
        headers = {"Sec-WebSocket-Extensions": DEFLATE_EXTENSION} if deflate else None
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_101_response(extra_headers=headers), listener
        )

    server = await ws_create_server(
        listener_factory, options["host"], options["port"], enable_auto_pong=False
    )
    ready = {
        "host": options["host"],
        "port": server.sockets[0].getsockname()[1],
        "market": stream.market,
        "depth": stream.depth,
        "n_frames": len(stream.payloads),
        "total_bytes": sum(len(chunk) for chunk, _ in chunks),
        "final_book": stream.final_book,
        "counts": stream.counts,
    }
    report({"kind": "ready", "ready": ready})
    await server.serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
