"""Several seeds of one preset (and its no-action ablation), then one report: a claim over seeds.

    python -m experiments.evaluate.study --config scenes_cpu --seeds 0 1 2 --ablation \\
        --out docs/results/quickstart --jobs 2

Each seed is an ordinary ``saccade-pretrain`` run (``<out_dir>/<name>_s<seed>``, its own
end-of-training evaluation switched off); an existing finished run is reused, an interrupted
one resumed. As soon as a run is trained it is evaluated in its own process (``--jobs`` at a
time, beside the training of the others; the measurements are kept in the run's
``eval_cache/``, so a killed study redoes neither). Then ``saccade-eval`` scores all seeds
together (mean ± std) beside the floors, with the ablation paired by seed, and writes
``results.json``, ``report.md`` and figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from experiments.pretrain.config import load_config, preset_path
from experiments.evaluate.cli import main as evaluate

__all__ = ["run_seed", "cli"]


def run_seed(config: str, seed: int, run_name: str, out_dir: str, overrides: Sequence[str]) -> Path:
    """Pretrain one seed in a subprocess (reuse a finished run, resume an interrupted one)."""
    run_dir = Path(out_dir) / run_name
    summary = run_dir / "summary.json"
    if summary.is_file():
        done = json.loads(summary.read_text())
        if done.get("steps") == done.get("total_steps"):
            return run_dir
    cmd = [sys.executable, "-m", "experiments.pretrain"]
    if (run_dir / "config.yaml").is_file() and any(run_dir.glob("ckpt_*.pt")):
        cmd += ["--run-dir", str(run_dir), "--resume"]
    else:
        cmd += ["--config", config, "--set", f"seed={seed}", "--set", f"run_name={run_name}",
                "--set", f"out_dir={out_dir}", "--set", "eval.enabled=false", "--set", "progress=false"]
        for item in overrides:
            cmd += ["--set", item]
    log = Path(out_dir) / f"{run_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"pretraining {run_name} failed (exit {done.returncode}); see {log}")
    return run_dir


def evaluate_seed(run_dir: Path, floors: bool, m_val: Sequence[int] | None, threads: int | None = None) -> None:
    """Evaluate one trained run in a subprocess (``threads`` torch threads), filling its evaluation
    cache (and a report in ``<run_dir>/eval_study/``) for the study's joint report."""
    cmd = [sys.executable, "-m", "experiments.evaluate.cli", str(run_dir), "--out", str(run_dir / "eval_study"),
           "--overwrite"]
    if not floors:
        cmd.append("--no-floors")
    if m_val:
        cmd += ["--m-val", *[str(m) for m in m_val]]
    log = run_dir.parent / f"{run_dir.name}.log"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    with log.open("a") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"evaluating {run_dir} failed (exit {done.returncode}); see {log}")


def cli(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.evaluate.study", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="scenes_cpu", help="preset name or YAML file (default scenes_cpu)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--ablation", action="store_true",
                        help="also train the no-action ablation (model.condition_aggregator/predictor=false)")
    parser.add_argument("--name", help="run-name prefix (default: the preset's name); give each variant of a "
                                       "preset (other --set values) its own, or its runs would be reused")
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--out-dir", default="runs", help="parent folder of the run folders (default runs)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (each uses config.threads)")
    parser.add_argument("--m-val", type=int, nargs="+", help="numbers of observed views (default: the preset's)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")
    args = parser.parse_args(argv)
    path = args.config if Path(args.config).is_file() else str(preset_path(args.config))
    config = load_config(path, args.overrides)  # fail fast on a bad config, before any training
    name = args.name or config.preset
    load_config(path, [*args.overrides, f"run_name={name}_s0"])  # the run names pass the config's own rule
    jobs = [(s, f"{name}_s{s}", args.overrides, True) for s in args.seeds]
    if args.ablation:
        off = ["model.condition_aggregator=false", "model.condition_predictor=false"]
        jobs += [(s, f"{name}_noaction_s{s}", [*args.overrides, *off], False) for s in args.seeds]

    def train_and_evaluate(job: tuple) -> Path:
        seed, run_name, overrides, floors = job
        run_dir = run_seed(path, seed, run_name, args.out_dir, overrides)
        # ablations: no floors (their floors are the main runs'); the cores shared between the jobs
        evaluate_seed(run_dir, floors, args.m_val, threads=max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
        return run_dir

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        runs = list(pool.map(train_and_evaluate, jobs))
    main_runs, ablation_runs = runs[:len(args.seeds)], runs[len(args.seeds):]
    files = evaluate([str(r) for r in main_runs], args.out, ablation=[str(r) for r in ablation_runs],
                     m_val=args.m_val, overwrite=args.overwrite, title=f"{name}: {len(args.seeds)} seeds",
                     command="python -m experiments.evaluate.study " + " ".join(sys.argv[1:] if argv is None else argv))
    print(Path(files["report"]).read_text())


if __name__ == "__main__":
    cli()
