"""Cost per step of the world-model agent (``agents.world_model``) against saliency-IoR, measured in the same run.

Times ``agent.act(obs, info)`` only (the env's own step is timed apart, for scale), after a warm-up episode,
median over repeats, on one env (``WorldModelAgent`` vs ``SaliencyAgent``) and on a native vector env of
``--rows`` rows (``BatchedWorldModelAgent`` vs ``BatchedSaliencyAgent``), for every score, K candidates each.
The model: ``--checkpoint`` (its world), else a new seq-JEPA with the architecture of the ``scenes_cpu`` preset
(random weights cost what trained ones do) on ``--env``. Prints a table of microseconds per step and the ratio
world model / saliency.

    python -m experiments.benchmarks.bench_world_model_agent                 # 64 rows, K = 16
    python -m experiments.benchmarks.bench_world_model_agent --quick         # a smoke run (seconds)
    python -m experiments.benchmarks.bench_world_model_agent --checkpoint runs/NAME/ckpt_last.pt
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import numpy as np

from experiments.cliconfig import Parser

__all__ = ["run", "cli", "tiny_model_for"]

SCORES = ("novelty", "disagreement", "entropy")


def tiny_model_for(env: Any, seed: int = 0, **arch: Any) -> tuple[Any, None]:
    """A new seq-JEPA for ``env``'s glimpses (the ``scenes_cpu`` preset's architecture unless ``arch`` says
    otherwise) with neutral input statistics: ``(model, None)`` (no metadata: the agent compares sizes only)."""
    import torch
    from seqjepa import SeqJEPA, SeqJEPAConfig
    world = env.unwrapped.world if hasattr(env, "unwrapped") and hasattr(env.unwrapped, "world") else env.world
    s, _, _, c = world.glimpse_shape
    values = dict(in_channels=s * c, action_dim=world.transform_dim, encoder="convnet", embed_dim=64,
                  action_embed_dim=32, agg_heads=4, agg_layers=1, agg_ffn=192, dropout=0.1, pred_hidden=128)
    torch.manual_seed(seed)
    model = SeqJEPA(SeqJEPAConfig(**{**values, **arch})).eval()
    model.set_input_stats([0.45] * (s * c), [0.25] * (s * c))
    return model, None


def _time_acts(agent: Any, env: Any, steps: int, repeats: int, seed: int, vector: bool) -> float:
    """Median over ``repeats`` of seconds per ``agent.act`` call (env steps between calls not timed)."""
    obs, info = env.reset(seed=seed)
    agent.reset(seed=seed)

    def one() -> float:
        nonlocal obs, info
        start = time.perf_counter()
        action = agent.act(obs, info)
        spent = time.perf_counter() - start
        obs, _, terminated, truncated, info = env.step(action)
        if not vector and (terminated or truncated):
            obs, info = env.reset()
            agent.reset()
        return spent

    for _ in range(env.unwrapped.world.max_steps + 1):  # warm-up: one episode
        one()
    return statistics.median(sum(one() for _ in range(steps)) / steps for _ in range(repeats))


def _time_env(env: Any, action: Callable[[], Any], steps: int, seed: int, vector: bool) -> float:
    """Seconds per env step (the scale the agents' costs are read against)."""
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(action())
        if not vector and (terminated or truncated):
            env.reset()
    return (time.perf_counter() - start) / steps


def run(env_id: str = "Saccade-Shapes-v0", env_kwargs: dict[str, Any] | None = None, rows: int = 64, k: int = 16,
        steps: int = 40, repeats: int = 3, checkpoint: str | None = None, scores: tuple[str, ...] = SCORES,
        threads: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """Rows of ``{"mode", "rows", "agent", "us_per_step", "us_per_row", "ratio"}`` (ratio: to saliency-IoR's)."""
    import gymnasium as gym
    import torch

    import envs  # noqa: F401 - registers the ids
    from agents import BatchedSaliencyAgent, SaliencyAgent
    from agents.world_model import BatchedWorldModelAgent, WorldModelAgent
    from seqjepa import load_pretrained

    torch.set_num_threads(threads)
    kwargs = dict(env_kwargs or {})
    if checkpoint is not None:
        model, meta = load_pretrained(checkpoint)
        env_id, kwargs = meta["env_id"], {**meta["env_kwargs"], **kwargs}
    single = gym.make(env_id, **kwargs)
    venv = gym.make_vec(env_id, rows, **kwargs)
    if checkpoint is None:
        model, meta = tiny_model_for(venv, seed)
    head = torch.nn.Linear(model.config.agg_dim, 10)
    out: list[dict[str, Any]] = []
    for mode, env, n in (("single", single, 1), ("batched", venv, rows)):
        vector = mode == "batched"
        space = env.action_space
        space.seed(seed)
        env_s = _time_env(env, space.sample, steps, seed, vector)
        base = BatchedSaliencyAgent(world=venv.world) if vector else SaliencyAgent()
        base_s = _time_acts(base, env, steps, repeats, seed, vector)
        out.append({"mode": mode, "rows": n, "agent": "env.step (for scale)", "us_per_step": env_s * 1e6,
                    "us_per_row": env_s * 1e6 / n, "ratio": env_s / base_s})
        out.append({"mode": mode, "rows": n, "agent": "saliency-IoR", "us_per_step": base_s * 1e6,
                    "us_per_row": base_s * 1e6 / n, "ratio": 1.0})
        for score in scores:
            cls = BatchedWorldModelAgent if vector else WorldModelAgent
            agent = cls(model, env, k=k, score=score, head=head if score == "entropy" else None, meta=meta,
                        seed=seed)
            spent = _time_acts(agent, env, steps, repeats, seed, vector)
            out.append({"mode": mode, "rows": n, "agent": f"world model, {score}, K={k}", "us_per_step": spent * 1e6,
                        "us_per_row": spent * 1e6 / n, "ratio": spent / base_s})
    single.close()
    venv.close()
    return out


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = ["| mode | rows | agent | us / step | us / row | / saliency-IoR |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['mode']} | {r['rows']} | {r['agent']} | {r['us_per_step']:,.0f} | "
                     f"{r['us_per_row']:,.1f} | {r['ratio']:.1f}x |")
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> None:
    parser = Parser("python -m experiments.benchmarks.bench_world_model_agent", description=__doc__)
    parser.add_argument("--env", default="Saccade-Shapes-v0", help="saccade id (without --checkpoint)")
    parser.add_argument("--checkpoint", default=None, help="a seq-JEPA checkpoint (its world replaces --env)")
    parser.add_argument("--rows", type=int, default=64, help="rows of the vector env")
    parser.add_argument("--k", type=int, default=16, help="candidates per row and step")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (the median is kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run: 8 rows, 5 steps, 1 repeat")
    args = parser.parse_args(argv)
    from checks import check_int
    for name in ("rows", "k", "steps", "repeats", "threads"):
        check_int(f"--{name}", getattr(args, name), 1)
    rows, steps, repeats = (8, 5, 1) if args.quick else (args.rows, args.steps, args.repeats)
    results = run(args.env, rows=rows, k=args.k, steps=steps, repeats=repeats, checkpoint=args.checkpoint,
                  threads=args.threads)
    print(table(results))


if __name__ == "__main__":
    cli()
