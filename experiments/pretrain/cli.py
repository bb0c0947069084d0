"""The pretraining command line (console entry point ``saccade-pretrain``; ``python -m experiments.pretrain``).

    saccade-pretrain --config scenes_cpu [--set optim.lr=1e-3]     # a preset by name, or a YAML file
    saccade-pretrain --run-dir runs/NAME --resume
    saccade-pretrain --list-presets | --print-config
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import torch.distributed as dist
import yaml

from experiments.evaluate.runner import EVALUATION
from experiments.cliconfig import Parser
from experiments.pretrain import train
from experiments.pretrain.config import TrainConfig, apply_overrides, config_to_dict, load_config, reset_invocation_keys
from experiments.pretrain.presets import preset_descriptions

__all__ = ["cli", "pretrain", "format_summary"]

DESCRIPTION = ("Pretrain seq-JEPA on saccade glimpse sequences. A run reads a preset (or a YAML file) with "
               "--set overrides and writes a run folder: the resolved config.yaml, TensorBoard logs, checkpoints, "
               "the end-of-training evaluation beside its floors (eval/) and summary.json. Multi-GPU: torchrun "
               "--nproc_per_node N -m experiments.pretrain with the same arguments.")
EPILOG = """examples:
  saccade-pretrain --config scenes_cpu                    # the quick-start job (CPU)
  saccade-pretrain --config scenes_cpu --set optim.lr=2e-3 --set data.batch_size=64
  saccade-pretrain --list-presets                         # every preset with its description
  saccade-pretrain --config pathint_cpu --print-config    # the resolved config, then exit
  saccade-pretrain --run-dir runs/NAME --resume           # continue a killed or stopped run
"""


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``saccade-pretrain`` (see the module docstring).

    Returns None (the console-script wrapper passes the return value to ``sys.exit``); the
    summary is printed and saved as ``summary.json`` in the run folder.
    """
    parser = Parser("saccade-pretrain", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--config", help="YAML config file, or a packaged preset by name (e.g. scenes_cpu; see "
                                         "--list-presets; default: scenes_cpu; with --resume and --run-dir: the "
                                         "run's own config.yaml)")
    parser.add_overrides(help="override a field, e.g. --set optim.lr=1e-3 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    parser.add_output("--run-dir", help="run folder (default: <out_dir>/<run_name>)",
                      overwrite="start afresh in a run folder that already holds a run (its checkpoints, "
                             "TensorBoard events and summary are deleted first)")
    parser.add_argument("--list-presets", action="store_true", help="list the packaged presets and exit")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (after --set) as YAML and exit")
    args = parser.parse_args(argv)
    if args.list_presets:
        for name, description in preset_descriptions():  # whole, one line each
            print(f"{name:<22} {description}")
        return
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in its folder, --overwrite deletes it: pass one, not both")
    own = Path(args.run_dir or ".") / "config.yaml"
    with parser.user_errors((ValueError, FileNotFoundError)):  # broken YAML, bad --set, bad value: one line, exit 2
        if args.config is None and args.resume and args.run_dir and own.is_file():
            # the run's own settings, but this invocation's run control (stop_after, progress)
            config = apply_overrides(reset_invocation_keys(load_config(own)), args.overrides)
        else:
            config = load_config(args.config or "scenes_cpu", args.overrides)
    if args.print_config:
        print(yaml.safe_dump(config_to_dict(config), sort_keys=False), end="")
        return
    if args.resume and args.run_dir is None and config.run_name is None:
        parser.error("--resume needs --run-dir or a config with run_name")
    try:
        with parser.user_errors():  # a bad run folder, checkpoint or value: one line, exit 2
            summary = pretrain(config, run_dir=args.run_dir, resume=args.resume, overwrite=args.overwrite)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if summary.get("rank", 0) == 0:
        print(format_summary(summary))


def pretrain(config: TrainConfig, **kwargs: Any) -> dict[str, Any]:
    """A pretraining run with its end-of-training evaluation, as ``saccade-pretrain`` runs it:
    :func:`experiments.pretrain.train.main` (``kwargs``: its arguments) given
    :data:`experiments.evaluate.runner.EVALUATION` (the command layer wires the two: the floors
    computed beside training, the evaluation after it)."""
    return train.main(config, end_of_training=EVALUATION, **kwargs)


def format_summary(summary: dict[str, Any]) -> str:
    """A few readable lines of a run summary (the full one is ``summary.json``)."""
    def f(key: str, source: dict[str, Any] = summary, digits: int = 3) -> str:
        value = source.get(key)
        return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"

    probe = (f"online probe top-1 {f('probe_acc')} (chance {f('chance_acc')}), "
             if summary.get("probe_acc") is not None and math.isfinite(summary["probe_acc"]) else "")
    lines = [f"run folder: {summary.get('run_dir')}",
             f"steps {summary.get('steps')}: loss {f('first_loss')} -> {f('final_loss')}; {probe}"
             f"relative-action R^2 {f('probe_r2')}; {f('sequences_per_s', digits=0)} sequences/s"]
    ev = summary.get("eval") or {}
    if ev.get("headline"):
        lines += ["", "frozen-feature evaluation (converged probes on the test split; floors beside the model):",
                  ev["headline"], f"full report: {ev.get('report')}"]
    return "\n".join(lines)


