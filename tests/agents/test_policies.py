"""Pretraining policies of the saccade family: uniform landing points, mixtures, the named factory."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from agents import (SACCADE_POLICIES, BatchedMixtureAgent, BatchedSaliencyAgent, BatchedUniformAgent,
                    saccade_policy)
from envs.engine.coordinates import pixel_to_norm
from envs.engine.vector_env import ActiveVisionVectorEnv
from envs.families.saccade_world import SaccadeWorld
from tests.envs.helpers import blob_dataset


def _venv(n: int = 64, keep_inside: bool = True, steps: int = 4) -> ActiveVisionVectorEnv:
    return ActiveVisionVectorEnv(SaccadeWorld(n, blob_dataset(n=6), glimpse_size=8, scales=(1, 3), ior_radius=4,
                                              max_saccades=steps, keep_inside=keep_inside, priority_info=False))


def test_uniform_agent_lands_exactly_where_it_drew_inside_the_bounds() -> None:
    venv = _venv()
    low, high = venv.world.fixation_bounds
    assert np.all(low > 0) and np.all(high < np.array(venv.world.image_shape) - 1)  # keep_inside shrinks them
    agent = BatchedUniformAgent(venv.world, seed=0)
    obs, info = venv.reset(seed=1)
    landed = []
    for _ in range(4):
        state = agent.rng.bit_generator.state
        wanted = BatchedUniformAgent(venv.world).rng
        wanted.bit_generator.state = state
        targets = wanted.integers(low, high + 1, size=(64, 2), dtype=np.int64)
        obs, _, _, _, info = venv.step(agent.act(obs, info))
        np.testing.assert_array_equal(info["fixation"], targets)  # no clipping, no rounding drift
        landed.append(info["fixation"])
    landed = np.concatenate(landed)
    assert np.all(landed >= low) and np.all(landed <= high)


def test_uniform_agent_covers_the_bounds_evenly() -> None:
    venv = _venv(n=8)
    low, high = venv.world.fixation_bounds
    draws = BatchedUniformAgent(venv.world, seed=3).targets(20000)
    for axis in range(2):
        counts = np.bincount(draws[:, axis] - low[axis], minlength=int(high[axis] - low[axis] + 1))
        expected = len(draws) / len(counts)
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < len(counts) + 6 * np.sqrt(2 * len(counts))  # far inside a chi-square's tail


def test_mixture_follows_each_agent_with_its_weight() -> None:
    venv = _venv(n=400, steps=1)
    obs, info = venv.reset(seed=0)
    sal = BatchedSaliencyAgent("sample", world=venv.world)
    uni = BatchedUniformAgent(venv.world)
    mix = BatchedMixtureAgent([sal, uni], [0.7, 0.3], seed=0)
    mix.reset(seed=5)
    act = mix.act(obs, info)
    sal.reset(seed=6), uni.reset(seed=7)  # what the mixture's reset gave them
    a_sal, a_uni = sal.act(obs, info), uni.act(obs, info)
    from_uni = np.all(act == a_uni, axis=1) & ~np.all(a_sal == a_uni, axis=1)
    from_sal = np.all(act == a_sal, axis=1)
    assert np.all(from_uni | from_sal)
    assert 0.22 < from_uni.mean() < 0.38


@pytest.mark.parametrize("weight,expect", [(0.0, "saliency"), (1.0, "uniform")])
def test_mixture_extremes_are_the_pure_policies(weight: float, expect: str) -> None:
    venv = _venv(n=32, steps=1)
    obs, info = venv.reset(seed=2)
    mix = saccade_policy("mixture", venv.world, mode="argmax", uniform_weight=weight)
    mix.reset(seed=0)
    got = mix.act(obs, info)
    if expect == "saliency":
        want = BatchedSaliencyAgent("argmax", world=venv.world).act(obs, info)
        np.testing.assert_array_equal(got, want)
    else:
        uni = BatchedUniformAgent(venv.world)
        uni.reset(seed=2)  # seed + 1 + index 1
        np.testing.assert_array_equal(got, uni.act(obs, info))


def test_saccade_policy_builds_each_named_policy_and_is_deterministic() -> None:
    venv = _venv(n=16)
    kinds = {"saliency": BatchedSaliencyAgent, "uniform": BatchedUniformAgent, "mixture": BatchedMixtureAgent}
    assert set(SACCADE_POLICIES) == set(kinds)
    for name, cls in kinds.items():
        paths = []
        for _ in range(2):
            agent = saccade_policy(name, venv.world, seed=4)
            obs, info = venv.reset(seed=4)
            agent.reset(seed=4)
            path = []
            for _ in range(4):
                obs, _, _, _, info = venv.step(agent.act(obs, info))
                path.append(info["fixation"])
            paths.append(np.stack(path))
        assert isinstance(agent, cls)
        np.testing.assert_array_equal(paths[0], paths[1])


def test_policy_errors_name_the_parameter() -> None:
    venv = _venv(n=4)
    with pytest.raises(ValueError, match=r"policy must be one of \('saliency', 'uniform', 'mixture'\)"):
        saccade_policy("random", venv.world)
    with pytest.raises(ValueError, match=r"uniform_weight must be a finite number in \[0, 1\]"):
        saccade_policy("mixture", venv.world, uniform_weight=1.5)
    with pytest.raises(ValueError, match="world must be a saccade vector env's world"):
        BatchedUniformAgent(None)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        BatchedMixtureAgent([BatchedUniformAgent(venv.world)], [0.5])
    with pytest.raises(ValueError, match="same length"):
        BatchedMixtureAgent([BatchedUniformAgent(venv.world)], [0.5, 0.5])


def test_uniform_agent_in_the_registered_env() -> None:
    venv = gym.make_vec("Saccade-Scenes-v0", num_envs=8, style="shapes_flat", max_objects=3, keep_inside=True,
                        glimpse_size=16, scales=(1, 3), n_train=8, n_test=8, max_saccades=3, priority_info=False)
    agent = saccade_policy("uniform", venv.world, seed=0)
    obs, info = venv.reset(seed=0)
    for _ in range(3):
        action = agent.act(obs, info)
        obs, _, _, _, info = venv.step(action)
        assert np.all(np.abs(action) <= 1.0)
        low, high = venv.world.fixation_bounds
        assert np.all(info["fixation"] >= low) and np.all(info["fixation"] <= high)
        np.testing.assert_allclose(info["position"], pixel_to_norm(info["fixation"], venv.world.image_shape))
