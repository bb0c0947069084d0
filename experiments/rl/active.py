"""Train the active-recognition agent (``agents.active``) and run its study: learned movement against
fixed movements with the same learned head, and a seq-JEPA backbone against random init.

One run::

    python -m experiments.rl active --env CircleSquare-v0 --movement learned --steps 25600 --seed 0

The study (resumable: each finished run is kept as ``<out>/runs/<name>.json`` and skipped next time)::

    python -m experiments.rl active-study --env Saccade-Shapes-Classify-v0 --seeds 0 1 2 --steps 128000

then ``<out>/curves.png`` (accuracy and return against env steps, mean ± std over seeds) and
``<out>/README.md`` (accuracy at 25.6k / 61k / 128k steps beside APPLE's, the command).
``--backbone CKPT`` starts the encoder from a seq-JEPA checkpoint (``--init frozen``, ``finetuned``, or
``random`` / ``random_frozen`` for a new encoder), on the recognition variant of the world it was trained on
unless ``--env`` says otherwise; the study runs ``--inits random frozen finetuned`` side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from envs.storage import atomic_write, atomic_write_json

__all__ = ["INITS", "train_run", "run_name", "make_env", "check_recognition_id", "write_results", "main", "CHECKPOINTS", "APPLE"]

CHECKPOINTS = (25_600, 61_000, 128_000)
# APPLE's final-step training accuracy at CHECKPOINTS (mean over seeds; their seed std: CrossQ 0.02 / 0.10 / 0.04,
# SAC 0.09 / 0.11 / 0.03), from data/CircleSquare-v0/{crossq,sac}/train_final.csv of TimSchneider42/apple
APPLE = {"CircleSquare-v0": {"APPLE-CrossQ": (0.53, 0.79, 0.94), "APPLE-SAC": (0.61, 0.78, 0.95)}}
INITS = ("random", "frozen", "finetuned", "random_frozen")  # random_frozen: the floor of a frozen encoder
WINDOW = 2048  # env steps of finished episodes averaged into one curve point
ANALYSIS = "<!-- analysis: kept when the page is redrawn -->"  # a results page's hand-written part follows it


def make_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any] | None = None) -> Any:
    """A vector env in ap_gym's protocol: ap_gym's ids as they are, ours through ``envs.active_perception``."""
    import gymnasium as gym
    check_recognition_id(env_id, "env")
    from envs.active_perception import active_perception
    venv = gym.make_vec(env_id, num_envs=num_envs, **(env_kwargs or {}))
    return venv if hasattr(venv, "loss_fn") else active_perception(venv)


def check_recognition_id(env_id: str, name: str = "env") -> None:
    """ValueError naming ``name`` unless ``env_id`` is a recognition id: one of ours (``envs.CLASSIFY_IDS``
    or a variant of one) or a registered ap_gym id (ap_gym is imported to register its ids)."""
    import gymnasium as gym
    import envs
    try:
        ours = envs.family_of(env_id) is not None
    except ValueError:
        ours = False
    if not ours and env_id not in gym.registry:
        try:
            import ap_gym  # noqa: F401  (registers ap_gym's ids, e.g. CircleSquare-v0)
        except ImportError:
            pass
    if (envs.base_id(env_id) not in envs.CLASSIFY_IDS) if ours else env_id not in gym.registry:
        raise ValueError(f"{name} must be a recognition id ({', '.join(envs.CLASSIFY_IDS)}, "
                         f"Saccade-Shapes-Classify-v0, or an ap_gym id such as CircleSquare-v0), got {env_id!r}")


def _backbone(path: str, init: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Agent keywords from a seq-JEPA checkpoint (``init``: see :func:`train_run`), and the classify env
    it was trained on. ``"random"`` keeps the encoder's architecture and input statistics, re-initialised;
    ``"random_frozen"`` also keeps those new weights fixed (random features: the floor of ``"frozen"``)."""
    import copy
    from seqjepa import load_pretrained
    model, meta = load_pretrained(path)
    encoder = copy.deepcopy(model.encoder).eval()
    if init in ("random", "random_frozen"):
        for module in encoder.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    kwargs = {"encoder": encoder, "freeze_encoder": init in ("frozen", "random_frozen"), "mean": meta["mean"], "std": meta["std"],
              "periphery": meta.get("periphery", "colour")}
    env_id = meta["env_id"].replace("-v0", "-Classify-v0")
    env_kwargs = {k: v for k, v in meta["env_kwargs"].items() if k != "split"}
    return kwargs, {"env": env_id, "env_kwargs": env_kwargs}


def _saccade_world(env_id: str) -> bool:
    """Whether ``env_id`` is one of our saccade-family ids (the worlds with a saliency priority map)."""
    import envs
    from envs.families import SACCADE
    try:
        return envs.family_of(env_id) is SACCADE
    except ValueError:  # not one of our ids (an ap_gym id)
        return False


def run_name(env: str, movement: str, seed: int, init: str = "random") -> str:
    """File name of one run: ``<env>_<movement>_<init>_s<seed>``."""
    return f"{env}_{movement}_{init}_s{seed}"


def train_run(env: str, movement: str = "learned", steps: int = 25_600, seed: int = 0, num_envs: int = 16,
              backbone: str | None = None, init: str = "finetuned", out: str | Path = "runs/active",
              threads: int = 1, progress: bool = True, tensorboard: bool = True,
              agent_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one agent; returns (and writes to ``<out>/runs/<name>.json``) its curve and accuracy at CHECKPOINTS.

    With ``backbone`` (a seq-JEPA checkpoint), ``env`` defaults to the recognition variant of its world
    (same keywords) and ``init`` says how the glimpse encoder starts: ``"frozen"`` or ``"finetuned"``
    (the checkpoint's encoder), ``"random"`` (a new encoder: the comparison on the same world) or
    ``"random_frozen"`` (a new encoder kept fixed: the floor of ``"frozen"``).
    ``agent_config``: :class:`agents.active.AgentConfig` fields other than ``movement``, over the values
    tuned for ``env`` (``AgentConfig.for_env``); the whole config is kept in the run's JSON.
    """
    import dataclasses
    import torch
    from agents.active import ActiveAgent, AgentConfig
    fields = {**(agent_config or {}), "movement": movement}
    AgentConfig(**fields)  # checked before any checkpoint or env is opened
    torch.set_num_threads(threads)
    agent_kwargs: dict[str, Any] = {}
    env_kwargs: dict[str, Any] = {}
    if backbone is None:
        init = "random"
    else:
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        agent_kwargs, world = _backbone(backbone, init)
        env = env or world["env"]
        env_kwargs = world["env_kwargs"] if env == world["env"] else {}
    config = AgentConfig.for_env(env, **fields)
    name = run_name(env, movement, seed, init)
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    venv = make_env(env, num_envs, env_kwargs)
    agent = ActiveAgent(venv, config, seed=seed, **agent_kwargs)
    writer = _writer(out / "tb" / name) if tensorboard else None
    bar = _bar(steps, name) if progress else None
    curve: list[dict[str, float]] = []
    window: list[dict[str, float]] = []
    start = time.time()

    def callback(n: int, finished: list[dict[str, float]], stats: dict[str, float]) -> None:
        window.extend(finished)
        if bar is not None:
            bar.update(n - bar.n)
        if (n // WINDOW > (n - num_envs) // WINDOW or n >= steps) and window:
            point = {"steps": n, "accuracy": float(np.mean([e["accuracy"] for e in window])),
                     "return": float(np.mean([e["return"] for e in window])), **stats}
            curve.append(point)
            window.clear()
            if writer is not None:
                for key, value in point.items():
                    if key != "steps":
                        writer.add_scalar(key, value, n)
            if bar is not None:
                bar.set_postfix(accuracy=f"{point['accuracy']:.3f}")

    agent.learn(steps, callback)
    result = {"name": name, "env": env, "movement": movement, "seed": seed, "init": init, "steps": agent.steps,
              "backbone": backbone, "config": dataclasses.asdict(config), "wall_s": round(time.time() - start, 1),
              "curve": curve,
              "at": {str(c): _at(curve, c) for c in CHECKPOINTS if c <= agent.steps}}
    atomic_write_json(out / "runs" / f"{name}.json", result)
    for closer in (bar, writer, venv):
        if closer is not None:
            closer.close()
    return result


def _at(curve: list[dict[str, float]], step: int) -> float:
    """Accuracy of the curve point at or just before ``step``."""
    before = [p for p in curve if p["steps"] <= step] or curve[:1]
    return before[-1]["accuracy"]


def _writer(path: Path) -> Any:
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(str(path))


def _bar(total: int, name: str) -> Any:
    from tqdm import tqdm
    return tqdm(total=total, desc=name, unit="step", file=sys.stderr)


def _load(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]


def _groups(runs: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["env"], r["movement"], r["init"]), []).append(r)
    return groups


def _mean_std(runs: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = min(len(r["curve"]) for r in runs)
    steps = np.array([p["steps"] for p in runs[0]["curve"][:n]])
    values = np.array([[p[key] for p in r["curve"][:n]] for r in runs])
    return steps, values.mean(0), values.std(0)


def write_results(out: str | Path, command: str) -> Path:
    """Figure (``curves.png``) and page (``README.md``) of every run kept under ``<out>/runs``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    groups = _groups(_load(out))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    backbone = any(r[0].get("backbone") for r in groups.values())
    title = ("a seq-JEPA glimpse encoder against a new one (same agent)" if backbone else
             "learned movement vs fixed movements (same learned head)")
    lines = [f"# Active recognition: {title}\n",
             f"Command: `{command}`\n", "| env | movement | init | seeds | " +
             " | ".join(f"acc @ {c // 1000 if c % 1000 == 0 else c / 1000}k" for c in CHECKPOINTS) +
             " | final acc | wall s/run |", "|" + "---|" * (6 + len(CHECKPOINTS))]
    for (env, movement, init), runs in sorted(groups.items()):
        for ax, key in zip(axes, ("accuracy", "return")):
            steps, mean, std = _mean_std(runs, key)
            label = f"{movement}, {init} encoder" if runs[0].get("backbone") else movement
            ax.plot(steps, mean, label=f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
            ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
            ax.set_xlabel("environment steps")
            ax.set_ylabel(f"{key} (mean ± std over seeds)")
        cells = []
        for c in CHECKPOINTS:
            vals = [r["at"][str(c)] for r in runs if str(c) in r["at"]]
            cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "-")
        final = [r["curve"][-1]["accuracy"] for r in runs]
        lines.append(f"| {env} | {movement} | {init} | {len(runs)} | " + " | ".join(cells) +
                     f" | {np.mean(final):.3f} ± {np.std(final):.3f} | {np.mean([r['wall_s'] for r in runs]):.0f} |")
    for env in sorted({k[0] for k in groups}):
        for (name, values), marker in zip(APPLE.get(env, {}).items(), itertools.cycle("xDs^")):
            known = [(c, v) for c, v in zip(CHECKPOINTS, values) if v is not None]
            axes[0].plot(*zip(*known), marker, color="black", linestyle="none", label=f"{name} (published)")
            lines.append(f"| {env} | {name} (paper) | - | - | " +
                         " | ".join("-" if v is None else f"{v:.2f}" for v in values) + " | - | - |")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)
    plt.close(fig)
    lines.append("\n![curves](curves.png)\n\nAccuracy: the final prediction's, over the training episodes that "
                 f"ended in each window of {WINDOW} env steps (the learned movement samples from its policy).")
    page = out / "README.md"
    kept = page.read_text(encoding="utf-8").partition(ANALYSIS)[2] if page.is_file() else ""
    text = "\n".join(lines) + "\n" + (ANALYSIS + kept if kept else "")
    atomic_write(page, lambda fh: fh.write(text.encode("utf-8")))
    return page


def _parser(study: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m experiments.rl {'active-study' if study else 'active'}",
                                description="Train the active-recognition agent (agents.active) in ap_gym's protocol"
                                + (": learned movement against fixed movements with the same head, over seeds "
                                   "(resumable), with curves and a results page." if study else ": one run."))
    p.add_argument("--env", default=None, help="recognition id (default: the backbone's world, else CircleSquare-v0)")
    p.add_argument("--steps", type=int, default=25_600, help="env transitions per run")
    p.add_argument("--num-envs", type=int, default=16, help="rows of the vector env")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--out", default="runs/active", help="folder of runs/<name>.json, tb/, curves.png, README.md")
    p.add_argument("--backbone", default=None, help="seq-JEPA checkpoint for the glimpse encoder")
    agent = p.add_argument_group("agent settings", "default: the value tuned for --env (agents.active.TUNED), "
                                 "else AgentConfig's; every run's JSON keeps its whole config")
    agent.add_argument("--updates-per-step", type=int, default=None,
                       help="updates (perception and SAC) per vector step: the update-to-data ratio")
    agent.add_argument("--batch-transitions", type=int, default=None,
                       help="env steps (whole episodes) per update; the head's replay ratio is this x "
                            "--updates-per-step / --num-envs")
    agent.add_argument("--policy-updates", type=int, default=None,
                       help="SAC updates per perception update (learned movement; cheap: the states are reused)")
    agent.add_argument("--gamma", type=float, default=None, help="SAC's discount")
    agent.add_argument("--lr", type=float, default=None, help="SAC's learning rate (actor and critic)")
    if study:
        p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        p.add_argument("--movements", nargs="+", default=["learned", "random", "still", "saliency"])
        p.add_argument("--inits", nargs="+", default=list(INITS), choices=INITS,
                       help="with --backbone: encoder starts to compare (on the checkpoint's world)")
    else:
        p.add_argument("--init", default="finetuned", choices=INITS,
                       help="with --backbone: its encoder trained with the head (finetuned) or fixed (frozen), or "
                            "a new encoder of its architecture, trained (random) or fixed (random_frozen)")
        p.add_argument("--movement", default="learned", help="learned, random, still or saliency")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--overwrite", action="store_true", help="replace a kept run of the same name")
    return p


def _check_args(args: argparse.Namespace, study: bool) -> str | None:
    """Check every argument before any env, checkpoint or run is touched; the env id to run (None: the
    backbone's world)."""
    from checks import check_choice, check_int, check_seed
    from agents.active import MOVEMENTS
    check_int("--steps", args.steps, lo=1)
    check_int("--num-envs", args.num_envs, lo=1)
    check_int("--threads", args.threads, lo=1)
    seeds = args.seeds if study else [args.seed]
    movements = args.movements if study else [args.movement]
    for seed in seeds:
        check_seed(seed, "--seeds" if study else "--seed")
    for movement in movements:
        check_choice("--movements" if study else "--movement", movement, MOVEMENTS)
    env = args.env or (None if args.backbone else "CircleSquare-v0")
    if env is not None:
        check_recognition_id(env, "--env")
        if not study and args.movement == "saliency" and not _saccade_world(env):
            raise ValueError(f"--movement saliency needs one of our saccade recognition ids (a saliency map), "
                             f"got --env {env}")
    if args.backbone is not None and not Path(args.backbone).expanduser().is_file():
        raise FileNotFoundError(f"--backbone {args.backbone} is not a checkpoint file")
    return env


SAC_ONLY = ("gamma", "lr", "policy_updates")  # agent settings that only learned movement uses
# the AgentConfig fields the CLI sets
AGENT_FLAGS = ("policy_updates", "updates_per_step", "batch_transitions", "gamma", "lr")


def _flag(field: str) -> str:
    """The command-line flag of an ``AgentConfig`` field (``batch_transitions`` -> ``--batch-transitions``)."""
    return "--" + field.replace("_", "-")


def _agent_config(args: argparse.Namespace, env: str) -> dict[str, Any]:
    """The ``AgentConfig`` fields the CLI sets (AGENT_FLAGS): the flags given, else the values tuned for ``env``,
    else the defaults; checked by ``AgentConfig`` itself (errors name the flag)."""
    import dataclasses
    from agents.active import AgentConfig
    given = {field: getattr(args, field) for field in AGENT_FLAGS if getattr(args, field) is not None}
    try:
        config = AgentConfig.for_env(env, **given)
    except ValueError as exc:  # CheckTypeError is a ValueError too
        field, _, rest = str(exc).partition(" ")
        raise type(exc)(f"{_flag(field)} {rest}" if field in AGENT_FLAGS else str(exc)) from None
    return {field: value for field, value in dataclasses.asdict(config).items() if field in AGENT_FLAGS}


def _check_kept_runs(out: Path, agent_config: dict[str, Any]) -> None:
    """ValueError if a run kept under ``out`` was trained with other ``agent_config`` values (a resumed
    study must not mix settings on one page); SAC's settings are not compared for fixed movements."""
    for run in _load(out):
        kept = run.get("config", {})
        ignored = () if run.get("movement") == "learned" else SAC_ONLY  # a fixed movement never ran SAC
        differ = {k: (kept[k], v) for k, v in agent_config.items()
                  if k in kept and kept[k] != v and k not in ignored}
        if differ:
            raise ValueError(f"--out {out} keeps {run['name']}, trained with " +
                             ", ".join(f"{_flag(k)} {old} (asked: {new})" for k, (old, new) in differ.items())
                             + "; resume it with the same settings or choose another --out")


def main(argv: Sequence[str] | None = None, study: bool = False) -> int:
    """CLI of one run (``active``) or of the study (``active-study``); bad arguments exit 2 with one line."""
    from experiments.outputs import USER_ERRORS, check_output_dir, exit_error
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(study)
    args = parser.parse_args(argv)
    try:
        env = _check_args(args, study)
        init = "random" if study else args.init
        if args.backbone is not None and env is None:
            env = _backbone(args.backbone, "frozen")[1]["env"]
        if not study:  # one run: never replace a kept run unless asked
            name = run_name(env, args.movement, args.seed, init if args.backbone else "random")
            check_output_dir(Path(args.out), [f"runs/{name}.json"], args.overwrite)
        else:
            check_output_dir(Path(args.out), [], True)
        agent_config = _agent_config(args, env)
        if study:
            _check_kept_runs(Path(args.out), agent_config)
    except USER_ERRORS as exc:
        exit_error(parser.prog, exc)
    common = dict(steps=args.steps, num_envs=args.num_envs, backbone=args.backbone, out=args.out,
                  threads=args.threads, agent_config=agent_config)
    if not study:
        result = train_run(env, args.movement, seed=args.seed, init=init, **common)
        print(json.dumps({k: result[k] for k in ("name", "steps", "wall_s", "at")}))
    else:
        done = {p.stem for p in (Path(args.out) / "runs").glob("*.json")}
        for seed in args.seeds:
            for movement in args.movements:
                for init in (args.inits if args.backbone is not None else ["random"]):
                    if run_name(env, movement, seed, init) in done:
                        continue  # resumable: a kept run is not trained again
                    if movement == "saliency" and not _saccade_world(env):
                        continue  # no priority map outside the saccade worlds
                    train_run(env, movement, seed=seed, init=init, **common)
    page = write_results(args.out, "python -m experiments.rl " + ("active-study " if study else "active ") +
                         shlex.join(argv))
    print(f"results: {page}")
    return 0
