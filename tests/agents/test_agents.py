"""Agents act through the public API: saliency agent targets, random agent range, errors."""

from __future__ import annotations

import numpy as np
import pytest

from agents import Agent, RandomAgent, SaliencyAgent
from tests.agents.rollout import rollout
from envs.families.saccade_env import SaccadeEnv
from tests.envs.helpers import blob_dataset


@pytest.fixture(scope="module")
def env():
    return SaccadeEnv(blob_dataset(n=4), glimpse_size=16, ior_radius=6, max_saccades=5)


def test_agents_satisfy_the_protocol():
    assert isinstance(SaliencyAgent(), Agent) and isinstance(RandomAgent(), Agent)


def test_argmax_agent_saccades_to_the_priority_peak(env):
    obs, info = env.reset(seed=0)
    peak = np.unravel_index(np.argmax(info["priority"]), info["priority"].shape)
    _, _, _, _, info = env.step(SaliencyAgent(mode="argmax").act(obs, info))
    np.testing.assert_array_equal(info["fixation"], peak)


def test_sampling_agent_only_targets_pixels_with_priority(env):
    agent = SaliencyAgent(mode="sample", seed=1)
    _, info = env.reset(seed=1)
    for _ in range(50):
        target = agent.target(info)
        assert info["priority"][target[0], target[1]] > 0


def test_random_agent_targets_are_uniform_over_the_image(env):
    agent = RandomAgent(seed=0)
    _, info = env.reset(seed=0)
    targets = np.stack([info["position"] + agent.act({}, info) for _ in range(4000)])
    assert targets.min() >= 0 and targets.max() < 1
    np.testing.assert_allclose(targets.mean(axis=0), [0.5, 0.5], atol=0.03)


def test_random_agent_with_amplitude_bounds_the_saccade():
    agent = RandomAgent(amplitude=0.1, seed=0)
    steps = np.stack([agent.act({}, {"position": np.zeros(2, np.float32)}) for _ in range(500)])
    assert np.abs(steps).max() <= 0.1


def test_rollout_records_a_whole_episode(env):
    episode = rollout(env, SaliencyAgent(seed=0), seed=0)
    assert episode.glimpses.shape == (6, 1, 16, 16, 3) and episode.actions.shape == (6, 2)
    assert len(episode.rewards) == 5


def test_agent_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        SaliencyAgent(mode="best")
    with pytest.raises(ValueError, match=r"amplitude must be a finite number in \(0, 1\], got 2.0"):
        RandomAgent(amplitude=2.0)
    with pytest.raises(TypeError, match="amplitude must be a finite number"):
        RandomAgent(amplitude="big")
    with pytest.raises(ValueError, match="priority"):
        SaliencyAgent().act({}, {"position": np.zeros(2)})


@pytest.mark.parametrize("make", [RandomAgent, SaliencyAgent])
@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_agent_seed_is_checked_in_init_and_reset(make, seed):
    with pytest.raises(ValueError, match=r"^seed must be None or an int >= 0, got "):
        make(seed=seed)
    agent = make(seed=0)
    with pytest.raises(ValueError, match=r"^seed must be None or an int >= 0, got "):
        agent.reset(seed=seed)


@pytest.mark.parametrize("make", [RandomAgent, SaliencyAgent])
def test_agent_reset_reseeds_and_none_keeps_the_stream(make):
    agent = make(seed=7)
    first = agent.rng.random(3)
    agent.reset(seed=7)
    np.testing.assert_array_equal(agent.rng.random(3), first)
    expected = np.random.default_rng(7).random(6)[3:]
    agent.reset(seed=7)
    agent.rng.random(3)
    agent.reset()  # None: the same generator goes on
    np.testing.assert_array_equal(agent.rng.random(3), expected)
