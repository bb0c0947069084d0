"""Summary rows and the Markdown tables of an evaluation: one run's table, several runs side by side.

Data contract: a *measurement* is ``{"metric": str, "subject": str, "m": int | None, "seed": int,
"value": float}`` (``m`` = number of observed views M_val, or None). :func:`summarise` turns a list
of them into *summary rows* ``{"metric", "subject", "m", "mean", "std", "n", "values", "seeds"}``
(sample std, ddof=1; 0 for a single seed), the input of the table, figure and claim helpers. Rows
and columns follow the order of :mod:`experiments.evaluate.metric_registry`.
"""

from __future__ import annotations

import math
import numbers
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from experiments.evaluate.metric_registry import METRICS, SUBJECTS, SUBJECT_DESCRIPTIONS, metric_descriptions
from experiments.outputs import read_json_file

__all__ = ["summarise", "markdown_table", "compare", "paired_differences", "Measurement", "SummaryRow", "RunSource"]

Measurement = Mapping[str, Any]
SummaryRow = dict[str, Any]
RunSource = Union[Sequence[Mapping[str, Any]], str, Path]

_KEYS = ("metric", "subject", "m", "seed", "value")


def _rank(name: str, order: Mapping[str, Any]) -> tuple[int, str]:
    keys = list(order)
    return (keys.index(name), "") if name in order else (len(keys), name)


def _m_key(m: int | None) -> tuple[int, int]:
    return (0, 0) if m is None else (1, m)


def _validate(measurements: Iterable[Measurement]) -> list[dict[str, Any]]:
    if isinstance(measurements, (str, bytes, Mapping)):
        raise ValueError("measurements must be a list of measurement dicts")
    out, seen = [], set()
    for i, row in enumerate(measurements):
        if not isinstance(row, Mapping):
            raise ValueError(f"measurements[{i}] must be a dict, got {type(row).__name__}")
        missing = [k for k in _KEYS if k not in row]
        if missing:
            raise ValueError(f"measurements[{i}] lacks keys {missing}")
        metric, subject, m, seed, value = (row[k] for k in _KEYS)
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"measurements[{i}]['metric'] must be a non-empty str, got {metric!r}")
        if not isinstance(subject, str) or not subject:
            raise ValueError(f"measurements[{i}]['subject'] must be a non-empty str, got {subject!r}")
        if m is not None and (isinstance(m, bool) or not isinstance(m, numbers.Integral)):
            raise ValueError(f"measurements[{i}]['m'] must be an int or None, got {m!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"measurements[{i}]['seed'] must be an int, got {seed!r}")
        if value is None:
            value = float("nan")  # JSON null (a non-finite value written by write_report)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"measurements[{i}]['value'] must be a number, got {value!r}")
        key = (metric, subject, None if m is None else int(m), int(seed))
        if key in seen:
            raise ValueError(f"measurements[{i}] repeats (metric, subject, m, seed) = {key}")
        seen.add(key)
        out.append({"metric": metric, "subject": subject, "m": key[2], "seed": key[3], "value": float(value)})
    return out


def summarise(measurements: Iterable[Measurement]) -> list[SummaryRow]:
    """Group measurements by (metric, subject, m).

    Returns rows ``{"metric", "subject", "m", "mean", "std", "n", "values", "seeds"}`` (sample std,
    ddof=1 when n > 1 else 0; values/seeds in seed order), sorted by metric, m, then subject order.
    """
    groups: dict[tuple[str, str, int | None], list[tuple[int, float]]] = {}
    for row in _validate(measurements):
        groups.setdefault((row["metric"], row["subject"], row["m"]), []).append((row["seed"], row["value"]))
    out = []
    for (metric, subject, m), pairs in groups.items():
        pairs.sort()
        values = [v for _, v in pairs]
        out.append({"metric": metric, "subject": subject, "m": m, "mean": float(np.mean(values)),
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, "n": len(values),
                    "values": values, "seeds": [s for s, _ in pairs]})
    out.sort(key=lambda r: (_rank(r["metric"], METRICS), _m_key(r["m"]),
                            _rank(r["subject"], SUBJECTS)))
    return out


def _as_summary(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Accept summary rows as they are, or measurements (rows with a 'value') summarised."""
    rows = list(rows)
    if rows and all("value" in r for r in rows):
        return summarise(rows)
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or any(k not in r for k in ("metric", "subject", "m", "mean", "std", "n")):
            raise ValueError(f"summary[{i}] is neither a summary row nor a measurement")
    return rows



def _fixed(x: float, digits: int) -> bool:
    return x == 0 or 10.0 ** -digits <= abs(x) < 1e5


def _fmt(x: float | None, digits: int = 3, fixed: bool | None = None) -> str:
    """Fixed ``digits`` decimals, or scientific for very small/large numbers (``fixed`` forces a style)."""
    if x is None or not math.isfinite(x):
        return "nan"
    if fixed if fixed is not None else _fixed(x, digits):
        return f"{x:.{digits}f}"
    return f"{x:.{max(digits - 1, 1)}e}"


def paired_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> np.ndarray:
    """``a - b`` per seed, float ``[K]`` in seed order, for the K seeds both summary rows hold (their
    ``seeds`` / ``values``)."""
    vb = dict(zip(b["seeds"], b["values"]))
    va = dict(zip(a["seeds"], a["values"]))
    return np.array([va[s] - vb[s] for s in sorted(set(va) & set(vb))], dtype=float)


def _mean_std(row: Mapping[str, Any], digits: int = 3) -> str:
    """"mean ± std", the std in the mean's style (so float noise in a zero std prints as 0.000)."""
    mean, std = row["mean"], row["std"]
    fixed = mean is None or not math.isfinite(mean) or _fixed(mean, digits)
    if row.get("n", 2) < 2:  # one seed: no spread to show
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {_fmt(std, digits, fixed=fixed)}"


def _cell(row: Mapping[str, Any] | None, n_common: int | None, digits: int) -> str:
    if row is None:
        return "–"
    text = _mean_std(row, digits)
    return text if row["n"] == n_common else f"{text} (n={row['n']})"


def _common_n(rows: Sequence[Mapping[str, Any]]) -> int | None:
    counts = Counter(r["n"] for r in rows)
    return counts.most_common(1)[0][0] if counts else None


def _seeds_caption(rows: Sequence[Mapping[str, Any]], n_common: int | None) -> str:
    if n_common is None:
        return ""
    unit = "seed" if n_common == 1 else "seeds"
    extra = "" if all(r["n"] == n_common for r in rows) else " (other counts marked n=…)"
    return f"mean ± std over {n_common} {unit}{extra}"


def _esc(text: str) -> str:
    return str(text).replace("|", "\\|")


def _row_keys(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, int | None]]:
    keys = {(r["metric"], r["m"]) for r in rows}
    return sorted(keys, key=lambda k: (_rank(k[0], METRICS), _m_key(k[1])))


def markdown_table(summary: Sequence[Mapping[str, Any]], title: str | None = None, digits: int = 3) -> str:
    """Markdown table: one row per (metric, m), one column per subject, cells "mean ± std".

    Below the table: the seed-count caption, descriptions of the metrics present
    (:func:`metric_descriptions`) and of the subjects (:data:`SUBJECT_DESCRIPTIONS`).
    """
    rows = _as_summary(summary)
    if not rows:
        return (f"### {title}\n\n" if title else "") + "_No measurements._\n"
    subjects = sorted({r["subject"] for r in rows}, key=lambda s: _rank(s, SUBJECTS))
    index = {(r["metric"], r["m"], r["subject"]): r for r in rows}
    n_common = _common_n(rows)
    lines = [f"### {title}", ""] if title else []
    lines.append(f"_{_seeds_caption(rows, n_common)}_")
    lines.append("")
    lines.append("| metric | M | " + " | ".join(_esc(s) for s in subjects) + " |")
    lines.append("|---|---|" + "---|" * len(subjects))
    for metric, m in _row_keys(rows):
        cells = [_cell(index.get((metric, m, s)), n_common, digits) for s in subjects]
        lines.append(f"| `{_esc(metric)}` | {'–' if m is None else m} | " + " | ".join(cells) + " |")
    lines.append("")
    metrics = sorted({r["metric"] for r in rows}, key=lambda k: _rank(k, METRICS))
    described = metric_descriptions(rows)
    lines.append("**Metrics.** " + "; ".join(
        f"`{_esc(k)}`: {described.get(k, 'no description')}" for k in metrics) + ".")
    lines.append("")
    lines.append("**Subjects.** " + "; ".join(
        f"`{_esc(s)}`: {SUBJECT_DESCRIPTIONS.get(s, 'no description')}" for s in subjects) + ".")
    return "\n".join(lines) + "\n"


def _load_run(source: RunSource, label: str) -> list[Mapping[str, Any]]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            path = path / "results.json"
        if not os.path.lexists(path):
            raise ValueError(f"reports[{label!r}]: no results file at {path}")
        data = read_json_file(path, "saccade-eval results")
        if not isinstance(data, dict) or not ({"measurements", "summary"} & set(data)):
            raise ValueError(f"{path} is not a saccade-eval results file: expected a JSON object with "
                             f"'measurements' (or 'summary'), got {type(data).__name__} "
                             f"{sorted(data) if isinstance(data, dict) else ''}".rstrip())
        try:
            rows = summarise(data["measurements"]) if "measurements" in data else _as_summary(data["summary"])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not rows:
            raise ValueError(f"{path} holds no measurements")
        return rows
    return _as_summary(source)


def compare(reports: Mapping[str, RunSource], digits: int = 3) -> str:
    """Markdown table of several runs side by side, subject "trained".

    ``reports`` maps a run label to its measurements, its summary rows, or the path of its
    ``results.json`` (or of the folder holding it). Rows: (metric, m); columns: one per run
    ("mean ± std"), then the random_init floor of the first run.
    """
    if not isinstance(reports, Mapping) or not reports:
        raise ValueError("reports must be a non-empty dict of run label -> measurements or results.json path")
    runs = {str(label): _load_run(src, str(label)) for label, src in reports.items()}
    labels = list(runs)
    first = labels[0]
    trained = {label: {(r["metric"], r["m"]): r for r in rows if r["subject"] == "trained"}
               for label, rows in runs.items()}
    floor = {(r["metric"], r["m"]): r for r in runs[first] if r["subject"] == "random_init"}
    all_rows = [r for label in labels for r in trained[label].values()] + list(floor.values())
    n_common = _common_n(all_rows)
    header = ["metric", "M", *(_esc(label) for label in labels), f"random_init ({_esc(first)})"]
    lines = [f"_subject `trained`, {_seeds_caption(all_rows, n_common)}_" if all_rows else "_No measurements._",
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric, m in _row_keys([{"metric": k[0], "m": k[1]} for t in trained.values() for k in t]):
        cells = [_cell(trained[label].get((metric, m)), n_common, digits) for label in labels]
        cells.append(_cell(floor.get((metric, m)), n_common, digits))
        lines.append(f"| `{_esc(metric)}` | {'–' if m is None else m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

