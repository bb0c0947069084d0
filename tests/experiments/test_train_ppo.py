"""Stable-Baselines3 PPO, a real outside client, trains on our env through gym.make."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from experiments.train_ppo import PPOConfig, main  # noqa: E402


def test_ppo_runs_on_saccade_scenes(tmp_path):
    config = PPOConfig(steps=256, n_envs=2, n_steps=64, n_train=40, max_saccades=4, root=str(tmp_path),
                       save_path=str(tmp_path / "ppo.zip"))
    result = main(config)
    assert np.isfinite(result["mean_reward_before"]) and np.isfinite(result["mean_reward_after"])
    assert 0.0 <= result["mean_reward_after"] <= config.max_saccades
    assert (tmp_path / "ppo.zip").exists()
