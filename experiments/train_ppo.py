"""Train Stable-Baselines3 PPO on ``Saccade-Scenes-v0``: an outside client of our Gymnasium API.

The agent is rewarded for fixating objects (``reward="object"``); it sees only glimpses and its
last saccade, like any agent written against ``gym.make``. Run:

    python -m experiments.train_ppo --steps 4096
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym


@dataclass
class PPOConfig:
    """Settings of the PPO example."""

    env_id: str = "Saccade-Scenes-v0"
    steps: int = 4096            # total environment steps
    n_envs: int = 2              # vectorised copies of the env
    n_steps: int = 256           # rollout length per env and update
    glimpse_size: int = 16
    scales: tuple[int, ...] = (1, 2)
    max_saccades: int = 6
    n_train: int = 500           # scenes generated for the example
    seed: int = 0
    root: str | None = None      # data folder (default $SACCADE_DATA or ~/.cache/saccade)
    save_path: str | None = None  # where to save the trained policy (.zip)


def make_env(config: PPOConfig):
    import envs  # noqa: F401  (registers the ids)

    return gym.make(config.env_id, root=config.root, n_train=config.n_train, glimpse_size=config.glimpse_size,
                    scales=config.scales, max_saccades=config.max_saccades, reward="object")


def main(config: PPOConfig) -> dict[str, float]:
    """Train PPO and return the mean episode reward before and after training."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    vec_env = make_vec_env(lambda: make_env(config), n_envs=config.n_envs, seed=config.seed)
    model = PPO("MultiInputPolicy", vec_env, n_steps=config.n_steps, batch_size=64, seed=config.seed, verbose=0,
                device="cpu")
    before, _ = evaluate_policy(model, vec_env, n_eval_episodes=10)
    model.learn(total_timesteps=config.steps)
    after, _ = evaluate_policy(model, vec_env, n_eval_episodes=10)
    if config.save_path:
        model.save(Path(config.save_path))
    vec_env.close()
    return {"mean_reward_before": float(before), "mean_reward_after": float(after), "steps": config.steps}


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=PPOConfig.steps)
    parser.add_argument("--n-train", type=int, default=PPOConfig.n_train)
    parser.add_argument("--seed", type=int, default=PPOConfig.seed)
    parser.add_argument("--root", default=None)
    parser.add_argument("--save-path", default=None)
    args = parser.parse_args(argv)
    result = main(PPOConfig(steps=args.steps, n_train=args.n_train, seed=args.seed, root=args.root,
                            save_path=args.save_path))
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})


if __name__ == "__main__":
    cli()
