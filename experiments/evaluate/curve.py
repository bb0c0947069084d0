"""Figures against training steps: a scaling curve of pretrained checkpoints beside their floors.

    python -m experiments.evaluate.curve runs/qs_2500 runs/qs_10000 runs/qs_25000 \\
        --policy own saliency --out docs/results/scaling

Each path is one point: a run folder (its latest checkpoint) or a checkpoint file (e.g. a kept
``ckpt_step00005000.pt``), evaluated by :func:`experiments.evaluate.runner.evaluate_runs` on each
``--policy``'s sequences (``own``: the run's training policy), beside the random-init copy with
BatchNorm re-estimated. Points of the same series and step are seeds (mean ± std). A checkpoint at
the end of its run's schedule belongs to the series "full schedule"; one taken before it, to the
series "mid-schedule of the N-step run" (its learning rate had not decayed: not the same point).
Measurements are reused from each run's ``eval_cache/``. The output folder gets ``curve.json``,
``report.md`` (one table per policy: trained, floor and margin at each step) and ``curve.png``.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from experiments.cliconfig import Parser
from experiments.evaluate.metric_registry import METRICS
from experiments.evaluate.tables import Measurement, _mean_std, paired_differences, summarise
from experiments.outputs import check_output_dir

__all__ = ["CurveMetric", "DEFAULT_METRICS", "parse_metric", "curve_rows", "write_curve", "main", "cli"]

OWN_POLICY = "own"  # --policy token: each run's training policy
FLOOR = "random_init"
FULL = "full schedule"


@dataclass(frozen=True)
class CurveMetric:
    """One curve: a registered metric at ``m`` observed views (None for metrics measured without M)."""

    name: str
    m: int | None

    @property
    def label(self) -> str:
        return self.name + (f" (M={self.m})" if self.m is not None else "")


DEFAULT_METRICS = (CurveMetric("top1_z_agg", 4), CurveMetric("equiv_r2_uniform", 2), CurveMetric("equiv_r2_mlp", 2),
                   CurveMetric("pred_loss_true_action", None), CurveMetric("pred_loss_shuffled_action", None),
                   CurveMetric("pred_loss_copy_last", None))


def parse_metric(text: str) -> CurveMetric:
    """``NAME`` or ``NAME@M`` -> :class:`CurveMetric`; a ValueError naming the registered metrics."""
    name, _, m = text.partition("@")
    if name not in METRICS:
        raise ValueError(f"--metric: unknown metric {name!r}; registered: {', '.join(sorted(METRICS))}")
    if m and not (m.isdigit() and int(m) >= 1):
        raise ValueError(f"--metric: M in {text!r} must be a positive int (NAME@M)")
    return CurveMetric(name, int(m) if m else None)


MID = "mid-schedule of the {total}-step run"


def _series(step: int | None, total: int | None) -> str:
    return FULL if step is None or total is None or step >= total else MID.format(total=total)


def _total_of(series: str) -> int | None:
    """The schedule length a mid-schedule series name carries (None for the full-schedule series)."""
    head, tail = MID.split("{total}")
    if series.startswith(head) and series.endswith(tail) and series[len(head):len(series) - len(tail)].isdigit():
        return int(series[len(head):len(series) - len(tail)])
    return None


def curve_rows(paths: Sequence[str | Path], policies: Sequence[str] = (OWN_POLICY,), floors: bool = True,
               m_val: Sequence[int] | None = None, device: str = "cpu", progress: bool = True,
               evaluate: Callable[..., tuple[list[Measurement], dict]] | None = None) -> list[dict[str, Any]]:
    """Summary rows of every (policy, series, step): the rows of
    :func:`experiments.evaluate.tables.summarise` plus ``"policy"``, ``"series"`` and ``"step"``.

    ``evaluate``: the evaluation (default :func:`experiments.evaluate.runner.evaluate_runs`)."""
    if evaluate is None:
        from experiments.evaluate.runner import evaluate_runs as evaluate
    overrides = {"m_val": list(m_val)} if m_val else None
    groups: dict[tuple[str, str, int | None], list[Measurement]] = {}
    for policy in policies:
        data = None if policy == OWN_POLICY else {"policy": policy}
        for path in paths:
            rows, meta = evaluate([path], floors=floors, progress=progress, overrides=overrides,
                                  data_overrides=data, device=device)
            step, total = meta["steps"][0], meta["total_steps"][0]
            label = meta.get("policy", policy) if policy == OWN_POLICY else policy
            groups.setdefault((label, _series(step, total), step), []).extend(rows)
    out = []
    for (policy, series, step), rows in groups.items():
        out += [dict(r, policy=policy, series=series, step=step) for r in summarise(rows)]
    return out


def _cell(rows: Sequence[dict[str, Any]], key: tuple, metric: CurveMetric, subject: str) -> dict[str, Any] | None:
    return next((r for r in rows if (r["policy"], r["series"], r["step"]) == key and r["metric"] == metric.name
                 and r["m"] == metric.m and r["subject"] == subject), None)


def _fmt(row: dict[str, Any] | None) -> str:
    return "–" if row is None else _mean_std(row)


def _margin(trained: dict[str, Any] | None, floor: dict[str, Any] | None) -> str:
    if trained is None or floor is None:
        return "–"
    diffs = paired_differences(trained, floor)
    if not len(diffs):
        return "–"
    mean = float(diffs.mean())
    if len(diffs) == 1:
        return f"{mean:+.3f}"
    return f"{mean:+.3f} ± {float(diffs.std(ddof=1)):.3f} (paired, {len(diffs)} seeds)"


def tables(rows: Sequence[dict[str, Any]], metrics: Sequence[CurveMetric]) -> str:
    """One Markdown table per policy: a row per (series, step), per metric trained / floor / margin."""
    out = []
    for policy in dict.fromkeys(r["policy"] for r in rows):
        keys = sorted({(r["policy"], r["series"], r["step"]) for r in rows if r["policy"] == policy},
                      key=lambda k: (k[1] != FULL, k[1], k[2] or 0))
        shown = [m for m in metrics if any(_cell(rows, k, m, "trained") for k in keys)]
        head = ["series", "step", "seeds"] + [h for m in shown for h in (f"{m.label}", FLOOR, "margin")]
        lines = [f"### Sequences: {policy}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for key in keys:
            cells = [key[1], str(key[2]), ""]
            for m in shown:
                trained, floor = _cell(rows, key, m, "trained"), _cell(rows, key, m, FLOOR)
                cells[2] = cells[2] or (str(trained["n"]) if trained else "")
                cells += [_fmt(trained), _fmt(floor), _margin(trained, floor)]
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def figure(rows: Sequence[dict[str, Any]], metrics: Sequence[CurveMetric]) -> bytes | None:
    """PNG: one panel per metric, trained (solid) and random init (dashed) against steps (log x),
    a colour per policy and a marker per series; None when no metric has points."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from experiments.evaluate.figures import _png

    shown = [m for m in metrics if any(r["metric"] == m.name and r["m"] == m.m for r in rows)]
    if not shown:
        return None
    cols = min(3, len(shown))
    fig = Figure(figsize=(4.2 * cols, 3.4 * ((len(shown) + cols - 1) // cols)))
    FigureCanvasAgg(fig)
    axes = fig.subplots((len(shown) + cols - 1) // cols, cols, squeeze=False).ravel()
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    series = list(dict.fromkeys(r["series"] for r in rows))
    steps = sorted({r["step"] for r in rows if r["step"] is not None})

    def points(policy: str, name: str, metric: CurveMetric, subject: str) -> list[dict[str, Any]]:
        def match(r: dict[str, Any], series_name: str) -> bool:
            return ((r["policy"], r["series"], r["metric"], r["m"], r["subject"])
                    == (policy, series_name, metric.name, metric.m, subject) and r["step"] is not None)

        pts = [r for r in rows if match(r, name)]
        total = _total_of(name)
        if total is not None:  # a mid-schedule series ends at its run's last checkpoint
            pts += [r for r in rows if match(r, FULL) and r["step"] == total]
        return sorted(pts, key=lambda r: r["step"])

    for ax, metric in zip(axes, shown):
        for pi, policy in enumerate(policies):
            floor_drawn = False
            for si, name in enumerate(series):
                for subject, style in (("trained", "-"), (FLOOR, "--")):
                    pts = points(policy, name, metric, subject)
                    if not pts or (subject == FLOOR and floor_drawn):
                        continue  # the random copy does not depend on the steps: drawn once per policy
                    floor_drawn |= subject == FLOOR
                    ax.errorbar([r["step"] for r in pts], [r["mean"] for r in pts], yerr=[r["std"] for r in pts],
                                color=f"C{pi % 10}", linestyle=style, marker="os^v"[si % 4], capsize=3,
                                label=f"{subject}, {policy[:28]}" + (f", {name}" if len(series) > 1
                                                                       and subject != FLOOR else ""))
        ax.set_xscale("log")
        ax.set_xticks(steps, [f"{s // 1000}k" if s >= 1000 and s % 1000 == 0 else str(s) for s in steps])
        ax.minorticks_off()
        ax.set_xlabel("training steps")
        ax.set_title(metric.label, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    return _png(fig)


def write_curve(out: str | Path, rows: Sequence[dict[str, Any]], metrics: Sequence[CurveMetric],
                meta: dict[str, Any], overwrite: bool = False) -> dict[str, Path]:
    """``curve.json`` (meta + rows), ``report.md`` and ``curve.png`` in ``out``, each written atomically,
    ``curve.json`` last; FileExistsError when it exists and ``overwrite`` is False."""
    from envs.storage.files import atomic_write

    from experiments.evaluate.report import _jsonable

    out = Path(out)
    if (out / "curve.json").exists() and not overwrite:
        raise FileExistsError(f"{out / 'curve.json'} already exists (pass --overwrite to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    png = figure(rows, metrics)
    if png is not None:
        files["figure"] = out / "curve.png"
        atomic_write(files["figure"], lambda fh: fh.write(png))
    elif (out / "curve.png").is_file() and not (out / "curve.png").is_symlink():
        (out / "curve.png").unlink()  # overwrite: drop the earlier curve's figure the new rows do not support
    md = ["# Scaling curve", "", f"- **command**: `{meta.get('command')}`" if meta.get("command") else "",
          f"- **runs**: {', '.join(map(str, meta.get('paths', [])))}",
          f"- **floor**: {FLOOR} (a randomly initialised copy of the model, BatchNorm re-estimated on the "
          "same sequences); margin = trained - floor, paired by seed", "", tables(rows, metrics)]
    if png is not None:
        md.append("![curve](curve.png)\n")
    files["report"] = out / "report.md"
    text = "\n".join(md)
    atomic_write(files["report"], lambda fh: fh.write(text.encode("utf-8")))
    files["results"] = out / "curve.json"
    payload = json.dumps(_jsonable({"meta": meta, "rows": list(rows)}), indent=2, allow_nan=False) + "\n"
    atomic_write(files["results"], lambda fh: fh.write(payload.encode("utf-8")))
    return files


def main(paths: Sequence[str | Path], out: str | Path, policies: Sequence[str] = (OWN_POLICY,),
         metrics: Sequence[CurveMetric] = DEFAULT_METRICS, m_val: Sequence[int] | None = None,
         floors: bool = True, device: str = "cpu", overwrite: bool = False, command: str | None = None,
         evaluate: Callable[..., tuple[list[Measurement], dict]] | None = None) -> dict[str, Path]:
    """Evaluate every path on every policy's sequences and write the curve into ``out``."""
    from experiments.evaluate.runner import check_eval_settings, check_runs

    out = check_output_dir(out, ("curve.json",), overwrite)
    check_runs(list(paths))  # every checkpoint present and intact, every policy known, before any probe runs
    overrides = {"m_val": list(m_val)} if m_val else None
    for policy in policies:
        check_eval_settings(paths, overrides, None if policy == OWN_POLICY else {"policy": policy})
    rows = curve_rows(paths, policies, floors=floors, m_val=m_val, device=device, evaluate=evaluate)
    meta = {"command": command, "paths": [str(p) for p in paths], "policies": list(policies),
            "metrics": [m.label for m in metrics]}
    return write_curve(out, rows, metrics, meta, overwrite=overwrite)


DESCRIPTION = ("Figures against training steps (a scaling curve): each path (a run folder or a checkpoint file) is "
               "one point, evaluated on each --policy's sequences beside the random-init copy with BatchNorm "
               "re-estimated; points of one series and step are seeds. Writes curve.json, report.md and curve.png.")
EPILOG = """examples:
  python -m experiments.evaluate.curve runs/qs_2500 runs/qs_10000 runs/qs_25000 --policy own saliency \\
      --out eval/scaling
  python -m experiments.evaluate.curve runs/qs_25000/ckpt_step*.pt runs/qs_25000 --out eval/one_run \\
      --metric top1_z_agg@4
"""


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point (see the module docstring)."""
    parser = Parser("python -m experiments.evaluate.curve", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("paths", nargs="+", help="run folders or checkpoint files, one point each")
    parser.add_output("--out", required=True, help="output folder for curve.json, report.md and curve.png")
    parser.add_argument("--policy", nargs="+", default=[OWN_POLICY], dest="policies", metavar="POLICY",
                        help=f"sequences to evaluate on: {OWN_POLICY} (each run's training policy) or a data.policy "
                             f"such as saliency (default: {OWN_POLICY})")
    parser.add_argument("--metric", nargs="+", dest="metrics", metavar="NAME[@M]",
                        help="metrics to plot, e.g. top1_z_agg@4 equiv_r2_uniform@2 pred_loss_true_action "
                             "(default: class, equivariance and the prediction losses)")
    parser.add_argument("--m-val", type=int, nargs="+",
                        help="numbers of observed views (default: each run's eval.m_val)")
    parser.add_device()
    parser.add_argument("--no-floors", action="store_true", help="skip random init and the model-free floors")
    parser.add_overwrite("replace an existing curve in --out")
    args = parser.parse_args(argv)
    if args.m_val and any(m < 1 for m in args.m_val):
        parser.error(f"--m-val must be positive ints, got {args.m_val}")
    with parser.user_errors():
        metrics = [parse_metric(t) for t in args.metrics] if args.metrics else list(DEFAULT_METRICS)
        files = main(args.paths, args.out, policies=args.policies, metrics=metrics, m_val=args.m_val,
                     floors=not args.no_floors, device=args.device, overwrite=args.overwrite,
                     command="python -m experiments.evaluate.curve " + shlex.join(sys.argv[1:] if argv is None else argv))
    print(Path(files["report"]).read_text())


if __name__ == "__main__":
    cli()
