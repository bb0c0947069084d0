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
unless ``--env`` says otherwise; the study runs ``--inits random frozen finetuned`` side by side. The same
checkpoint is the world model of the movement ``world_model`` (it scores ``--wm-candidates`` saccades by
``--wm-score`` and takes the best) and of ``--intrinsic-reward world_model`` (SAC's reward of the learned
movement plus ``--intrinsic-scale`` x its prediction error of the glimpse reached; those runs are named
``learned+wm<scale>``)::

    python -m experiments.rl active-study --backbone CKPT --inits random --movements world_model random saliency learned
    python -m experiments.rl active-study --backbone CKPT --inits random --movements learned \
        --intrinsic-reward world_model --intrinsic-scale 0.1
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import stat
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from envs.storage.files import atomic_write, atomic_write_json
from experiments.cliconfig import flag_of, name_flag

__all__ = ["INITS", "train_run", "run_name", "movement_label", "make_env", "check_recognition_id", "check_backbone", "check_out",
           "episode_steps", "write_results", "main", "CHECKPOINTS", "APPLE", "NoEpisodeError"]

CHECKPOINTS = (25_600, 61_000, 128_000)
# APPLE's final-step training accuracy at CHECKPOINTS (mean over seeds; their seed std: CrossQ 0.02 / 0.10 / 0.04,
# SAC 0.09 / 0.11 / 0.03), from data/CircleSquare-v0/{crossq,sac}/train_final.csv of TimSchneider42/apple
APPLE = {"CircleSquare-v0": {"APPLE-CrossQ": (0.53, 0.79, 0.94), "APPLE-SAC": (0.61, 0.78, 0.95)}}
INITS = ("random", "frozen", "finetuned", "random_frozen")  # random_frozen: the floor of a frozen encoder
WINDOW = 2048  # env steps of finished episodes averaged into one curve point
ANALYSIS = "<!-- analysis: kept when the page is redrawn -->"  # a results page's hand-written part follows it
PAGE_TITLE = "# Active recognition: "  # the first line of every page this command writes (how it knows its own)
OUTPUTS = ("README.md", "curves.png")  # what the command redraws in --out (besides runs/ and tb/)
# Upper bounds of the numbers a run takes: beyond them a run would allocate without bound or overflow a seed
MAX_STEPS, MAX_NUM_ENVS, MAX_THREADS, MAX_SEED = 10 ** 10, 1024, 1024, 2 ** 32 - 1


class NoEpisodeError(ValueError):
    """A run ended no episode (``--steps`` shorter than one episode per row): nothing to keep."""


def make_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any] | None = None) -> Any:
    """A vector env in ap_gym's protocol: ap_gym's ids as they are, ours through ``envs.wrappers.active_perception``."""
    import gymnasium as gym
    check_recognition_id(env_id, "env")
    from envs.wrappers.active_perception import active_perception
    venv = gym.make_vec(env_id, num_envs=num_envs, **(env_kwargs or {}))
    return venv if hasattr(venv, "loss_fn") else active_perception(venv)


def check_recognition_id(env_id: str, name: str = "env") -> None:
    """ValueError naming ``name`` unless ``env_id`` is a recognition id the agent can run: one of ours
    (a record of ``envs.RECORDS`` with ``recognition`` set, or a variant of one) whose family reports a glimpse position (``info["position"]``:
    the saccade worlds), or an ap_gym classification id (ap_gym is imported to register its ids).

    Raises:
        checks.extras.MissingExtraError: ``env_id`` is none of ours nor registered and ap_gym (or a
            package it needs) is not installed: one line naming the ``rl`` extra.
    """
    import gymnasium as gym
    import envs
    from checks.extras import require
    try:
        family = envs.family_of(env_id)
    except ValueError:
        family = None
    if family is None and isinstance(env_id, str) and env_id not in gym.registry:
        # registers ap_gym's ids, e.g. CircleSquare-v0
        require("ap_gym", what=f"{name} {env_id:.80} (not one of this package's ids; an ap_gym id?)")
    runnable = [r.id for r in envs.RECORDS if r.recognition and r.family.state_key == "position"]
    if family is not None:
        ok = envs.record_of(env_id).recognition and family.state_key == "position"
    else:
        ok = isinstance(env_id, str) and env_id in gym.registry and _ap_gym_classification(env_id)
    if not ok:
        raise ValueError(f"{name} must be a recognition id the agent can run ({', '.join(runnable)}, "
                         f"Saccade-Shapes-Classify-v0, or an ap_gym classification id such as CircleSquare-v0), "
                         f"got {env_id!r:.80}")


def _ap_gym_classification(env_id: str) -> bool:
    """Whether the registered ``env_id`` is one of ap_gym's classification ids (its entry point comes from
    ap_gym and, where its registration says which wrappers it adds, adds the classification log wrapper)."""
    import inspect
    import gymnasium as gym
    entry = gym.spec(env_id).entry_point
    module = entry.__module__ if callable(entry) else str(entry)
    if not module.startswith("ap_gym"):
        return False
    seen, todo, wrappers = set(), [entry], []
    while todo:  # the registration's closures (a sparse variant wraps another entry point)
        fn = todo.pop()
        if not callable(fn) or id(fn) in seen or len(seen) > 8:
            continue
        seen.add(id(fn))
        try:
            nonlocals = inspect.getclosurevars(fn).nonlocals
        except (TypeError, ValueError):
            continue
        for value in nonlocals.values():
            if isinstance(value, (tuple, list)):
                wrappers += [getattr(w, "__name__", "") for w in value]
            elif callable(value):
                todo.append(value)
    return not wrappers or "ActiveClassificationLogWrapper" in wrappers


def episode_steps(env_id: str, env_kwargs: dict[str, Any] | None = None) -> int | None:
    """Steps of one episode of ``env_id`` (with ``env_kwargs``) read from its registration, without making
    it; None where the registration does not say."""
    import gymnasium as gym
    import envs
    spec = gym.spec(env_id)
    kwargs = {**spec.kwargs, **(env_kwargs or {})}
    try:
        key = envs.family_of(env_id).length_kwarg
    except ValueError:  # an ap_gym id: its perception config's step limit
        limits = [getattr(v, "step_limit", None) for v in kwargs.values()]
        limits = [v for v in limits if isinstance(v, int) and not isinstance(v, bool)]
        return limits[0] if limits else spec.max_episode_steps
    if key in kwargs:
        return int(kwargs[key])
    default = envs.env_keywords(env_id).get(key)
    value = getattr(default, "default", None)
    return int(value) if isinstance(value, int) else None


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
    return kwargs, _world_of(meta)


def _world_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The recognition world of a checkpoint's metadata: ``{"env", "env_kwargs"}``."""
    env_id = str(meta["env_id"]).replace("-v0", "-Classify-v0")
    env_kwargs = {k: v for k, v in dict(meta["env_kwargs"]).items() if k != "split"}
    return {"env": env_id, "env_kwargs": env_kwargs}


def check_backbone(path: str, env: str | None, flag: str = "--backbone") -> dict[str, Any]:
    """Load the seq-JEPA checkpoint ``path`` (nothing trained) and check the agent can run its encoder:
    its world has a recognition variant the agent runs, and ``env`` (None: that variant) is it. Returns
    ``{"env", "env_kwargs", "sha256"}``; ValueError / CheckpointError naming ``flag`` otherwise."""
    from envs.storage.files import file_sha256, regular_file_size
    from seqjepa import load_pretrained
    regular_file_size(Path(path).expanduser(), error=ValueError, follow_symlinks=True)
    try:
        _, meta = load_pretrained(path)
        world = _world_of(meta)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{flag} {path} holds no seq-JEPA encoder with its world ({exc!r:.80})") from None
    except Exception as exc:  # CheckpointError, and whatever torch raises on a file that is no checkpoint
        problem = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"{flag} {path} is not a seq-JEPA checkpoint the agent can load ({problem})") from None
    try:
        check_recognition_id(world["env"], "its world")
    except ValueError:
        raise ValueError(f"{flag} {path} was trained on {meta['env_id']}, which has no recognition variant the "
                         f"agent runs (a saccade world's): choose a saccade checkpoint") from None
    if env is not None and env != world["env"]:
        raise ValueError(f"--env {env} is not the world {flag} {path} was trained on ({world['env']}): its encoder "
                         f"reads that world's glimpses; leave --env out")
    return {**world, "sha256": file_sha256(path)}


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


def movement_label(movement: str, intrinsic_scale: float = 0.0) -> str:
    """The movement a run is kept and drawn under: ``learned+wm<scale>`` for learned movement with the world
    model's intrinsic reward, else the movement."""
    return f"learned+wm{intrinsic_scale:g}" if movement == "learned" and intrinsic_scale > 0 else movement


def _clear_events(folder: Path) -> None:
    """Remove TensorBoard event files left in ``folder`` by an attempt that did not finish (killed): a run is
    trained afresh, so its curves must not be drawn over the earlier attempt's. Nothing else is touched."""
    if folder.is_dir() and not folder.is_symlink():
        for events in folder.glob("events.out.tfevents.*"):
            if events.is_file() and not events.is_symlink():
                events.unlink()


def train_run(env: str, movement: str = "learned", steps: int = 25_600, seed: int = 0, num_envs: int = 16,
              backbone: str | None = None, init: str = "finetuned", out: str | Path = "runs/active",
              threads: int = 1, progress: bool = True, tensorboard: bool = True,
              agent_config: dict[str, Any] | None = None, intrinsic_scale: float = 0.0) -> dict[str, Any]:
    """Train one agent; returns (and writes to ``<out>/runs/<name>.json``) its curve and accuracy at CHECKPOINTS.

    With ``backbone`` (a seq-JEPA checkpoint), ``env`` defaults to the recognition variant of its world
    (same keywords) and ``init`` says how the glimpse encoder starts: ``"frozen"`` or ``"finetuned"``
    (the checkpoint's encoder), ``"random"`` (a new encoder: the comparison on the same world) or
    ``"random_frozen"`` (a new encoder kept fixed: the floor of ``"frozen"``).
    ``agent_config``: :class:`agents.active.AgentConfig` fields other than ``movement``, over the values
    tuned for ``env`` (``AgentConfig.for_env``); the whole config is kept in the run's JSON.
    ``movement="world_model"`` and ``intrinsic_scale > 0`` (learned movement only; the run is kept as
    ``learned+wm<scale>``) use ``backbone`` as the world model.
    """
    import dataclasses
    import torch
    from agents.active import ActiveAgent, AgentConfig
    fields = {**(agent_config or {}), "movement": movement}
    if movement == "learned" and intrinsic_scale > 0:
        fields["intrinsic_scale"] = intrinsic_scale
    AgentConfig(**fields)  # checked before any checkpoint or env is opened
    if (movement == "world_model" or fields.get("intrinsic_scale", 0) > 0) and backbone is None:
        raise ValueError(f"movement {movement_label(movement, intrinsic_scale)} needs a world model: give backbone "
                         f"(--backbone CKPT)")
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
    label = movement_label(movement, config.intrinsic_scale)
    name = run_name(env, label, seed, init)
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    venv = make_env(env, num_envs, env_kwargs)
    wm = backbone if movement == "world_model" or config.intrinsic_scale > 0 else None
    agent = ActiveAgent(venv, config, seed=seed, world_model=wm, **agent_kwargs)
    if tensorboard:
        _clear_events(out / "tb" / name)  # a run is kept only when it finished: these are a killed attempt's
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
    for closer in (bar, writer, venv):
        if closer is not None:
            closer.close()
    if not curve:  # no episode ended: a run without a curve is not kept (a study could not draw it)
        raise NoEpisodeError(f"--steps {steps} ended no episode of {env} over {num_envs} rows: nothing to keep; "
                         f"raise --steps")
    from envs.storage.files import file_sha256
    result = {"name": name, "env": env, "movement": label, "seed": seed, "init": init, "steps": agent.steps,
              "asked_steps": steps, "num_envs": num_envs, "backbone": backbone,
              "backbone_sha256": file_sha256(backbone) if backbone is not None else None,
              "config": dataclasses.asdict(config), "wall_s": round(time.time() - start, 1),
              "curve": curve,
              "at": {str(c): _at(curve, c) for c in CHECKPOINTS if c <= agent.steps}}
    atomic_write_json(out / "runs" / f"{name}.json", result)
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


def _check_run(run: dict[str, Any], path: Path) -> dict[str, Any]:
    """``run`` (read from ``path``) if it is a run this command wrote; ValueError naming the file otherwise."""
    def number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    types = {"name": str, "env": str, "movement": str, "init": str, "seed": int, "steps": int, "curve": list,
             "at": dict}
    problem = next((f"its {key!r} is not a {kind.__name__}" for key, kind in types.items()
                    if not isinstance(run.get(key), kind) or isinstance(run.get(key), bool)), None)
    if problem is None and run["name"] != path.stem:
        problem = f"it names the run {run['name']!r:.80}"
    if problem is None and not number(run.get("wall_s", 0)):
        problem = "its 'wall_s' is not a number"
    if problem is None and not all(isinstance(p, dict) and all(number(p.get(k)) for k in ("steps", "accuracy", "return"))
                                   for p in run["curve"]):
        problem = "its curve is not a list of {steps, accuracy, return} numbers"
    if problem is None and not all(number(v) for v in run["at"].values()):
        problem = "its 'at' is not a mapping of accuracies"
    if problem is None and not isinstance(run.get("config", {}), dict):
        problem = "its 'config' is not a mapping"
    if problem is not None:
        raise ValueError(f"{path} is not a run of python -m experiments.rl active ({problem}); move it out of "
                         f"{path.parent}")
    return run


def _load(out: str | Path, skip: str | None = None) -> list[dict[str, Any]]:
    """Every run kept under ``<out>/runs`` (but ``skip``, about to be replaced): regular JSON files holding a
    run (a FIFO, link or folder named ``*.json`` is never opened or followed); ValueError naming the file
    otherwise."""
    from experiments.outputs import read_json_object
    folder = Path(out) / "runs"
    if not folder.is_dir():
        return []
    return [_check_run(read_json_object(p, "an active run"), p) for p in sorted(folder.glob("*.json"))
            if p.stem != skip]


def _own_page(path: Path) -> bool | None:
    """None if nothing is at ``path``; True if it is a regular file this command wrote (its first line is
    :data:`PAGE_TITLE`); False otherwise (another file, a link, a FIFO, a folder). A FIFO is never opened."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(len(PAGE_TITLE.encode())) == PAGE_TITLE.encode()
    except OSError:
        return False


def check_out(out: str | Path, name: str | None = None, overwrite: bool = False) -> list[dict[str, Any]]:
    """Check ``--out`` before any env, checkpoint or training; returns the runs kept there.

    The folder can be made; ``runs/`` and ``tb/`` are folders where they exist; ``README.md`` and
    ``curves.png`` are replaced only when this command wrote them (a README whose first line is
    :data:`PAGE_TITLE`, a figure beside it); every kept run file is a regular file holding a run;
    ``runs/<name>.json`` (one run) is replaced only with ``overwrite``.
    """
    from experiments.outputs import check_output_dir
    out = check_output_dir(out, [], True)
    for sub in ("runs", "tb") + ((f"tb/{name}",) if name else ()):
        path = out / sub
        if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
            raise NotADirectoryError(f"--out {out} holds {sub}, which is not a folder (this command keeps its "
                                     f"runs and logs there); choose another --out")
    page = _own_page(out / "README.md")
    if page is False:
        raise FileExistsError(f"--out {out} holds a README.md this command did not write (it never replaces one); "
                              f"choose another --out")
    figure = out / "curves.png"
    if os.path.lexists(figure) and (page is not True or figure.is_symlink() or not figure.is_file()):
        raise FileExistsError(f"--out {out} holds a curves.png this command did not write (no page of its own beside "
                              f"it; it never replaces one); choose another --out")
    if name is not None:
        check_output_dir(out, [f"runs/{name}.json"], overwrite, hint="pass --overwrite to replace it")
    return _load(out, skip=name)


def _groups(runs: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["env"], r["movement"], r["init"]), []).append(r)
    return groups


def _mean_std(runs: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    runs = [r for r in runs if r["curve"]] or runs
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
    lines = [f"{PAGE_TITLE}{title}\n",
             f"Command: `{command}`\n", "| env | movement | init | seeds | " +
             " | ".join(f"acc @ {c // 1000 if c % 1000 == 0 else c / 1000}k" for c in CHECKPOINTS) +
             " | final acc | wall s/run |", "|" + "---|" * (6 + len(CHECKPOINTS))]
    single = False  # a curve of one point: a line through it draws nothing, so it gets a marker
    for (env, movement, init), runs in sorted(groups.items()):
        for ax, key in zip(axes, ("accuracy", "return")):
            if not any(r["curve"] for r in runs):
                continue  # no episode ended (a run kept by an earlier version): nothing to draw
            steps, mean, std = _mean_std(runs, key)
            label = f"{movement}, {init} encoder" if runs[0].get("backbone") else movement
            single |= len(steps) == 1
            (line,) = ax.plot(steps, mean, marker="o" if len(steps) == 1 else None,
                              label=f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
            if len(steps) == 1:
                ax.errorbar(steps, mean, yerr=std, fmt="none", color=line.get_color(), capsize=4)
            else:
                ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
            ax.set_xlabel("environment steps")
            ax.set_ylabel(f"{key} (mean ± std over seeds)")
        cells = []
        for c in CHECKPOINTS:
            vals = [r["at"][str(c)] for r in runs if str(c) in r["at"]]
            cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "-")
        final = [r["curve"][-1]["accuracy"] for r in runs if r["curve"]]
        final_cell = f"{np.mean(final):.3f} ± {np.std(final):.3f}" if final else "-"
        lines.append(f"| {env} | {movement} | {init} | {len(runs)} | " + " | ".join(cells) +
                     f" | {final_cell} | {np.mean([r.get('wall_s', 0) for r in runs]):.0f} |")
    for env in sorted({k[0] for k in groups}):
        for (name, values), marker in zip(APPLE.get(env, {}).items(), itertools.cycle("xDs^")):
            known = [(c, v) for c, v in zip(CHECKPOINTS, values) if v is not None]
            axes[0].plot(*zip(*known), marker, color="black", linestyle="none", label=f"{name} (published)")
            lines.append(f"| {env} | {name} (paper) | - | - | " +
                         " | ".join("-" if v is None else f"{v:.2f}" for v in values) + " | - | - |")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    lines.append("\n![curves](curves.png)\n\nAccuracy: the final prediction's, over the training episodes that "
                 f"ended in each window of {WINDOW} env steps (the learned movement samples from its policy)." +
                 (" A curve of a single point (a run too short for a second window) is drawn as a marker with "
                  "its ± std bar." if single else ""))
    page = out / "README.md"
    own = _own_page(page)
    if own is False or (os.path.lexists(out / "curves.png") and own is None):
        plt.close(fig)
        check_out(out)  # raises, naming the file this command did not write
    kept = page.read_text(encoding="utf-8").partition(ANALYSIS)[2] if own else ""
    text = "\n".join(lines) + "\n" + (ANALYSIS + kept if kept else "")
    atomic_write(page, lambda fh: fh.write(text.encode("utf-8")))  # the page first: it marks the figure as ours
    atomic_write(out / "curves.png", lambda fh: fig.savefig(fh, dpi=100, format="png"))
    plt.close(fig)
    return page


_COMMON_HELP = ("Each step the agent moves its glimpse and predicts the class; the learned movement is trained "
                "with SAC, the fixed movements (random, still, saliency, world_model) train the same recognition head "
                "without it. ap_gym ids such as CircleSquare-v0 need the rl extra (pip install -c constraints.txt -e "
                "\".[rl]\").")
ACTIVE_DESCRIPTION = ("Train the active-recognition agent (agents.active) in ap_gym's protocol: one run, one movement "
                      "and one seed. " + _COMMON_HELP + " The run is kept as <out>/runs/<name>.json (TensorBoard "
                      "events in <out>/tb/<name>); then the results page <out>/README.md and <out>/curves.png are "
                      "redrawn from every run kept in --out.")
STUDY_DESCRIPTION = ("Run the active-recognition study: learned movement against fixed movements with the same "
                     "learned head, over seeds; with --backbone, the encoder starts of --inits side by side. "
                     + _COMMON_HELP + " Resumable: each finished run is kept as <out>/runs/<name>.json and skipped "
                     "next time, and a kept run trained with other settings is refused. Then <out>/curves.png "
                     "(accuracy and return against env steps, mean ± std over seeds) and <out>/README.md (accuracy "
                     "at 25.6k / 61k / 128k steps beside APPLE's, and the command).")
ACTIVE_EPILOG = """examples:
  python -m experiments.rl active --env CircleSquare-v0 --movement learned --steps 25600 --seed 0
  python -m experiments.rl active --env Saccade-Shapes-Classify-v0 --movement saliency --seed 1
  python -m experiments.rl active --backbone runs/NAME/ckpt_last.pt --init frozen   # on the checkpoint's world
"""
STUDY_EPILOG = """examples:
  python -m experiments.rl active-study --env Saccade-Shapes-Classify-v0 --seeds 0 1 2 --steps 128000
  python -m experiments.rl active-study --backbone runs/NAME/ckpt_last.pt --movements learned random
  python -m experiments.rl active-study --backbone runs/NAME/ckpt_last.pt --inits random --movements world_model random saliency
  python -m experiments.rl active-study --backbone runs/NAME/ckpt_last.pt --inits random --movements learned --intrinsic-reward world_model
"""


def _parser(study: bool) -> argparse.ArgumentParser:
    from agents.active.agent import WM_SCORES
    from experiments.cliconfig import Parser
    p = Parser(f"python -m experiments.rl {'active-study' if study else 'active'}",
               description=STUDY_DESCRIPTION if study else ACTIVE_DESCRIPTION,
               epilog=STUDY_EPILOG if study else ACTIVE_EPILOG)
    p.add_argument("--env", default=None, help="recognition id (default: the backbone's world, else CircleSquare-v0)")
    p.add_argument("--steps", type=int, default=25_600, help="env transitions per run")
    p.add_argument("--num-envs", type=int, default=16, help="rows of the vector env")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_output("--out", default="runs/active", help="folder of runs/<name>.json, tb/, curves.png and README.md")
    p.add_argument("--backbone", default=None,
                   help="seq-JEPA checkpoint (a file saccade-pretrain wrote) whose encoder reads the glimpses; "
                        "--env then defaults to the recognition variant of its training world; also the world model "
                        "of the movement world_model and of --intrinsic-reward")
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
    wm = p.add_argument_group("world model", "the --backbone checkpoint as a policy (movement world_model, "
                              "agents.world_model) and as an intrinsic reward for the learned movement")
    p.add_choice("--wm-score", WM_SCORES, group=wm,
                 help="movement world_model: novelty (distance of the predicted next latent from the nearest seen) "
                         "or disagreement (its spread over MC-dropout passes); default novelty")
    wm.add_argument("--wm-candidates", type=int, default=None,
                    help="movement world_model: K candidate saccades per step; default 16")
    p.add_choice("--wm-layout", ("grid", "sample"), group=wm,
                 help="movement world_model: a grid of landing points inside the fixation bounds or K uniform "
                         "draws; default grid")
    p.add_choice("--intrinsic-reward", ("none", "world_model"), default="none", group=wm,
                 help="learned movement: add the world model's prediction error of the glimpse each move reached "
                         "to SAC's reward (runs kept as learned+wm<scale>)")
    wm.add_argument("--intrinsic-scale", type=float, default=0.1,
                    help="weight of that error (1 - cosine, in [0, 2]) in SAC's reward")
    if study:
        p.add_seeds(default=[0, 1, 2],
                    help="seeds to run, each with every movement (and init)")
        p.add_argument("--movements", nargs="+", default=["learned", "random", "still", "saliency"],
                       help="movements to compare: learned (SAC), random, still, saliency (the saccade worlds' "
                            "saliency-IoR scanpaths; skipped on other ids), world_model (the --backbone checkpoint "
                            "chooses the saccades)")
        p.add_choice("--inits", INITS, default=list(INITS), nargs="+",
                     help="with --backbone: encoder starts to compare (on the checkpoint's world)")
    else:
        p.add_choice("--init", INITS, default="finetuned",
                     help="with --backbone: its encoder trained with the head (finetuned) or fixed (frozen), or "
                            "a new encoder of its architecture, trained (random) or fixed (random_frozen)")
        p.add_argument("--movement", default="learned",
                       help="learned (SAC), random, still, saliency (the saccade worlds' saliency-IoR scanpaths) or "
                            "world_model (the --backbone checkpoint chooses the saccades)")
        p.add_seed(help="seed of the run (env, agent and torch)")
        p.add_overwrite("replace a kept run of the same name")
    return p


def _check_args(args: argparse.Namespace, study: bool) -> tuple[str | None, dict[str, Any] | None]:
    """Check every argument before any env, run or training: the env id to run (None: the backbone's world)
    and the backbone's world (``check_backbone``; None without one)."""
    from checks import check_choice, check_int, check_real, check_seed
    from agents.active import MOVEMENTS
    check_int("--steps", args.steps, lo=1)
    check_int("--steps", args.steps, 1, MAX_STEPS)
    check_int("--num-envs", args.num_envs, lo=1)
    check_int("--num-envs", args.num_envs, 1, MAX_NUM_ENVS)
    check_int("--threads", args.threads, lo=1)
    check_int("--threads", args.threads, 1, MAX_THREADS)
    seeds = args.seeds if study else [args.seed]
    movements = args.movements if study else [args.movement]
    for seed in seeds:
        check_seed(seed, "--seeds" if study else "--seed")
        check_int("--seeds" if study else "--seed", seed, 0, MAX_SEED)
    for movement in movements:
        check_choice("--movements" if study else "--movement", movement, MOVEMENTS)
    flag = "--movements" if study else "--movement"
    if "world_model" in movements and args.backbone is None:
        raise ValueError(f"{flag} world_model needs --backbone CKPT (the seq-JEPA checkpoint that chooses the "
                         f"saccades, on the recognition variant of its world)")
    if args.intrinsic_reward != "none":
        check_real("--intrinsic-scale", args.intrinsic_scale, 0.0, 1e6, lo_open=True)
        if args.backbone is None:
            raise ValueError("--intrinsic-reward world_model needs --backbone CKPT (the world model whose prediction "
                             "error is the reward)")
        if "learned" not in movements:
            raise ValueError(f"--intrinsic-reward world_model rewards the learned movement: add learned to {flag}")
    env = args.env or (None if args.backbone else "CircleSquare-v0")
    if env is not None:
        check_recognition_id(env, "--env")
        if not study and args.movement == "saliency" and not _saccade_world(env):
            raise ValueError(f"--movement saliency needs one of our saccade recognition ids (a saliency map), "
                             f"got --env {env}")
    world = None
    if args.backbone is not None:
        if not Path(args.backbone).expanduser().is_file():
            raise FileNotFoundError(f"--backbone {args.backbone} is not a checkpoint file")
        world = check_backbone(args.backbone, args.env)
        env = world["env"]
    length = episode_steps(env, world["env_kwargs"] if world else None) or 1  # unknown: at least one step
    if args.steps < length * args.num_envs:
        raise ValueError(f"--steps {args.steps} ends no episode: {env}'s episodes last {length} steps on each of "
                         f"--num-envs {args.num_envs} rows; give at least {length * args.num_envs}")
    return env, world


SAC_ONLY = ("gamma", "lr", "policy_updates")  # agent settings that only learned movement uses
WM_ONLY = ("wm_score", "wm_candidates", "wm_layout")  # agent settings that only the world_model movement uses
# the AgentConfig fields the CLI sets
AGENT_FLAGS = ("policy_updates", "updates_per_step", "batch_transitions", "gamma", "lr")


def _agent_config(args: argparse.Namespace, env: str) -> dict[str, Any]:
    """The ``AgentConfig`` fields the CLI sets (AGENT_FLAGS): the flags given, else the values tuned for ``env``,
    else the defaults; checked by ``AgentConfig`` itself (errors name the flag)."""
    import dataclasses
    from agents.active import AgentConfig
    movements = args.movements if hasattr(args, "movements") else [args.movement]
    flags = AGENT_FLAGS + (WM_ONLY if "world_model" in movements else ())  # the world model's: only where it moves
    unused = [flag_of(f) for f in WM_ONLY if f not in flags and getattr(args, f) is not None]
    if unused:
        raise ValueError(f"{unused[0]} sets the movement world_model, which is not asked for")
    given = {field: getattr(args, field) for field in flags if getattr(args, field) is not None}
    try:
        config = AgentConfig.for_env(env, **given)
    except ValueError as exc:  # CheckTypeError is a ValueError too
        raise type(exc)(name_flag(exc, flags)) from None
    return {field: value for field, value in dataclasses.asdict(config).items() if field in flags}


def _check_kept_runs(out: Path, agent_config: dict[str, Any], settings: dict[str, Any] | None = None,
                     replacing: str | None = None, runs: list[dict[str, Any]] | None = None) -> None:
    """ValueError if a run kept under ``out`` (other than ``replacing``) was trained with other settings: other
    ``agent_config`` values, or (``settings``) another ``env``, ``steps``, ``num_envs`` or ``backbone_sha256``;
    one page must not pool runs made differently. SAC's settings are not compared for fixed movements."""
    for run in _load(out) if runs is None else runs:
        if run["name"] == replacing:
            continue
        kept = run.get("config", {})
        movement = str(run.get("movement"))
        ignored = (() if movement.startswith("learned") else SAC_ONLY) + \
            (() if movement == "world_model" else WM_ONLY)  # a fixed movement never ran SAC, nor the world model
        differ = {flag_of(k): (kept[k], v) for k, v in agent_config.items()
                  if k in kept and kept[k] != v and k not in ignored}
        if settings is not None:
            differ.update(_other_settings(run, settings))
        if differ:
            raise ValueError(f"--out {out} keeps {run['name']}, trained with " +
                             ", ".join(f"{flag} {old} (asked: {new})" for flag, (old, new) in differ.items())
                             + "; resume it with the same settings or choose another --out")


def _other_settings(run: dict[str, Any], settings: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The flags whose value ``run`` was trained with differs from ``settings`` (``env``, ``steps``,
    ``num_envs``, ``backbone_sha256``); a run kept by an earlier version is compared on what it recorded."""
    differ: dict[str, tuple[Any, Any]] = {}
    if run["env"] != settings["env"]:
        differ["--env"] = (run["env"], settings["env"])
    asked, rows = settings["steps"], settings["num_envs"]
    if "asked_steps" in run:
        if run["asked_steps"] != asked:
            differ["--steps"] = (run["asked_steps"], asked)
    elif not asked <= run["steps"] < asked + rows:  # an earlier version kept the steps made (asked, rounded up)
        differ["--steps"] = (run["steps"], asked)
    if "num_envs" in run and run["num_envs"] != rows:
        differ["--num-envs"] = (run["num_envs"], rows)
    backbone = settings.get("backbone_sha256")
    if "backbone_sha256" in run:
        if run["backbone_sha256"] != backbone:
            differ["--backbone"] = (_short(run["backbone_sha256"]), _short(backbone))
    elif bool(run.get("backbone")) != bool(backbone):
        differ["--backbone"] = (run.get("backbone"), "a checkpoint" if backbone else None)
    return differ


def _short(digest: str | None) -> str:
    return "none" if digest is None else f"a checkpoint of SHA-256 {digest[:12]}"


def main(argv: Sequence[str] | None = None, study: bool = False) -> int:
    """CLI of one run (``active``) or of the study (``active-study``); bad arguments exit 2 with one line."""
    from checks.extras import MissingExtraError
    from experiments.outputs import USER_ERRORS
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(study)
    args = parser.parse_args(argv)
    with parser.user_errors((*USER_ERRORS, MissingExtraError)):
        env, world = _check_args(args, study)
        init = "random" if study else args.init
        intrinsic = args.intrinsic_scale if args.intrinsic_reward == "world_model" else 0.0
        name = None if study else run_name(env, movement_label(args.movement, intrinsic), args.seed,
                                           init if args.backbone else "random")
        kept = check_out(args.out, name, False if study else args.overwrite)
        agent_config = _agent_config(args, env)
        settings = {"env": env, "steps": args.steps, "num_envs": args.num_envs,
                    "backbone_sha256": world["sha256"] if world else None}
        _check_kept_runs(Path(args.out), agent_config, settings, replacing=name, runs=kept)
    common = dict(steps=args.steps, num_envs=args.num_envs, backbone=args.backbone, out=args.out,
                  threads=args.threads, agent_config=agent_config, intrinsic_scale=intrinsic)
    try:
        if not study:
            result = train_run(env, args.movement, seed=args.seed, init=init, **common)
            print(json.dumps({k: result[k] for k in ("name", "steps", "wall_s", "at")}))
        else:
            done = {r["name"] for r in kept}
            inits = args.inits if args.backbone is not None else ["random"]
            for seed, movement, init in dict.fromkeys(itertools.product(args.seeds, args.movements, inits)):
                if run_name(env, movement_label(movement, intrinsic), seed, init) in done:
                    continue  # resumable: a kept run is not trained again (a repeated seed or movement: once)
                if movement == "saliency" and not _saccade_world(env):
                    continue  # no priority map outside the saccade worlds
                train_run(env, movement, seed=seed, init=init, **common)
    except NoEpisodeError as exc:  # an episode longer than the registration says: nothing was kept
        parser.exit_error(exc)
    page = write_results(args.out, "python -m experiments.rl " + ("active-study " if study else "active ") +
                         shlex.join(argv))
    print(f"results: {page}")
    return 0
