"""The batched agents drive the real native vector envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the ids)
from agents import BatchedSaliencyAgent, RotationWalkAgent, SmoothTrajectoryAgent
from tests.envs.helpers import blob_dataset


def test_smooth_trajectories_stay_inside_the_world_without_being_clipped():
    venv = gym.make_vec("PathIntegration-Scenes-v0", num_envs=16, n_worlds=2, world_size=96, glimpse_size=16,
                        max_steps=40)
    low, high = venv.world.position_bounds
    agent = SmoothTrajectoryAgent(venv.world.max_step, low, high, seed=0)
    obs, info = venv.reset(seed=0)
    clipped = 0
    for _ in range(120):  # three episodes: rows restart at every autoreset
        action = agent.act(obs, info)
        obs, _, _, _, info = venv.step(action)
        moved = info["step"] > 0
        wanted = action[moved] * venv.world.max_step
        clipped += int((np.abs(obs["last_action"][moved] - wanted) > 1.5 / 96).any(axis=1).sum())
        assert np.all(info["position"] >= low - 1e-6) and np.all(info["position"] <= high + 1e-6)
    assert clipped <= 5  # the walls turn the agent before the env has to clip it


def test_saliency_agent_through_the_world_matches_it_through_the_maps():
    from envs.engine.vector_env import ActiveVisionVectorEnv
    from envs.families.saccade_world import SaccadeWorld

    data = blob_dataset(n=6)
    runs = []
    for priority_info in (True, False):
        venv = ActiveVisionVectorEnv(SaccadeWorld(6, data, glimpse_size=16, ior_radius=6, max_saccades=5,
                                                  priority_info=priority_info))
        agent = BatchedSaliencyAgent(mode="argmax", seed=0, world=venv.world)
        obs, info = venv.reset(seed=3)
        path = [info["fixation"]]
        for _ in range(5):
            obs, _, _, _, info = venv.step(agent.act(obs, info))
            path.append(info["fixation"])
        assert ("priority" in info) == priority_info
        runs.append(np.stack(path, 1))
    np.testing.assert_array_equal(runs[0], runs[1])  # argmax: the same scanpaths either way


def test_rotation_walks_turn_the_objects_by_bounded_smooth_steps():
    venv = gym.make_vec("Rotation3D-Shapes-v0", num_envs=8, n_objects=4, image_size=24, max_steps=6)
    agent = RotationWalkAgent(seed=0)
    obs, info = venv.reset(seed=0)
    for _ in range(6):
        obs, _, _, _, info = venv.step(agent.act(obs, info))
        angles = np.linalg.norm(obs["last_action"], axis=1)
        assert np.all(angles <= venv.world.max_angle + 1e-6) and np.all(angles > 0)
