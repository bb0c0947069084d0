"""Wrappers for RL libraries: position and time in the observation, channel-first glimpses, SB3."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.wrappers.observation import AddPosition, AddTimeStep, ChannelsFirstGlimpse, sb3_ready

KW = dict(n_train=24, n_test=8, glimpse_size=16, scales=(1, 2), max_saccades=3, ior_radius=8)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes")


def test_position_and_time_follow_the_info(root):
    env = AddTimeStep(AddPosition(gym.make("Saccade-Scenes-v0", root=root, **KW)))
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs["position"], info["position"])
    assert obs["time"].tolist() == [0.0]
    for t in range(1, 4):
        obs, _, _, truncated, info = env.step(np.array([0.1, -0.2], np.float32))
        np.testing.assert_array_equal(obs["position"], info["position"])
        assert obs["time"][0] == pytest.approx(t / 3)
        assert env.observation_space.contains(obs)
    assert truncated


def test_channels_first_stacks_scales_as_channels_and_zooms(root):
    base = gym.make("Saccade-Scenes-v0", root=root, **KW)
    raw, _ = base.reset(seed=1)
    obs, _ = ChannelsFirstGlimpse(gym.make("Saccade-Scenes-v0", root=root, **KW)).reset(seed=1)
    assert obs["glimpse"].shape == (6, 16, 16) and obs["glimpse"].dtype == np.uint8
    np.testing.assert_array_equal(obs["glimpse"][3 + 2], raw["glimpse"][1, :, :, 2])  # scale 1, channel 2
    zoomed, _ = ChannelsFirstGlimpse(gym.make("Saccade-Scenes-v0", root=root, **KW), min_size=36).reset(seed=1)
    assert zoomed["glimpse"].shape == (6, 48, 48)
    np.testing.assert_array_equal(zoomed["glimpse"][:, ::3, ::3], obs["glimpse"])
    with pytest.raises(ValueError, match="min_size"):
        ChannelsFirstGlimpse(base, min_size=0)


@pytest.mark.parametrize("env_id", ["Saccade-Scenes-Classify-v0", "PathIntegration-Scenes-v0"])
def test_sb3_ready_envs_pass_check_env(root, env_id):
    kw = dict(root=root, **KW) if env_id.startswith("Saccade") else dict(n_worlds=2, world_size=64, glimpse_size=16)
    env = sb3_ready(gym.make(env_id, **kw))
    check_env(env, skip_render_check=True)
    with pytest.raises(ValueError, match="position"):
        AddPosition(gym.make("Rotation3D-Shapes-v0", n_objects=2, image_size=24)).reset(seed=0)


@pytest.mark.slow
def test_ppo_trains_on_images_with_the_default_and_the_small_glimpse_extractor(root):
    sb3 = pytest.importorskip("stable_baselines3")
    from agents.sb3 import GlimpseExtractor

    for min_size, kwargs in ((36, {}), (1, {"features_extractor_class": GlimpseExtractor})):
        env = sb3_ready(gym.make("Saccade-Scenes-Classify-v0", root=root, **KW), min_size=min_size)
        model = sb3.PPO("MultiInputPolicy", env, n_steps=32, batch_size=16, n_epochs=1, policy_kwargs=kwargs,
                        device="cpu", seed=0)
        model.learn(64)
        action, _ = model.predict(env.reset(seed=0)[0])
        assert action.shape == (12,)
