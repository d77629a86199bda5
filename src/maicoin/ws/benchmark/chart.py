"""The PNG chart of an end-to-end run (needs matplotlib: ``pip install 'maicoin-ws[bench]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .latency import Latency
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


def write_latency_chart(results: Sequence[Latency], path: Path | str) -> Path:
    """Horizontal bars of wire-to-handler p50, p99 and p99.9 per path, one panel per rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = sorted({result.rate for result in results})
    labels: list[str] = []
    for result in results:
        if result.path.label not in labels:
            labels.append(result.path.label)
    figure, panels = plt.subplots(
        1, len(rates), figsize=(7 * len(rates), 0.45 * len(labels) + 1.5), dpi=110,
        sharey=True, squeeze=False,
    )  # fmt: skip
    height = 0.27
    for panel, rate in zip(panels[0], rates, strict=True):
        by_label = {r.path.label: r for r in results if r.rate == rate}
        for index, name in enumerate(("p50", "p99", "p99.9")):
            positions = [row + (index - 1) * height for row in range(len(labels))]
            values = [
                _percentiles(by_label[label])[index] if label in by_label else 0.0
                for label in labels
            ]
            panel.barh(positions, values, height, label=name)
        panel.set_xscale("log")
        panel.set_xlabel("µs from the server's write to handler entry")
        panel.set_title(f"{rate:,.0f} frames/s + bursts")
        panel.grid(axis="x", alpha=0.3, which="both")
    panels[0][0].invert_yaxis()  # the table's order, top down (the y axis is shared)
    panels[0][0].set_yticks(range(len(labels)), labels, fontsize=8)
    panels[0][0].legend(fontsize=8)
    figure.suptitle("maicoin.ws wire-to-handler latency (shared 2-core VM: compare rows, not µs)")
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target)
    plt.close(figure)
    return target


def _percentiles(result: Latency) -> tuple[float, float, float]:
    return result.p50, result.p99, result.p999
