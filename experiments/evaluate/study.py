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
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from experiments.cliconfig import Parser
from experiments.outputs import NAME_MAX, check_output_dir
from experiments.pretrain.config import load_config, resolve_config_path
from experiments.evaluate.cli import main as evaluate

__all__ = ["run_seed", "check_name", "cli"]

MAX_SEED = 2 ** 31 - 1  # the config's seed range
MAX_JOBS = 64
DESCRIPTION = ("Train several seeds of one preset (and, with --ablation, its no-action ablation), then write one "
               "report: a claim over seeds. Each seed is an ordinary saccade-pretrain run in "
               "<out-dir>/<name>_s<seed> (its own end-of-training evaluation switched off); a finished run is "
               "reused, an interrupted one resumed. As soon as a run is trained it is evaluated in its own process "
               "(--jobs at a time, beside the training of the others; the measurements are kept in the run's "
               "eval_cache/, so a killed study redoes neither). Then saccade-eval scores all seeds together "
               "(mean ± std) beside the floors, with the ablation paired by seed, and writes results.json, "
               "report.md and figures into --out. Every argument is checked before any training.")
EPILOG = """examples:
  python -m experiments.evaluate.study --config scenes_cpu --seeds 0 1 2 --ablation \\
      --out docs/results/quickstart --jobs 2
  python -m experiments.evaluate.study --config scenes_cpu --set optim.lr=2e-3 --name lr2e-3 --out eval/lr2e-3
"""


def _quoted(value: str) -> str:
    """``value`` as a double-quoted YAML string for ``--set key=...`` ('#', '*x', 'null' stay text)."""
    import yaml

    return yaml.safe_dump(str(value), default_style='"', allow_unicode=True, width=1 << 30).strip()


def check_name(name: str, seeds: Sequence[int]) -> str:
    """``name`` if every run folder of the study (``<name>_s<seed>``, ``<name>_noaction_s<seed>``) is a plain
    folder name within the 255 bytes a name may have; ValueError naming ``--name`` otherwise."""
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"--name must be a plain folder name (no '/', '\\', not '.' or '..'), got {name!r:.80}")
    longest = f"{name}_noaction_s{max(seeds, default=0)}"
    if len(longest.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise ValueError(f"--name is {len(name.encode('utf-8', 'surrogateescape'))} bytes: its run folders "
                         f"({longest[:20]}...) would be longer than the {NAME_MAX} bytes a folder name may have")
    return name


def run_seed(config: str, seed: int, run_name: str, out_dir: str, overrides: Sequence[str]) -> Path:
    """Pretrain one seed in a subprocess (reuse a finished run, resume an interrupted one)."""
    from experiments.pretrain.runfolder import read_summary

    run_dir = Path(out_dir) / run_name
    done = read_summary(run_dir)  # a regular JSON object, else None (never opens a FIFO)
    if done is not None and done.get("steps") == done.get("total_steps"):
        return run_dir
    cmd = [sys.executable, "-m", "experiments.pretrain"]
    if (run_dir / "config.yaml").is_file() and any(run_dir.glob("ckpt_*.pt")):
        cmd += ["--run-dir", str(run_dir), "--resume"]
    else:
        cmd += ["--config", config, "--set", f"seed={seed}", "--set", f"run_name={_quoted(run_name)}",
                "--set", f"out_dir={_quoted(str(out_dir))}", "--set", "eval.enabled=false", "--set", "progress=false"]
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
    parser = Parser("python -m experiments.evaluate.study", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--config", default="scenes_cpu", help="preset name (see saccade-pretrain --list-presets) "
                                                              "or YAML file")
    parser.add_seeds(default=[0, 1, 2], help="distinct seeds, one run each")
    parser.add_overrides(help="override a config field of every run, e.g. --set optim.lr=1e-3 (repeatable)")
    parser.add_argument("--ablation", action="store_true",
                        help="also train the no-action ablation (model.condition_aggregator/predictor=false)")
    parser.add_argument("--name", help="run-name prefix (default: the preset's name); give each variant of a "
                                       "preset (other --set values) its own, or its runs would be reused")
    parser.add_output("--out", required=True, help="report folder (results.json, report.md and figures)")
    parser.add_output("--out-dir", default="runs", help="parent folder of the run folders")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, each with config.threads torch threads")
    parser.add_argument("--m-val", type=int, nargs="+", help="numbers of observed views (default: the preset's)")
    parser.add_overwrite("replace an existing report in --out")
    args = parser.parse_args(argv)
    with parser.user_errors():  # every input, before any training: one line naming the flag, exit 2
        path, name = _check_args(args)
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
                     command="python -m experiments.evaluate.study " + shlex.join(sys.argv[1:] if argv is None else argv))
    print(Path(files["report"]).read_text())


def _check_args(args: argparse.Namespace) -> tuple[str, str]:
    """The config file and the run-name prefix, after checking every argument and output folder."""
    from checks import check_int

    if not args.seeds or len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds must be distinct ints, got {args.seeds}")
    for seed in args.seeds:
        check_int("--seeds", seed, 0, MAX_SEED)
    check_int("--jobs", args.jobs, 1, MAX_JOBS)
    for m in args.m_val or ():
        check_int("--m-val", m, 1, 1024)
    try:
        path = str(resolve_config_path(args.config))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"--config: {exc}") from None
    config = load_config(path, args.overrides)  # the config and every --set
    name = check_name(args.name if args.name is not None else config.preset, args.seeds)
    check_output_dir(args.out_dir, [], True, flag="--out-dir")
    for seed in args.seeds:  # every run's own config passes the config's rules (run_name, out_dir)
        load_config(path, [*args.overrides, f"run_name={_quoted(f'{name}_noaction_s{seed}')}",
                           f"out_dir={_quoted(str(args.out_dir))}"])
    check_output_dir(args.out, ("results.json",), args.overwrite)  # the joint report, before any training
    return path, name


if __name__ == "__main__":
    cli()
