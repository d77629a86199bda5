"""The PNG chart of an end-to-end run (needs matplotlib: ``pip install 'maicoin-ws[bench]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .report import MODE_LABELS, Result


def write_chart(results: Sequence[Result], path: Path | str) -> Path:
    """Bar chart of messages per second: one group per transport x loop, one bar per path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    groups: list[tuple[str, str]] = []
    modes: list[str] = []
    for result in results:
        if (result.transport, result.loop) not in groups:
            groups.append((result.transport, result.loop))
        if result.mode not in modes:
            modes.append(result.mode)
    rates = {(r.transport, r.loop, r.mode): r.messages_per_second / 1e3 for r in results}
    width = 0.8 / max(len(modes), 1)
    figure, axes = plt.subplots(figsize=(11, 5.5), dpi=110)
    for index, mode in enumerate(modes):
        positions = [g + (index - (len(modes) - 1) / 2) * width for g in range(len(groups))]
        heights = [rates.get((t, loop, mode), 0.0) for t, loop in groups]
        bars = axes.bar(positions, heights, width, label=MODE_LABELS.get(mode, mode))
        axes.bar_label(bars, fmt="%.0f", fontsize=7, padding=2, rotation=90)
    axes.set_xticks(range(len(groups)), [f"{t}\n{loop}" for t, loop in groups])
    axes.set_ylabel("thousand messages per second")
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    axes.set_ylim(top=max(rates.values(), default=1.0) * 2)
    axes.set_title("maicoin.ws end to end: blast of the mixed btcusdt stream, book kept")
    axes.legend(fontsize=8, ncols=2)
    axes.grid(axis="y", alpha=0.3, which="both")
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target)
    plt.close(figure)
    return target
