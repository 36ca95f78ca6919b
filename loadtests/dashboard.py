"""The dashboard's main panels as one picture, drawn from a Prometheus with matplotlib.

The queries are the panels' own (deploy/grafana/flowgen.json, through serving.monitoring.queries), run
over a time range: what Grafana would show for the same Prometheus.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from serving.monitoring import LocalPrometheus, queries

MAIN = [
    "Stage latency p50 / p95 / p99",
    "Time to outline p50 / p95 / p99",
    "Workflows/s",
    "Errors by kind",
    "Tokens generated/s",
    "Stage-2 batch size",
    "vLLM queue: running / waiting",
    "vLLM KV-cache use",
]


def draw(prometheus: LocalPrometheus, start: float, end: float, path: Path, window: str = "1m") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    by_panel: dict[str, list[str]] = {}
    for query in queries(rate_window=window):
        if query.source.startswith("panel "):
            title = query.source.removeprefix("panel ").rsplit(" ", 1)[0]
            by_panel.setdefault(title, []).append(query.expr)
    figure, axes = plt.subplots(4, 2, figsize=(13, 13), constrained_layout=True)
    step = max(2.0, (end - start) / 200)
    for ax, title in zip(axes.flat, MAIN, strict=True):
        for expr in by_panel[title]:
            for series in prometheus.query_range(expr, start, end, step):
                points = [(datetime.fromtimestamp(t), float(v)) for t, v in series["values"]]
                label = ",".join(f"{v}" for k, v in sorted(series["metric"].items()) if k != "__name__")
                if "histogram_quantile(" in expr:
                    label = f"{label} p{expr.split('(')[1].split(',')[0].replace('0.', '')[:2]}".strip()
                ax.plot([p[0] for p in points], [p[1] for p in points], label=label or None, linewidth=1.2)
        ax.set_title(title, fontsize=10)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))  # a run lasts minutes
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    figure.suptitle(f"FlowGen dashboard, main panels ({window} rate windows)", fontsize=12)
    figure.savefig(path, dpi=90)
    plt.close(figure)
