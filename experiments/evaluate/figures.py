"""The report's figures: error-bar plots of a metric against the number of observed views M.

:data:`FIGURES` lists them (file stem, the series, labels); :func:`figures` renders those the
summary rows hold data for, as PNG bytes.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.evaluate.metric_registry import SUBJECTS
from experiments.evaluate.tables import _rank

__all__ = ["FIGURES", "figures"]

def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def _series(rows: Sequence[Mapping[str, Any]], metric: str, subject: str) -> tuple[list, list, list, Any]:
    """(ms, means, stds) of rows with int m, and the m=None row (or None)."""
    pts = sorted((r for r in rows if r["metric"] == metric and r["subject"] == subject and r["m"] is not None),
                 key=lambda r: r["m"])
    flat = next((r for r in rows if r["metric"] == metric and r["subject"] == subject and r["m"] is None), None)
    return [r["m"] for r in pts], [r["mean"] for r in pts], [r["std"] for r in pts], flat


def _plot(rows: Sequence[Mapping[str, Any]], lines: Sequence[tuple[str, str, str]], ylabel: str,
          title: str) -> bytes | None:
    """Error-bar plot of (metric, subject, label) series against M; None when no series has an int M."""
    series = [(label, subject, *_series(rows, metric, subject)) for metric, subject, label in lines]
    if not any(ms for _, _, ms, *_ in series):
        return None
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    all_ms = sorted({m for _, _, ms, *_ in series for m in ms})
    for i, (label, subject, ms, means, stds, flat) in enumerate(series):
        colour = f"C{i % 10}"
        if ms:  # floors dashed, the model solid
            ax.errorbar(ms, means, yerr=stds, marker="o", capsize=3, label=label, color=colour,
                        linestyle="-" if subject == "trained" else "--")
        elif flat is not None:  # measured without M: a horizontal reference line
            ax.axhline(flat["mean"], linestyle=":", color=colour, label=f"{label} (any M)")
    ax.set_xticks(all_ms)
    ax.set_xlabel("observed views M")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _png(fig)


def _top1_figure(rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    subjects = sorted({r["subject"] for r in rows if r["metric"] == "top1_z_agg"},
                      key=lambda s: _rank(s, SUBJECTS))
    return _plot(rows, [("top1_z_agg", s, s) for s in subjects], "top-1 accuracy", "z_AGG linear probe vs M")


def _pathint_figure(rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    lines = [("pathint_r2", "trained", "trained"),
             ("pathint_r2_no_action", "trained", "trained, no action"),
             ("pathint_r2_no_vision", "trained", "trained, no vision"),
             ("pathint_r2_odometry", "trained", "trained, vision + actions step by step"),
             ("pathint_r2_odometry", "raw_pixels", "raw pixels + actions step by step"),
             ("pathint_r2", "dead_reckoning", "dead_reckoning"),
             ("pathint_r2", "random_init", "random_init")]
    present = [ln for ln in lines if any(r["metric"] == ln[0] and r["subject"] == ln[1] for r in rows)]
    if not any(ln[1] == "trained" for ln in present):
        return None
    return _plot(rows, present, "R²", "path integration vs M")



# (file stem, the figure of the summary rows or None): the report's figures, in its order.
FIGURES: tuple[tuple[str, Callable[[Sequence[Mapping[str, Any]]], "bytes | None"]], ...] = (
    ("top1_vs_views", _top1_figure), ("pathint_r2_vs_views", _pathint_figure))


def figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, bytes | None]:
    """``{stem: PNG bytes, or None where the rows lack its data}`` for every figure of :data:`FIGURES`."""
    return {stem: draw(rows) for stem, draw in FIGURES}
