"""The SB3 study: Stable-Baselines3's PPO and RecurrentPPO (the reference agents) against fixed
baselines, over seeds, within a CPU budget.

Tasks (``TASKS``): ``classify`` (``Saccade-Shapes-Classify-v0``: active recognition on the
shortcut-free "shapes" scenes: move the eye and name the class; reward = log-probability of the
true class per step) and ``home`` (``PathIntegration-Home-v0``: the env leads the retina out,
the agent must bring it back; reward = approach to the start per step). Every learner sees the env
through ``envs.wrappers.observation.sb3_ready`` (channel-first glimpses, position, time) with
``agents.sb3.GlimpseExtractor``. Baselines: ``random`` (uniform actions) and, per task, the
saliency-IoR agent with uniform class scores (``classify``) or standing still and the
dead-reckoning oracle that sums ``last_action`` and heads home (``home``).

    python -m experiments.rl --tasks classify home --seeds 0 1 2 --steps 30000 --out docs/results/rl --overwrite

An --out folder holding an earlier study is refused unless --overwrite is given.

Writes ``results.json`` (every evaluation of every run), ``README.md`` (the final table: mean ±
std over seeds of the evaluation return, and the final accuracy for ``classify``) and
``curves.png`` (evaluation return against training steps, one line per learner, the baselines
as bands), atomically.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from experiments.cliconfig import Parser
from checks.extras import MissingExtraError, check_extra, install_hint
from experiments.outputs import USER_ERRORS, check_output_dir

__all__ = ["RLConfig", "TASKS", "main", "evaluate_policy", "baseline_policies"]

TASKS: dict[str, tuple[str, dict[str, Any]]] = {  # registered variants (their keywords are in the spec)
    "classify": ("Saccade-Shapes-Classify-v0", dict(n_train=2000)),
    "home": ("PathIntegration-Home-v0", dict(n_worlds=16)),
}
LEARNERS = ("ppo", "recurrent_ppo")
DESCRIPTION = ("Reference agents: PPO and RecurrentPPO (Stable-Baselines3) against fixed baselines (random, "
               "saliency-IoR, standing still, dead reckoning) on the classify and home tasks, over seeds, within "
               "a CPU budget. Writes results.json, README.md and curves.png to --out. Needs the rl extra "
               f"({install_hint('rl')}).")
EPILOG = """subcommands (each with its own --help):
  python -m experiments.rl active ...        one run of the active-recognition agent (agents.active)
                                             in ap_gym's protocol: learned or fixed movement, one seed
  python -m experiments.rl active-study ...  learned movement against random, still and saliency-IoR
                                             movement with the same head, over seeds (resumable),
                                             with curves and a results page

examples:
  python -m experiments.rl --tasks classify home --seeds 0 1 2 --steps 30000 --out rl_results
  python -m experiments.rl active --env CircleSquare-v0 --steps 25600
  python -m experiments.rl active-study --env Saccade-Shapes-Classify-v0 --seeds 0 1 2 --steps 128000
"""


@dataclass
class RLConfig:
    """Settings of the reference-agent study."""

    tasks: tuple[str, ...] = field(default=("classify", "home"), metadata={"help": f"some of {tuple(TASKS)}"})
    learners: tuple[str, ...] = field(default=LEARNERS, metadata={"help": f"some of {LEARNERS}"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "distinct ints in [0, 2**31)"})
    steps: int = field(default=30_000, metadata={"help": "environment steps per learner run"})
    eval_every: int = field(default=5_000, metadata={"help": "steps between evaluations"})
    eval_episodes: int = field(default=100, metadata={"help": "episodes per evaluation"})
    n_envs: int = field(default=4, metadata={"help": "envs stepped together"})
    root: str | None = field(default=None, metadata={"help": "data folder ($SACCADE_DATA or ~/.cache/saccade)"})
    out: str = field(default="rl_results", metadata={"help": "study folder (results.json, README.md, curves.png)"})
    env_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def make_env(task: str, config: RLConfig, seed_offset: int = 0) -> gym.Env:
    """The task's env, wrapped for SB3 (channel-first glimpses, position, time)."""
    from envs.wrappers.observation import sb3_ready  # importing envs registers the ids

    env_id, kwargs = TASKS[task]
    kwargs = {**kwargs, **config.env_overrides.get(task, {})}
    import envs

    if config.root is not None and "root" in envs.env_keywords(env_id):
        kwargs["root"] = config.root
    return sb3_ready(gym.make(env_id, **kwargs), min_size=1)


def evaluate_policy(env: gym.Env, act: Callable[[dict, dict, Any], tuple[np.ndarray, Any]], episodes: int,
                    seed: int) -> dict[str, float]:
    """Mean return (and final accuracy where the env reports it) of ``act(obs, info, state) -> (action,
    state)`` over ``episodes`` episodes seeded ``seed, seed + 1, ...``."""
    returns, accuracy = [], []
    for k in range(episodes):
        obs, info = env.reset(seed=seed + k)
        state, total, done = None, 0.0, False
        while not done:
            action, state = act(obs, info, state)
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        if "accuracy" in info:
            accuracy.append(float(info["accuracy"]))
    out = {"return": float(np.mean(returns))}
    if accuracy:
        out["accuracy"] = float(np.mean(accuracy))
    return out


def baseline_policies(task: str, env: gym.Env, seed: int) -> dict[str, Callable]:
    """The fixed agents of ``task``: name -> ``act(obs, info, state)``."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    policies: dict[str, Callable] = {"random": lambda o, i, s: (rng.uniform(-1, 1, space.shape).astype(np.float32), s)}
    if task == "classify":
        from agents import SaliencyAgent

        agent = SaliencyAgent(seed=seed)
        scores = np.zeros(space.shape[0] - 2, np.float32)  # uniform class scores: looking without naming

        def saliency(obs, info, state):
            return np.concatenate([agent.act(obs, info), scores]).astype(np.float32), state

        policies["saliency"] = saliency
    if task == "home":
        world = env.unwrapped.world
        policies["stand_still"] = lambda o, i, s: (np.zeros(2, np.float32), s)

        def dead_reckoning(obs, info, state):  # sums the reported moves, then heads back
            total = np.zeros(2) if info["step"] == 0 else state
            total = total + obs["last_action"]
            action = np.clip(-total / world.max_step, -1, 1).astype(np.float32)
            return action, total

        policies["dead_reckoning"] = dead_reckoning
    return policies


def _learner(name: str, env: gym.Env, seed: int) -> Any:
    from agents.sb3 import GlimpseExtractor

    kwargs = dict(policy_kwargs={"features_extractor_class": GlimpseExtractor}, seed=seed, device="cpu", verbose=0,
                  n_steps=256, batch_size=256, learning_rate=3e-4, ent_coef=0.01)
    if name == "ppo":
        from stable_baselines3 import PPO

        return PPO("MultiInputPolicy", env, **kwargs)
    from sb3_contrib import RecurrentPPO

    return RecurrentPPO("MultiInputLstmPolicy", env, **kwargs)


def run_learner(task: str, name: str, seed: int, config: RLConfig) -> list[dict[str, float]]:
    """Train ``name`` on ``task`` with ``seed``; evaluate every ``eval_every`` steps (step 0 included)."""
    import torch
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    vec = make_vec_env(lambda: make_env(task, config), n_envs=config.n_envs, seed=seed)
    model = _learner(name, vec, seed)
    test_env = make_env(task, config)
    curve = []

    def act(obs, info, state):
        episode_start = np.array([info["step"] == 0])
        action, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=True)
        return action, state

    done_steps = 0
    while True:
        curve.append({"steps": done_steps, **evaluate_policy(test_env, act, config.eval_episodes, seed=10_000)})
        if done_steps >= config.steps:
            break
        chunk = min(config.eval_every, config.steps - done_steps)
        model.learn(chunk, reset_num_timesteps=False)
        done_steps += chunk
    vec.close()
    return curve


def _write_atomic(path: Path, text: str | bytes) -> None:
    from envs.storage.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    atomic_write(path, lambda fh: fh.write(data))


def summary_table(results: dict[str, Any]) -> str:
    """Markdown: per task, every agent's final evaluation return (and accuracy), mean ± std over seeds."""
    lines = []
    for task, rows in results["tasks"].items():
        lines += [f"### {task} (`{TASKS[task][0]}`)", "", "| agent | return | accuracy | seeds |", "|---|---|---|---|"]
        for agent, runs in rows.items():
            finals = [run[-1] for run in runs.values()]
            ret = np.array([f["return"] for f in finals])
            acc = [f["accuracy"] for f in finals if "accuracy" in f]
            acc_text = f"{np.mean(acc):.3f} ± {np.std(acc):.3f}" if acc else "-"
            lines.append(f"| {agent} | {ret.mean():.3f} ± {ret.std():.3f} | {acc_text} | {len(finals)} |")
        lines.append("")
    return "\n".join(lines)


def plot_curves(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results["tasks"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for k, (agent, runs) in enumerate(results["tasks"][task].items()):
            color = f"C{k}"
            curves = list(runs.values())
            steps = [p["steps"] for p in curves[0]]
            values = np.array([[p["return"] for p in c] for c in curves])
            if len(steps) == 1:  # a fixed baseline: a band over the whole axis
                ax.axhspan(values.mean() - values.std(), values.mean() + values.std(), color=color, alpha=0.15)
                ax.axhline(values.mean(), ls="--", lw=1, color=color, label=agent)
            else:
                ax.plot(steps, values.mean(0), marker="o", color=color, label=agent)
                ax.fill_between(steps, values.mean(0) - values.std(0), values.mean(0) + values.std(0), color=color,
                                alpha=0.2)
        ax.set_title(f"{task}: evaluation return (mean ± std over seeds)")
        ax.set_xlabel("training steps")
        ax.legend(fontsize=8)
    fig.tight_layout()
    from envs.storage.files import atomic_write

    atomic_write(path, lambda fh: fig.savefig(fh, dpi=110, format="png"))
    plt.close(fig)


OUTPUTS = ("results.json", "README.md", "curves.png")  # what a study writes into its --out folder
_FIELDS = ("tasks", "learners", "seeds", "steps", "eval_every", "eval_episodes", "n_envs", "root")  # = the flags


def check_config(config: RLConfig, overwrite: bool = False) -> Path:
    """Check ``config`` and its output folder before any env is made or learner trained; return the folder.

    Raises:
        ValueError: an unknown task or learner, a seed that is not an int >= 0, a budget < 1.
        NotADirectoryError: ``config.out`` is (or lies inside) a file; ``config.root`` is not a folder.
        FileExistsError: ``config.out`` holds an earlier study and ``overwrite`` is False.
        checks.extras.MissingExtraError: stable-baselines3 (or sb3-contrib for
            ``recurrent_ppo``) is not installed (the ``rl`` extra).
    """
    for name, values, allowed in (("tasks", config.tasks, tuple(TASKS)), ("learners", config.learners, LEARNERS)):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise ValueError(f"{name} must be a non-empty selection of {allowed}, got {list(values)!r}")
    bad_seeds = [s for s in config.seeds if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 31]
    if bad_seeds or not config.seeds or len(set(config.seeds)) != len(config.seeds):
        raise ValueError(f"seeds must be distinct ints in [0, 2**31), got {list(config.seeds)!r}")
    for name in ("steps", "eval_every", "eval_episodes", "n_envs"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if config.root is not None:  # the data root is read (and its cache written below it): never made here
        from experiments.outputs import check_name_lengths
        root = check_name_lengths(Path(config.root).expanduser(), "root")
        if not root.is_dir():
            raise NotADirectoryError(f"root {config.root} is not a folder (give the data folder that exists, or "
                                     f"leave --root out for $SACCADE_DATA or ~/.cache/saccade)")
    check_extra("stable_baselines3", *(["sb3_contrib"] if "recurrent_ppo" in config.learners else []),
                what="python -m experiments.rl (the reference agents)")
    return check_output_dir(config.out, OUTPUTS, overwrite,
                            hint="pass --overwrite to replace them, or give another --out")


def main(config: RLConfig, overwrite: bool = False) -> dict[str, Any]:
    """Run every learner and baseline on every task and seed; write the results; return them.

    The config and the output folder are checked first (:func:`check_config`): a folder holding
    an earlier study is refused unless ``overwrite``.
    """
    from tqdm import tqdm

    out = check_config(config, overwrite)
    results: dict[str, Any] = {"config": asdict(config), "tasks": {}}
    jobs = [(t, a, s) for t in config.tasks for a in config.learners for s in config.seeds]
    started = time.time()
    for task in config.tasks:
        rows: dict[str, dict[str, list]] = {}
        env = make_env(task, config)
        for seed in config.seeds:
            for name, act in baseline_policies(task, env, seed).items():
                rows.setdefault(name, {})[str(seed)] = [
                    {"steps": 0, **evaluate_policy(env, act, config.eval_episodes, seed=10_000)}]
        results["tasks"][task] = rows
    for task, name, seed in tqdm(jobs, desc="reference agents", unit="run"):
        results["tasks"][task].setdefault(name, {})[str(seed)] = run_learner(task, name, seed, config)
        _write_atomic(out / "results.json", json.dumps(results, indent=1))
    results["wall_s"] = time.time() - started
    _write_atomic(out / "results.json", json.dumps(results, indent=1))
    table = summary_table(results)
    _write_atomic(out / "README.md", "# Reference agents\n\n" + table + "\n")
    plot_curves(results, out / "curves.png")
    print(table)
    return results


def cli(argv: list[str] | None = None) -> dict[str, Any]:
    parser = Parser("python -m experiments.rl", description=DESCRIPTION, epilog=EPILOG)
    parser.add_config_flags(RLConfig)
    parser.add_overwrite("replace the results of an earlier study in --out")
    args = parser.parse_args(argv)
    config = parser.config_from_flags(RLConfig, args)
    with parser.user_errors((*USER_ERRORS, MissingExtraError), fields=_FIELDS):  # the flag, not the config field
        check_config(config, args.overwrite)
    return main(config, args.overwrite)


if __name__ == "__main__":
    cli()
