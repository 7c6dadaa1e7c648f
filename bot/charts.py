"""Line charts of a stat's history, drawn with matplotlib's Agg backend into PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

from characters.schema import Number


def history_png(
    points: Sequence[tuple[str, str, Number | None]], title: str, ylabel: str
) -> bytes:
    """A PNG line chart of (patch, released, value) points; unknown values leave a gap."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.2), dpi=100)
    axes = figure.add_subplot()
    labels = [patch for patch, _released, _value in points]
    values = [float("nan") if v is None else float(v) for _p, _r, v in points]
    axes.plot(range(len(points)), values, marker="o", linewidth=2, color="#b5562a")
    for x, value in enumerate(values):
        if value == value:  # not NaN
            axes.annotate(f"{value:g}", (x, value), textcoords="offset points", xytext=(0, 6),
                          ha="center", fontsize=8)
    axes.set_xticks(range(len(points)), labels, rotation=30, ha="right", fontsize=8)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
