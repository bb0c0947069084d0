"""``saccade-eval``: evaluate pretrained runs on frozen features, beside their floors.

    saccade-eval runs/qs_s0 runs/qs_s1 runs/qs_s2 --out eval/quickstart       # one setting, 3 seeds
    saccade-eval --compare eval/quickstart eval/no_action                      # side by side
    saccade-eval runs/qs_s0 --policy saliency --out eval/qs_saliency           # on other scanpaths
  saccade-eval runs/pathint_cpu --action-noise 0.1 --out eval/pi_noisy       # noisier self-motion

Each positional path is a run folder (its latest checkpoint) or a checkpoint file; the runs
given together are treated as seeds of one setting (mean ± std). The output folder gets
``results.json``, ``report.md`` and figures (see :mod:`experiments.evaluate.report`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Sequence

from experiments.evaluate.metric_registry import ABLATION_METRIC, ablation_metrics, ablation_rows
from experiments.evaluate.report import check_ablation, compare, summarise, write_report
from experiments.evaluate.runner import check_runs, evaluate_runs
from experiments.cliconfig import Parser
from experiments.outputs import check_output_dir

__all__ = ["cli", "main"]

DESCRIPTION = ("Evaluate pretrained runs on frozen features, beside their floors (a randomly initialised copy of "
               "the model, raw pixels, colour histograms, dead reckoning, chance). Each path is a run folder (its "
               "latest checkpoint is read) or a checkpoint file; the runs given together are seeds of one setting "
               "and are reported as mean ± std. The output folder gets results.json, report.md and figures. "
               "Measurements are kept in each run's eval_cache/ folder and reused when the same checkpoint is "
               "evaluated the same way again.")
EPILOG = """examples:
  saccade-eval runs/qs_s0 runs/qs_s1 runs/qs_s2 --out eval/quickstart       # one setting, 3 seeds
  saccade-eval --compare eval/quickstart eval/no_action                      # side by side
  saccade-eval runs/qs_s0 --policy saliency --out eval/qs_saliency           # on other scanpaths
  saccade-eval runs/pathint_cpu --action-noise 0.1 --out eval/pi_noisy       # noisier self-motion
"""


def main(paths: Sequence[str], out: str | Path, device: str = "cpu", m_val: Sequence[int] | None = None,
         max_batches: int | None = None, floors: bool = True, overwrite: bool = False,
         ablation: Sequence[str] = (), title: str | None = None, command: str | None = None,
         policy: str | None = None, action_noise: float | None = None) -> dict[str, Path]:
    """Evaluate ``paths`` (seeds of one setting) and write the report into ``out``.

    ``policy``: make the evaluation sequences with this pretraining policy (``data.policy``, e.g.
    ``saliency`` for the env's own saliency-IoR scanpaths) instead of each run's training policy.
    ``action_noise``: the std of the noise on the reported moves of the evaluation sequences (the
    path-integration world's ``data.env_kwargs.action_noise``) instead of each run's.

    ``ablation``: run folders of the no-action ablation at the same seeds; its equivariance
    is compared with the main runs' (paired by seed) and the verdict added to the report.
    """
    out = check_output_dir(out, ("results.json",), overwrite)
    check_runs([*paths, *ablation])  # every checkpoint present and intact before any probe runs
    overrides: dict = {}
    if m_val:
        overrides["m_val"] = list(m_val)
    if max_batches is not None:
        overrides["max_batches"] = max_batches
    data = {k: v for k, v in (("policy", policy), ("action_noise", action_noise)) if v is not None} or None
    measurements, meta = evaluate_runs(list(paths), device=device, floors=floors, overrides=overrides or None,
                                       data_overrides=data)
    meta["command"] = command or ("saccade-eval " + shlex.join(sys.argv[1:]) if sys.argv[1:] else None)
    if ablation:
        abl, abl_meta = evaluate_runs(list(ablation), device=device, floors=False, overrides=overrides or None,
                                      data_overrides=data)
        with_s, without_s = summarise(measurements), summarise(abl)
        meta["ablation_runs"] = abl_meta["runs"]
        for metric in ablation_metrics():  # the default metric's claim always, the others where measured
            if metric.name == ABLATION_METRIC or any(r["metric"] == metric.name for r in with_s):
                meta[metric.ablation_claim] = check_ablation(with_s, without_s, metric.name)
        for row in abl:
            row["subject"] = "no_action_model"
        measurements += ablation_rows(abl)
    return write_report(out, measurements, meta, overwrite=overwrite, title=title)


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``saccade-eval`` (see the module docstring)."""
    parser = Parser("saccade-eval", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("paths", nargs="*", help="run folders or checkpoint files (seeds of one setting)")
    parser.add_output("--out", help="output folder for results.json, report.md and figures (required unless "
                                      "--compare)")
    parser.add_argument("--compare", nargs="+", metavar="RESULTS",
                        help="print evaluated settings side by side (output folders or results.json files)")
    parser.add_argument("--ablation", nargs="+", default=[], metavar="RUN",
                        help="no-action ablation runs at the same seeds (paired equivariance comparison)")
    parser.add_argument("--m-val", type=int, nargs="+", help="numbers of observed views (default: each run's eval.m_val)")
    parser.add_argument("--max-batches", type=int, help="cap the feature-extraction batches per split (default: "
                                                        "each run's eval.max_batches)")
    parser.add_argument("--policy", help="make the evaluation sequences with this data.policy (e.g. saliency: the "
                                         "env's own saliency-IoR scanpaths; default: each run's training policy)")
    parser.add_argument("--action-noise", type=float, metavar="STD",
                        help="make the evaluation sequences with this std of noise on the reported moves (the "
                             "path-integration world's data.env_kwargs.action_noise, in [0, 1]; default: each "
                             "run's): how far vision corrects noisier self-motion")
    parser.add_device()
    parser.add_argument("--no-floors", action="store_true", help="skip random init and model-free floors")
    parser.add_overwrite("replace an existing report in --out")
    parser.add_argument("--title", help="title of report.md (default: Evaluation report)")
    args = parser.parse_args(argv)
    if args.compare:
        if args.paths:
            parser.error("--compare takes evaluated output folders; give no run paths with it")
        with parser.user_errors():
            print(compare({Path(p).name if Path(p).is_dir() else Path(p).parent.name: p for p in args.compare}))
        return
    if not args.paths or not args.out:
        parser.error("give one or more run folders / checkpoints and --out (or --compare RESULTS...)")
    if args.m_val and any(m < 1 for m in args.m_val):
        parser.error(f"--m-val must be positive ints, got {args.m_val}")
    with parser.user_errors():
        files = main(args.paths, args.out, device=args.device, m_val=args.m_val, max_batches=args.max_batches,
                     floors=not args.no_floors, overwrite=args.overwrite, ablation=args.ablation, title=args.title,
                     policy=args.policy, action_noise=args.action_noise)
    print(Path(files["report"]).read_text())


if __name__ == "__main__":
    cli()
