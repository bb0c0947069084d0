"""Every registered id: gym.make works, check_env passes, seeds are deterministic, envs pickle."""

from __future__ import annotations

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids, as users do)
from envs import ENV_IDS

SMALL = {"glimpse_size": 16, "scales": (1, 2), "ior_radius": 8}


def ie_folder(tmp_root):
    """A tiny 3DIEBench-format folder beside the test's data (written once per test)."""
    from tests.envs.helpers import write_3diebench

    root = tmp_root / "3DIEBench"
    if not root.exists():
        root.mkdir()
        write_3diebench(root, objects=2, views=4, size=24)
    return root


@pytest.fixture(scope="module")
def scenes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes")


def make(env_id: str, stl10_root, scenes_root, **kwargs):
    if env_id == "Rotation3D-Shapes-Classify-v0":
        return gym.make(env_id, n_objects=4, image_size=32, **kwargs)
    if "-Classify" in env_id:  # active recognition takes its base id's keywords
        base = env_id.replace("-Classify", "")
        small = SMALL if base.startswith("Saccade-") else {}
        root = stl10_root if base == "Saccade-STL10-v0" else scenes_root
        extra = {"split": "train"} if base == "Saccade-STL10-v0" else {"n_train": 24, "n_test": 8}
        return gym.make(env_id, root=root, **extra, **small, **kwargs)
    if env_id == "Rotation3D-3DIEBench-v0":
        return gym.make(env_id, folder=ie_folder(stl10_root), image_size=24, **kwargs)
    if env_id == "Saccade-STL10-v0":
        return gym.make(env_id, root=stl10_root, split="train", **SMALL, **kwargs)
    if env_id == "Saccade-Scenes-v0":
        return gym.make(env_id, root=scenes_root, n_train=24, n_test=8, **SMALL, **kwargs)
    if env_id == "PathIntegration-Scenes-v0":
        return gym.make(env_id, n_worlds=2, world_size=64, glimpse_size=16, **kwargs)
    return gym.make(env_id, n_objects=4, image_size=32, **kwargs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_env_speaks_the_shared_observation_and_action_api(env_id, stl10_root, scenes_root):
    env = make(env_id, stl10_root, scenes_root)
    obs, info = env.reset(seed=0)
    a = env.unwrapped.world.transform_dim  # the action minus any class scores (active recognition)
    assert a in (2, 3) and env.action_space.shape[0] >= a
    assert set(obs) == {"glimpse", "last_action"}
    assert obs["glimpse"].dtype == np.uint8 and obs["glimpse"].ndim == 4  # (S, G, G, C)
    assert obs["last_action"].shape == (a,) and env.action_space.dtype == np.float32
    assert {"index", "label"} <= set(info) and ({"position"} <= set(info) or {"rotation"} <= set(info))
    obs, *_ = env.step(env.action_space.sample())
    assert obs["last_action"].shape == (a,)


def test_every_id_is_registered():
    assert set(ENV_IDS) <= set(gym.registry)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id, stl10_root, scenes_root):
    env = make(env_id, stl10_root, scenes_root, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_rollout_and_pickling(env_id, stl10_root, scenes_root):
    def run(env, seed):
        obs, info = env.reset(seed=seed)
        out = [obs["glimpse"]]
        for k in range(4):
            action = np.full(env.action_space.shape, 0.05 * k, np.float32)
            action[0] *= -1
            obs, *_ = env.step(action)
            out.append(obs["glimpse"])
        return np.stack(out), info["index"]

    a = run(make(env_id, stl10_root, scenes_root), 11)
    b = run(make(env_id, stl10_root, scenes_root), 11)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    env = make(env_id, stl10_root, scenes_root)
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    step = np.full(env.action_space.shape, 0.2, np.float32)
    np.testing.assert_array_equal(env.step(step)[0]["glimpse"], clone.step(step)[0]["glimpse"])


def test_stl10_info_carries_the_label(stl10_root):
    env = gym.make("Saccade-STL10-v0", root=stl10_root, split="test", **SMALL)
    _, info = env.reset(seed=0, options={"index": 2})
    assert info["index"] == 2 and 0 <= info["label"] < 10


def test_missing_stl10_names_the_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="stl10_binary"):
        gym.make("Saccade-STL10-v0", root=tmp_path / "nowhere")


def test_make_with_module_prefix_registers_without_import(scenes_root):
    code = ("import gymnasium as gym, sys; "
            f"env = gym.make('envs:Saccade-Scenes-v0', root={str(scenes_root)!r}, n_train=24, n_test=8); "
            "obs, info = env.reset(seed=0); print(obs['glimpse'].shape, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split()[-1] == "False", "importing the envs must not import torch"
    assert "(1, 32, 32, 3)" in out.stdout


def test_precompute_saliency_reads_the_disk_cache(scenes_root):
    env = gym.make("Saccade-Scenes-v0", root=scenes_root, n_train=24, n_test=8, precompute_saliency=True, **SMALL)
    _, info = env.reset(seed=0, options={"index": 5})
    assert list((scenes_root / "cache" / "saliency").rglob("*.npy"))  # caches live apart from the data

    plain = gym.make("Saccade-Scenes-v0", root=scenes_root, n_train=24, n_test=8, precompute_saliency=False, **SMALL)
    _, info_plain = plain.reset(seed=0, options={"index": 5})
    np.testing.assert_array_equal(info["priority"], info_plain["priority"])


def test_registered_variants_carry_their_keywords_in_the_spec(scenes_root):
    from envs import VARIANTS, base_id

    for env_id, (base, kwargs) in VARIANTS.items():
        spec = gym.spec(env_id)
        assert spec.kwargs == kwargs and base_id(env_id) == base and spec.max_episode_steps is None
    env = gym.make("Saccade-Shapes-v0", root=scenes_root, n_train=24, n_test=8)
    world = env.unwrapped.world
    assert world.keep_inside and world.retina.scales == (1, 3) and world.retina.glimpse_size == 16
    venv = gym.make_vec("PathIntegration-Home-v0", num_envs=2, n_worlds=2, world_size=64, max_steps=4)
    assert venv.world.reward_mode == "home" and venv.world.max_steps == 4  # a keyword overrides the spec
