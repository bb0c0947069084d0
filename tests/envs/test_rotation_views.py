"""``Rotation3D-3DIEBench-v0``: a 3DIEBench-format folder as a rotation world (actions = relative view rotations)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.datasets.objects3d import make_objects
from envs.datasets.views3d import ViewBank
from envs.families.rotation_views_env import RotationViewsEnv
from experiments.pretrain.source import SequenceSource
from envs.engine.so3 import quat_conjugate, quat_multiply, so3_exp, so3_log
from tests.envs.test_views3d import write_3diebench


@pytest.fixture
def root(tmp_path):
    write_3diebench(tmp_path, objects=2, views=5, size=24)
    return tmp_path


def test_the_folder_is_a_registered_rotation_world_that_passes_check_env(root):
    env = gym.make("Rotation3D-3DIEBench-v0", folder=root, image_size=24, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=0)
    assert obs["glimpse"].shape == (1, 24, 24, 3) and env.action_space.shape == (3,)
    assert info["label"] in (0, 1) and 0 <= info["view"] < 5


def test_actions_are_the_relative_rotations_between_stored_views(root):
    env = RotationViewsEnv(folder=root, image_size=24, max_steps=20)
    bank = env.world.bank
    _, info = env.reset(seed=1, options={"index": 1, "view": 0})
    for target_view in (3, 1, 4, 4, 2):
        q_old = bank.rotations[1, info["view"]]
        wanted = so3_log(quat_multiply(bank.rotations[1, target_view], quat_conjugate(q_old)))
        obs, _, _, _, info = env.step((wanted / np.pi).astype(np.float32))  # max_angle = pi: any view reachable
        assert info["view"] == target_view
        np.testing.assert_allclose(obs["last_action"], wanted, atol=1e-5)
        composed = quat_multiply(so3_exp(obs["last_action"].astype(np.float64)), q_old)
        assert abs(abs(np.dot(composed, bank.rotations[1, target_view])) - 1) < 1e-6
        view = np.asarray(bank.images[1, target_view])
        np.testing.assert_array_equal(obs["glimpse"][0], view)


def test_vector_env_rows_match_single_envs_and_feed_the_sequence_source(root):
    venv = gym.make_vec("Rotation3D-3DIEBench-v0", num_envs=3, folder=root, image_size=24, max_steps=2)
    vobs, vinfo = venv.reset(seed=5)
    for i in range(3):
        obs, info = RotationViewsEnv(folder=root, image_size=24, max_steps=2).reset(seed=5 + i)
        np.testing.assert_array_equal(obs["glimpse"], vobs["glimpse"][i])
        assert info["view"] == vinfo["view"][i] and info["index"] == vinfo["index"][i]
    source = SequenceSource("Rotation3D-3DIEBench-v0", dict(folder=root, image_size=24), seq_len=3, batch_size=2,
                            epoch_size=4)
    batch = next(iter(source))
    assert batch["glimpses"].shape == (2, 3, 3, 24, 24) and batch["rotations"].shape == (2, 3, 4)
    assert source.n_classes == 2


def test_a_bank_of_rendered_meshes_works_without_a_folder_and_bad_options_are_named():
    bank = ViewBank.from_meshes(make_objects(3, seed=0), views=6, size=16)
    env = RotationViewsEnv(bank=bank)
    obs, info = env.reset(seed=0)
    assert obs["glimpse"].shape == (1, 16, 16, 3)
    with pytest.raises(ValueError, match="view"):
        env.reset(options={"view": 6})
    with pytest.raises(ValueError, match="max_angle"):
        RotationViewsEnv(bank=bank, max_angle=4.0)
    with pytest.raises(FileNotFoundError):
        RotationViewsEnv(folder="/nonexistent/3DIEBench")
