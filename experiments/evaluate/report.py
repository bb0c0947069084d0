"""Aggregate evaluation measurements, write the report (JSON, Markdown, figures), compare runs.

Data contract: a *measurement* is ``{"metric": str, "subject": str, "m": int | None, "seed": int,
"value": float}`` (``m`` = number of observed views M_val, or None). :func:`summarise` turns a list
of them into *summary rows* ``{"metric", "subject", "m", "mean", "std", "n", "values", "seeds"}``
(sample std, ddof=1; 0 for a single seed), the input of the table, figure and claim helpers.

One report serves every world: class rows and claims appear only where the data has labels
(top-1 rows), the 3D-rotation family (``rot_r2_absolute`` rows) gets its own metric wording
(:data:`ROTATION_DESCRIPTIONS`) and claim, and the dead-reckoning claim only for positions whose
dead reckoning is not already exact (noisy self-motion).
"""

from __future__ import annotations

import io
import json
import math
import numbers
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.outputs import read_json_file

__all__ = ["METRIC_DESCRIPTIONS", "ROTATION_DESCRIPTIONS", "SUBJECT_DESCRIPTIONS", "summarise", "markdown_table",
           "write_report", "compare", "check_claims", "check_ablation", "format_claims", "is_rotation",
           "metric_descriptions", "EXACT_R2"]

Measurement = Mapping[str, Any]
SummaryRow = dict[str, Any]
RunSource = Union[Sequence[Mapping[str, Any]], str, Path]

# Rows appear in this order; unknown metrics follow alphabetically. (up) higher is better, (down) lower.
METRIC_DESCRIPTIONS: dict[str, str] = {
    "top1_z_agg": "top-1 accuracy (↑) of a linear probe on the aggregate z_AGG after M views",
    "top1_encoder": "top-1 accuracy (↑) of a linear probe on the mean of the encoder outputs of M views",
    "equiv_r2_uniform": "R² (↑, scikit-learn's mean over dims) of a ridge probe decoding the true relative action "
                        "(displacement) between views 0 and 1 from concat(z_0, z_1)",
    "equiv_r2_global": "the same probe, pooled R² (↑, 1 − total SSE / total SST)",
    "equiv_r2_mlp": "R² (↑, mean over dims) of an early-stopped MLP probe (2 hidden layers of 256) decoding the "
                    "same relative action from concat(z_0, z_1)",
    "rot_r2_absolute": "R² (↑, mean over the 9 entries) of a ridge probe decoding the absolute orientation of "
                       "view 0 (its rotation matrix) from its encoder latent z_0",
    "pathint_r2": "R² (↑) of decoding the true displacement from view 0 to view M (path integration) from "
                  "concat(z_AGG of views 0..M-1, a_M)",
    "pathint_r2_no_action": "path-integration R² (↑) with the aggregator's action slots zeroed",
    "pathint_r2_no_vision": "path-integration R² (↑) with the visual latents zeroed (actions kept)",
    "pred_loss_true_action": "predictor loss (↓) on the next view given the true action",
    "pred_loss_shuffled_action": "predictor loss (↓) with actions shuffled across sequences",
    "pred_loss_zero_action": "predictor loss (↓) with the action set to zero",
    "pred_loss_copy_last": "loss (↓) of copying the last observed embedding as the prediction",
    "pred_loss_mean_target": "loss (↓) of predicting the mean training target for every sequence (no "
                             "context, no action: the floor a collapsed or constant target reaches)",
    "pred_loss_next_state": "loss (↓) of a ridge fit of the target from the next view's true state alone "
                            "(position or orientation; no context)",
    "target_r2_z_agg": "share of the target latent's variance (R², pooled) a ridge fit explains from z_AGG of "
                       "the context alone (no next action): high = a per-sequence constant the predictor can copy",
    "target_r2_next_state": "share of the target latent's variance (R², pooled) a ridge fit explains from the "
                            "next view's true state alone: high = the target is a code of where the saccade lands",
}

# The 3D-rotation family's wording of the shared metrics (the relative action is a rotation).
ROTATION_DESCRIPTIONS: dict[str, str] = {
    "equiv_r2_uniform": "relative rotation R² (↑, mean over the 3 dims) of a ridge probe decoding the rotation "
                        "from view 0 to view 1 (rotation vector) from concat(z_0, z_1)",
    "equiv_r2_global": "the same relative-rotation probe, pooled R² (↑, 1 − total SSE / total SST)",
    "equiv_r2_mlp": "relative rotation R² (↑, mean over the 3 dims) of an early-stopped MLP probe (2 hidden "
                    "layers of 256, SIE's protocol) decoding the rotation from view 0 to view 1 from concat(z_0, z_1)",
    "pathint_r2": "R² (↑) of decoding the relative rotation from view 0 to view M (q_M q_0⁻¹ as a flattened "
                  "3×3 matrix) from concat(z_AGG of views 0..M-1, a_M)",
}
EXACT_R2 = 0.999  # a dead-reckoning R² at least this high leaves vision nothing to add

# Columns appear in this order; unknown subjects follow alphabetically.
SUBJECT_DESCRIPTIONS: dict[str, str] = {
    "trained": "the pretrained model",
    "random_init": "the same architecture at random initialisation",
    "raw_pixels": "the raw glimpse pixels (every scale area-averaged to 8x8), concatenated over views",
    "colour_hist": "hue (saturation-weighted) and brightness histograms of the glimpses, summed over views",
    "dead_reckoning": "a ridge probe on the reported actions a_1..a_M (no vision)",
    "chance": "always predicting the training set's majority class",
    "no_action_model": "the same setting trained without actions (model.condition_aggregator=false, "
                       "model.condition_predictor=false), at the same seeds",
}

_KEYS = ("metric", "subject", "m", "seed", "value")


# --------------------------------------------------------------------------- aggregation

def _rank(name: str, order: Mapping[str, str]) -> tuple[int, str]:
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
    out.sort(key=lambda r: (_rank(r["metric"], METRIC_DESCRIPTIONS), _m_key(r["m"]),
                            _rank(r["subject"], SUBJECT_DESCRIPTIONS)))
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


def is_rotation(rows: Iterable[Mapping[str, Any]]) -> bool:
    """The rows come from the 3D-rotation family (they hold ``rot_r2_absolute``)."""
    return any(r["metric"] == "rot_r2_absolute" for r in rows)


def metric_descriptions(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """:data:`METRIC_DESCRIPTIONS`, reworded by :data:`ROTATION_DESCRIPTIONS` for the rotation family."""
    return {**METRIC_DESCRIPTIONS, **(ROTATION_DESCRIPTIONS if is_rotation(rows) else {})}


# --------------------------------------------------------------------------- tables

def _fixed(x: float, digits: int) -> bool:
    return x == 0 or 10.0 ** -digits <= abs(x) < 1e5


def _fmt(x: float | None, digits: int = 3, fixed: bool | None = None) -> str:
    """Fixed ``digits`` decimals, or scientific for very small/large numbers (``fixed`` forces a style)."""
    if x is None or not math.isfinite(x):
        return "nan"
    if fixed if fixed is not None else _fixed(x, digits):
        return f"{x:.{digits}f}"
    return f"{x:.{max(digits - 1, 1)}e}"


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
    return sorted(keys, key=lambda k: (_rank(k[0], METRIC_DESCRIPTIONS), _m_key(k[1])))


def markdown_table(summary: Sequence[Mapping[str, Any]], title: str | None = None, digits: int = 3) -> str:
    """Markdown table: one row per (metric, m), one column per subject, cells "mean ± std".

    Below the table: the seed-count caption, descriptions of the metrics present
    (:func:`metric_descriptions`) and of the subjects (:data:`SUBJECT_DESCRIPTIONS`).
    """
    rows = _as_summary(summary)
    if not rows:
        return (f"### {title}\n\n" if title else "") + "_No measurements._\n"
    subjects = sorted({r["subject"] for r in rows}, key=lambda s: _rank(s, SUBJECT_DESCRIPTIONS))
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
    metrics = sorted({r["metric"] for r in rows}, key=lambda k: _rank(k, METRIC_DESCRIPTIONS))
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


# --------------------------------------------------------------------------- claims

def _index(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, int | None], Mapping[str, Any]]:
    return {(r["metric"], r["subject"], r["m"]): r for r in rows}


def _get(idx: Mapping, metric: str, subject: str, m: int | None,
         fallback_none: bool = False) -> Mapping[str, Any] | None:
    row = idx.get((metric, subject, m))
    if row is None and fallback_none:
        row = idx.get((metric, subject, None))
    return row


def _finite(*rows: Mapping[str, Any]) -> bool:
    return all(math.isfinite(r["mean"]) and math.isfinite(r["std"]) for r in rows)


def _ms(row: Mapping[str, Any]) -> str:
    return _mean_std(row)


def _claim(text: str, holds: bool | None, detail: str) -> dict[str, Any]:
    return {"claim": text, "holds": holds, "detail": detail}


def _margin_claim(text: str, a: Mapping | None, b: Mapping | None, name_a: str, name_b: str) -> dict[str, Any]:
    """holds iff mean(a) - mean(b) > 2 * max(std(a), std(b))."""
    if a is None or b is None:
        missing = [n for n, r in ((name_a, a), (name_b, b)) if r is None]
        return _claim(text, None, f"missing: {', '.join(missing)}")
    if not _finite(a, b):
        return _claim(text, None, f"non-finite: {name_a} {_ms(a)}, {name_b} {_ms(b)}")
    margin, need = a["mean"] - b["mean"], 2.0 * max(a["std"], b["std"])
    if min(a.get("n", 2), b.get("n", 2)) < 2:  # a spread needs seeds: one seed decides nothing
        return _claim(text, None, f"{name_a} {_ms(a)} vs {name_b} {_ms(b)}: margin {_fmt(margin)}; "
                                  f"one seed, no spread to compare it with (run several seeds)")
    return _claim(text, bool(margin > need),
                  f"{name_a} {_ms(a)} vs {name_b} {_ms(b)}: margin {_fmt(margin)} "
                  f"{'>' if margin > need else '≤'} 2×std {_fmt(need)}")


def _equiv_m(idx: Mapping, subject: str) -> int | None:
    return 2 if ("equiv_r2_uniform", subject, 2) in idx else None


def _per_m_claim(text: str, idx: Mapping, better: str, worse: str, lower_is_better: bool) -> dict[str, Any]:
    ms = sorted({k[2] for k in idx if k[0] == better and k[1] == "trained"}
                & {k[2] for k in idx if k[0] == worse and k[1] == "trained"}, key=_m_key)
    if not ms:
        return _claim(text, None, f"missing: {better} and {worse} of trained at a common M")
    parts, results = [], []
    if better.startswith("pathint") and len(ms) > 1:  # M=1: no action slot in the aggregator to ablate
        ms = [m for m in ms if m != 1]
    for m in ms:
        a, b = idx[(better, "trained", m)], idx[(worse, "trained", m)]
        if not _finite(a, b):
            return _claim(text, None, f"non-finite at M={m}")
        ok = a["mean"] < b["mean"] if lower_is_better else a["mean"] > b["mean"]
        results.append(ok)
        parts.append(f"M={'–' if m is None else m}: {_fmt(a['mean'])} vs {_fmt(b['mean'])}")
    return _claim(text, all(results), "; ".join(parts))


def _labeled(idx: Mapping) -> bool:
    return any(k[0].startswith("top1_") for k in idx)


def _dead_reckoning_claim(idx: Mapping, rotation: bool) -> dict[str, Any] | None:
    """trained pathint_r2 beats dead_reckoning at the largest common M, for the position families
    where dead reckoning is not exact (noisy self-motion). None where it is exact (noise-free
    displacements: nothing can beat summed actions) and for rotations (a linear read-out of
    rotation vectors is no information limit: composing the noise-free actions is exact)."""
    if rotation:
        return None
    ms = sorted({k[2] for k in idx if k[:2] == ("pathint_r2", "trained") and k[2] is not None}
                & {k[2] for k in idx if k[:2] == ("pathint_r2", "dead_reckoning") and k[2] is not None})
    if not ms:
        return None
    m = ms[-1]
    a, b = idx[("pathint_r2", "trained", m)], idx[("pathint_r2", "dead_reckoning", m)]
    if math.isfinite(b["mean"]) and b["mean"] >= EXACT_R2:
        return None
    return _margin_claim(f"trained beats dead_reckoning on pathint_r2 at M={m}: vision adds to the reported "
                         f"actions (margin > 2× the larger std)", a, b, "trained", "dead_reckoning")


def check_claims(summary: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Evaluate the headline claims on one run's summary (measurements are summarised first).

    Returns ``[{"claim": str, "holds": bool | None, "detail": str}]``, None where data is missing.
    Floors (random_init, colour_hist) measured without M (m=None) stand in for every M. The claims
    on class accuracy are left out when the summary has no top-1 rows (data without labels); a
    rotation claim (rot_r2_absolute, trained vs random_init) is added for the 3D-rotation family
    and a dead-reckoning claim for positions where dead reckoning is not exact (R² <
    :data:`EXACT_R2`: noisy self-motion, where vision must help).
    """
    idx = _index(_as_summary(summary))
    labeled, rotation, out = _labeled(idx), any(k[0] == "rot_r2_absolute" for k in idx), []
    if labeled:
        out.append(_margin_claim("trained beats random_init on top1_z_agg at M=4 (margin > 2× the larger std)",
                                 _get(idx, "top1_z_agg", "trained", 4),
                                 _get(idx, "top1_z_agg", "random_init", 4, fallback_none=True),
                                 "trained", "random_init"))
    m_eq = _equiv_m(idx, "trained")
    out.append(_margin_claim("trained beats random_init on equiv_r2_uniform (margin > 2× the larger std)",
                             _get(idx, "equiv_r2_uniform", "trained", m_eq),
                             _get(idx, "equiv_r2_uniform", "random_init", m_eq, fallback_none=True),
                             "trained", "random_init"))
    mlp = _get(idx, "equiv_r2_mlp", "trained", m_eq)
    if mlp is not None:
        out.append(_margin_claim("trained beats random_init on equiv_r2_mlp (margin > 2× the larger std)", mlp,
                                 _get(idx, "equiv_r2_mlp", "random_init", m_eq, fallback_none=True),
                                 "trained", "random_init"))
    if labeled:
        a, b = _get(idx, "top1_z_agg", "trained", 4), _get(idx, "top1_z_agg", "trained", 1)
        text = "trained top1_z_agg is higher at M=4 than at M=1"
        if a is None or b is None:
            out.append(_claim(text, None, "missing: " + ", ".join(f"M={m}" for m, r in ((4, a), (1, b))
                                                                  if r is None)))
        elif not _finite(a, b):
            out.append(_claim(text, None, "non-finite values"))
        else:
            out.append(_claim(text, bool(a["mean"] > b["mean"]), f"M=4 {_ms(a)} vs M=1 {_ms(b)}"))
    out.append(_per_m_claim("prediction loss with the true action < with shuffled actions (trained)", idx,
                            "pred_loss_true_action", "pred_loss_shuffled_action", lower_is_better=True))
    true_loss = _get(idx, "pred_loss_true_action", "trained", None)
    for worse, name in (("pred_loss_shuffled_action", "shuffled action"), ("pred_loss_mean_target", "mean target"),
                        ("pred_loss_copy_last", "copy-last")):
        other = _get(idx, worse, "trained", None)
        if other is not None:
            out.append(_margin_claim(f"prediction loss with the true action below the {name} loss (trained; "
                                     f"margin > 2× the larger std)", other, true_loss, name, "true action"))
    for worse, name, at_least in (("pred_loss_shuffled_action", "shuffled action", 0.2),
                                  ("pred_loss_copy_last", "copy-last", 0.0)):
        if _get(idx, worse, "trained", None) is None or true_loss is None:
            continue
        out.append(_relative_claim(f"prediction loss with the true action lower than with the {name} in every seed "
                                   f"(by more than {at_least:.0%}; paired, mean > 2× std)",
                                   _get(idx, worse, "trained", None), true_loss, at_least))
    out.append(_per_m_claim("pathint_r2 > pathint_r2_no_action at every M (trained)", idx,
                            "pathint_r2", "pathint_r2_no_action", lower_is_better=False))
    if labeled:
        a, b = _get(idx, "top1_z_agg", "trained", 4), _get(idx, "top1_z_agg", "colour_hist", 4, fallback_none=True)
        text = "trained top1_z_agg at M=4 is above the colour_hist baseline"
        if a is None or b is None:
            out.append(_claim(text, None, "missing: " + ", ".join(n for n, r in (("trained", a), ("colour_hist", b))
                                                                  if r is None)))
        elif not _finite(a, b):
            out.append(_claim(text, None, "non-finite values"))
        else:
            out.append(_claim(text, bool(a["mean"] > b["mean"]), f"trained {_ms(a)} vs colour_hist {_ms(b)}"))
    if rotation:
        out.append(_margin_claim("trained beats random_init on rot_r2_absolute (margin > 2× the larger std)",
                                 _get(idx, "rot_r2_absolute", "trained", 1),
                                 _get(idx, "rot_r2_absolute", "random_init", 1, fallback_none=True),
                                 "trained", "random_init"))
    dead = _dead_reckoning_claim(idx, rotation)
    if dead is not None:
        out.append(dead)
    return out


def _relative_claim(text: str, worse: Mapping | None, better: Mapping | None, at_least: float) -> dict[str, Any]:
    """Paired by seed: holds iff ``1 - better / worse`` is > ``at_least`` in every seed and its mean is > 2×
    its std (a scale-free test: the loss scale of a latent space differs between seeds)."""
    if worse is None or better is None or not _paired(worse, better):
        return _claim(text, None, "needs the same seeds in both rows")
    vw, vb = dict(zip(worse["seeds"], worse["values"])), dict(zip(better["seeds"], better["values"]))
    rel = np.array([1.0 - vb[k] / vw[k] if vw[k] else np.nan for k in sorted(vw)], dtype=float)
    if len(rel) < 2 or not np.isfinite(rel).all():
        return _claim(text, None, f"{len(rel)} seed(s) or non-finite ratios: one seed decides nothing")
    mean, std = float(rel.mean()), float(rel.std(ddof=1))
    holds = bool((rel > at_least).all() and mean > 2 * std)
    return _claim(text, holds, f"per seed {', '.join(f'{r:.0%}' for r in rel)} lower; mean {mean:.1%} ± {std:.1%}")


def _paired(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Both rows carry the same set of distinct seeds, one value each."""
    sa, sb = list(a.get("seeds") or []), list(b.get("seeds") or [])
    return (bool(sa) and len(set(sa)) == len(sa) and sorted(sa) == sorted(sb)
            and len(sa) == len(a.get("values") or []) and len(sb) == len(b.get("values") or []))


def check_ablation(summary_with: Sequence[Mapping[str, Any]],
                   summary_without: Sequence[Mapping[str, Any]], metric: str = "equiv_r2_uniform") -> dict[str, Any]:
    """Claim: the action-conditioned run beats the no-action ablation on ``metric`` (trained; the
    equivariance probes ``equiv_r2_uniform`` or ``equiv_r2_mlp``).

    With the same seeds in both runs, per-seed differences are used: holds iff every paired
    difference is > 0 (detail: mean diff ± sample std, and whether mean > 2×std). Otherwise the
    unpaired rule: mean difference > 2× the larger std. Returns ``{"claim", "holds", "detail"}``.
    """
    text = f"action-conditioned beats the no-action ablation on {metric} (trained)"
    iw, io_ = _index(_as_summary(summary_with)), _index(_as_summary(summary_without))
    a = _get(iw, metric, "trained", _equiv_m(iw, "trained"))
    b = _get(io_, metric, "trained", _equiv_m(io_, "trained"))
    if a is None or b is None or not _paired(a, b):
        out = _margin_claim(text, a, b, "with actions", "without")
        if a is not None and b is not None:
            out["detail"] += " (unpaired: seeds differ)"
        return out
    sa, sb = list(a["seeds"]), list(b["seeds"])
    va, vb = dict(zip(sa, a["values"])), dict(zip(sb, b["values"]))
    diffs = np.array([va[s] - vb[s] for s in sorted(sa)], dtype=float)
    if not np.isfinite(diffs).all():
        return _claim(text, None, "non-finite paired values")
    mean = float(diffs.mean())
    std = float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0
    all_pos = bool((diffs > 0).all())
    return _claim(text, all_pos,
                  f"paired diff {_mean_std({'mean': mean, 'std': std})} over {len(diffs)} seeds; "
                  f"{'all' if all_pos else 'not all'} paired diffs > 0; "
                  f"mean {'>' if mean > 2 * std else '≤'} 2×std")


def format_claims(claims: Sequence[Mapping[str, Any]]) -> str:
    """Markdown bullets: ✓ holds, ✗ fails, – not enough data."""
    mark = {True: "✓", False: "✗", None: "–"}
    return "".join(f"- {mark[c['holds']]} {c['claim']} — {c['detail']}\n" for c in claims)


# --------------------------------------------------------------------------- files

def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` onto ``path`` atomically (``envs.storage.atomic_write``: unique temp, fsync, rename)."""
    from envs.storage import atomic_write

    atomic_write(path, lambda fh: fh.write(data))


def _jsonable(obj: Any) -> Any:
    """Non-finite floats become null (strict JSON); tuples lists; Paths and others str."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _jsonable(float(obj))
    return str(obj)


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
                      key=lambda s: _rank(s, SUBJECT_DESCRIPTIONS))
    return _plot(rows, [("top1_z_agg", s, s) for s in subjects], "top-1 accuracy", "z_AGG linear probe vs M")


def _pathint_figure(rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    lines = [("pathint_r2", "trained", "trained"),
             ("pathint_r2_no_action", "trained", "trained, no action"),
             ("pathint_r2_no_vision", "trained", "trained, no vision"),
             ("pathint_r2", "dead_reckoning", "dead_reckoning"),
             ("pathint_r2", "random_init", "random_init")]
    present = [ln for ln in lines if any(r["metric"] == ln[0] and r["subject"] == ln[1] for r in rows)]
    if not any(ln[1] == "trained" for ln in present):
        return None
    return _plot(rows, present, "R²", "path integration vs M")


def _meta_lines(meta: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in meta.items():
        if key == "title":
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Number) for v in value):
            lines.append(f"- **{key}**: " + ", ".join(str(v) for v in value))
        elif isinstance(value, (list, tuple)):
            lines.append(f"- **{key}**:")
            lines.extend(f"  - `{v}`" if key in ("commands", "command") else f"  - {v}" for v in value)
        elif isinstance(value, Mapping):
            lines.append(f"- **{key}**: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        elif key in ("commands", "command"):
            lines.append(f"- **{key}**: `{value}`")
        else:
            lines.append(f"- **{key}**: {value}")
    return lines


def write_report(out_dir: str | Path, measurements: Sequence[Measurement], meta: Mapping[str, Any],
                 overwrite: bool = False, title: str | None = None) -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and the figures into ``out_dir`` (created if needed).

    ``results.json`` = ``{"meta", "measurements", "summary"}`` (non-finite numbers as null);
    ``report.md`` = title (``title`` or ``meta["title"]``), meta lines, table, claims and figure
    links; figures ``top1_vs_views.png`` and ``pathint_r2_vs_views.png`` are skipped when their
    data is absent. Every file is written atomically; ``results.json`` last. Raises
    FileExistsError when ``out_dir/results.json`` exists and ``overwrite`` is False.
    Returns ``{"results": path, "report": path, "<figure stem>": path, ...}``.
    """
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")
    rows = _validate(measurements)
    out = Path(out_dir)
    results_path = out / "results.json"
    if results_path.exists() and not overwrite:
        raise FileExistsError(f"{results_path} already exists (pass overwrite=True to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    paths: dict[str, Path] = {}
    for stem, png in (("top1_vs_views", _top1_figure(summary)), ("pathint_r2_vs_views", _pathint_figure(summary))):
        if png is not None:
            paths[stem] = out / f"{stem}.png"
            _atomic_write(paths[stem], png)
        elif (out / f"{stem}.png").exists():  # overwrite: drop a figure the new data no longer supports
            (out / f"{stem}.png").unlink()
    heading = title or str(meta.get("title", "Evaluation report"))
    md = [f"# {heading}", "", *_meta_lines(meta), "", "## Results", "", markdown_table(summary),
          "## Claims", "", format_claims(check_claims(summary))]
    if any(k in paths for k in ("top1_vs_views", "pathint_r2_vs_views")):
        md += ["## Figures", ""] + [f"![{stem}]({paths[stem].name})\n" for stem in paths]
    paths["report"] = out / "report.md"
    _atomic_write(paths["report"], ("\n".join(md).rstrip() + "\n").encode("utf-8"))
    payload = _jsonable({"meta": dict(meta), "measurements": rows, "summary": summary})
    paths["results"] = results_path
    _atomic_write(results_path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode("utf-8"))
    return paths
