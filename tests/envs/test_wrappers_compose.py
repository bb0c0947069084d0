"""The wrappers compose with every registered id of this project and with Gymnasium's wrappers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import FrameStackObservation

from envs.wrappers.observation import AddPosition, AddTimeStep, ChannelsFirstGlimpse, reports_position, sb3_ready
from tests.envs.small_envs import PROJECT_IDS, make_data_root, make_small


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_data_root(tmp_path_factory.mktemp("data"))


def test_every_project_id_is_covered():
    assert len(PROJECT_IDS) == 11 and "Rotation3D-Shapes-Classify-v0" in PROJECT_IDS


@pytest.mark.parametrize("env_id", PROJECT_IDS)
def test_sb3_ready_builds_resets_and_steps_every_id(env_id, root):
    env = sb3_ready(make_small(env_id, root), min_size=1)
    has_position = not env_id.startswith("Rotation3D")
    assert reports_position(env) is has_position
    assert ("position" in env.observation_space.spaces) is has_position
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    for _ in range(2):
        assert env.observation_space.contains(obs)
        if has_position:
            np.testing.assert_array_equal(obs["position"], np.float32(info["position"]))
        obs, _, _, _, info = env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", PROJECT_IDS)
def test_add_position_refuses_an_env_without_a_position_when_built(env_id, root):
    if env_id.startswith("Rotation3D"):
        with pytest.raises(ValueError, match="AddPosition needs an env whose info holds 'position'"):
            AddPosition(make_small(env_id, root))
        with pytest.raises(ValueError, match="position"):
            sb3_ready(make_small(env_id, root), position=True)
    else:
        assert "position" in sb3_ready(make_small(env_id, root), position=True).observation_space.spaces
    assert "position" not in sb3_ready(make_small(env_id, root), position=False).observation_space.spaces


@pytest.mark.parametrize("env_id", PROJECT_IDS)
def test_channels_first_over_a_frame_stack_stacks_frames_scales_and_channels(env_id, root):
    raw = FrameStackObservation(make_small(env_id, root), 2)
    env = AddTimeStep(ChannelsFirstGlimpse(FrameStackObservation(make_small(env_id, root), 2), min_size=20))
    f, s, g, _, c = raw.observation_space["glimpse"].shape
    zoom = -(-20 // g)
    assert env.observation_space["glimpse"].shape == (f * s * c, g * zoom, g * zoom)
    action = np.zeros(env.action_space.shape, np.float32)
    action[0] = 0.2
    for out, ref in ((env.reset(seed=3), raw.reset(seed=3)), (env.step(action), raw.step(action))):
        obs, stacked = out[0], ref[0]["glimpse"]
        assert env.observation_space.contains(obs)
        for fr, sc, ch in ((0, 0, 0), (f - 1, s - 1, c - 1), (f - 1, 0, c - 1)):
            np.testing.assert_array_equal(obs["glimpse"][(fr * s + sc) * c + ch, ::zoom, ::zoom],
                                          stacked[fr, sc, :, :, ch])
    frames, *_ = FrameStackObservation(sb3_ready(make_small(env_id, root), min_size=1), 2).reset(seed=0)
    assert frames["glimpse"].shape == (2, s * c, g, g)  # and the other way round


def test_channels_first_refuses_a_space_without_a_glimpse_stack():
    env = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="glimpse"):
        ChannelsFirstGlimpse(env)


# ---------------------------------------------------------------- the extractor's scaling
@pytest.mark.parametrize("normalize_images", [True, False])
def test_glimpse_extractor_scales_by_dtype_not_by_the_batch(normalize_images):
    torch = pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import preprocess_obs

    from agents.sb3 import GlimpseExtractor

    space = spaces.Dict(glimpse=spaces.Box(0, 255, (6, 16, 16), np.uint8), last_action=spaces.Box(-1, 1, (2,)))
    ext = GlimpseExtractor(space, cnn_dim=8, normalize_images=normalize_images)
    rng = np.random.default_rng(0)
    for high in (2, 256):  # a dark batch (all pixels 0 or 1) and a bright one
        raw = torch.as_tensor(rng.integers(0, high, (3, 6, 16, 16), dtype=np.uint8))
        obs = {"glimpse": raw, "last_action": torch.zeros(3, 2)}
        expected = ext.cnn(raw.float() / 255.0)
        sb3_obs = preprocess_obs(obs, space, normalize_images=normalize_images)  # what SB3 hands over
        torch.testing.assert_close(ext(sb3_obs)[:, :8], expected)
        torch.testing.assert_close(ext(obs)[:, :8], expected)  # a raw uint8 batch, outside SB3
    floats = spaces.Dict(glimpse=spaces.Box(0.0, 1.0, (6, 16, 16), np.float32))
    ext = GlimpseExtractor(floats, cnn_dim=8, normalize_images=normalize_images)
    x = torch.rand(2, 6, 16, 16) * 3.0  # a float glimpse goes in as it is, whatever its range
    torch.testing.assert_close(ext({"glimpse": x}), ext.cnn(x))
