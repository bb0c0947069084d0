"""Native vector envs: ``gym.make_vec(id, N)`` for every id; row i == a single env seeded alike."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs import ENV_IDS
from envs.engine.vector_env import ActiveVisionVectorEnv

SMALL = {"glimpse_size": 16, "scales": (1, 2), "ior_radius": 8}
N = 5


@pytest.fixture(scope="module")
def scenes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes")


def kwargs_for(env_id: str, stl10_root, scenes_root) -> dict:
    env_id = env_id.replace("-Classify", "")  # active recognition takes its base id's keywords
    if env_id == "Rotation3D-3DIEBench-v0":
        from tests.envs.test_registration import ie_folder

        return dict(folder=ie_folder(stl10_root), image_size=24, max_steps=3)
    if env_id == "Saccade-STL10-v0":
        return dict(root=stl10_root, split="train", reward="saliency", **SMALL)
    if env_id == "Saccade-Scenes-v0":
        return dict(root=scenes_root, n_train=24, n_test=8, reward="object", max_saccades=3, **SMALL)
    if env_id == "PathIntegration-Scenes-v0":
        return dict(n_worlds=3, world_size=64, glimpse_size=16, max_steps=4, reward="home", action_noise=0.02)
    return dict(n_objects=4, image_size=32, max_steps=3)


def assert_row_equals(obs, info, vobs, vinfo, i, where):
    np.testing.assert_array_equal(obs["glimpse"], vobs["glimpse"][i], err_msg=f"glimpse {where}")
    np.testing.assert_array_equal(obs["last_action"], vobs["last_action"][i], err_msg=f"last_action {where}")
    for key, value in info.items():
        np.testing.assert_array_equal(np.asarray(value), vinfo[key][i], err_msg=f"info[{key!r}] {where}")
        assert vinfo["_" + key][i]
    for key in vinfo:  # a key the single env leaves out this step is masked out in the vector env
        if not key.startswith("_") and key not in info:
            assert not vinfo["_" + key][i], (key, where)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_is_native_and_row_i_is_the_single_env_seeded_alike(env_id, stl10_root, scenes_root):
    kw = kwargs_for(env_id, stl10_root, scenes_root)
    asked = {"priority_info": True} if env_id.startswith("Saccade-") else {}  # the maps the single env's info holds
    venv = gym.make_vec(env_id, num_envs=N, **kw, **asked)
    assert isinstance(venv, ActiveVisionVectorEnv)
    singles = [gym.make(env_id, **kw) for _ in range(N)]
    assert venv.single_observation_space == singles[0].observation_space
    assert venv.single_action_space == singles[0].action_space
    vobs, vinfo = venv.reset(seed=10)
    state = [s.reset(seed=10 + i) for i, s in enumerate(singles)]
    pending_reset = [False] * N
    rng = np.random.default_rng(0)
    for t in range(11):  # several episodes: autoreset included
        for i in range(N):
            assert_row_equals(*state[i], vobs, vinfo, i, f"row {i}, step {t}")
        assert venv.observation_space.contains(vobs)
        actions = rng.uniform(-1.3, 1.3, venv.action_space.shape).astype(np.float32)  # some beyond the box
        vobs, rewards, terms, truncs, vinfo = venv.step(actions)
        for i, env in enumerate(singles):
            if pending_reset[i]:  # Gymnasium's next-step autoreset: this step resets the row
                state[i] = env.reset()
                pending_reset[i] = False
                assert rewards[i] == 0 and not truncs[i] and not terms[i]
                continue
            obs, reward, term, trunc, info = env.step(actions[i])
            state[i] = (obs, info)
            assert (reward, term, trunc) == (rewards[i], terms[i], truncs[i])
            pending_reset[i] = trunc


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_options_per_row_and_reset_mask(env_id, stl10_root, scenes_root):
    venv = gym.make_vec(env_id, num_envs=3, **kwargs_for(env_id, stl10_root, scenes_root))
    _, info = venv.reset(seed=0, options={"index": [2, 0, 1]})
    np.testing.assert_array_equal(info["index"], [2, 0, 1])
    _, info = venv.reset(options={"index": 1})  # one value for every row
    np.testing.assert_array_equal(info["index"], [1, 1, 1])
    obs, *_ = venv.step(np.full(venv.action_space.shape, 0.3, np.float32))
    _, info = venv.reset(options={"index": [0, 0, 0], "reset_mask": np.array([True, False, False])})
    np.testing.assert_array_equal(info["index"], [0, 1, 1])
    np.testing.assert_array_equal(info["step"], [0, 1, 1])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_input_names_the_problem(env_id, stl10_root, scenes_root):
    venv = gym.make_vec(env_id, num_envs=2, **kwargs_for(env_id, stl10_root, scenes_root))
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros(venv.action_space.shape, np.float32))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="actions must have shape"):
        venv.step(np.zeros((3, venv.action_space.shape[1]), np.float32))
    bad = np.zeros(venv.action_space.shape, np.float32)
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        venv.step(bad)
    with pytest.raises(ValueError, match="unknown keys"):
        venv.reset(options={"colour": 1})
    with pytest.raises(ValueError, match="index"):
        venv.reset(options={"index": [0, 1, 0]})
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": [1, 0]})
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec(env_id, num_envs=0, **kwargs_for(env_id, stl10_root, scenes_root))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_renders_every_row_and_pickles(env_id, stl10_root, scenes_root):
    kw = kwargs_for(env_id, stl10_root, scenes_root)
    venv = gym.make_vec(env_id, num_envs=2, render_mode="rgb_array", **kw)
    venv.reset(seed=1)
    frames = venv.render()
    assert len(frames) == 2 and all(f.dtype == np.uint8 and f.ndim == 3 for f in frames)
    np.testing.assert_array_equal(frames[1], _single_frame(env_id, kw, seed=2))
    clone = pickle.loads(pickle.dumps(venv))
    a = np.full(venv.action_space.shape, 0.2, np.float32)
    np.testing.assert_array_equal(venv.step(a)[0]["glimpse"], clone.step(a)[0]["glimpse"])


def _single_frame(env_id, kw, seed):
    env = gym.make(env_id, render_mode="rgb_array", **kw)
    env.reset(seed=seed)
    return env.render()
