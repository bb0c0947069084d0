"""Stepping past the end of an episode: one behaviour for every family (issue 18).

A single env stepped after truncation, or before any reset, raises a one-line RuntimeError saying
to call ``reset()`` and changes nothing; a world applied directly to a row outside an episode
raises before changing anything where it keeps an episode buffer (saccade, path), and the vector
env autoresets (never reaches either).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs import ENV_IDS
from envs.families.path_world import PathWorld
from envs.families.saccade_world import SaccadeWorld
from tests.envs.helpers import blob_dataset
from tests.envs.test_vector_envs import kwargs_for


@pytest.fixture(scope="module")
def scenes_root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes_end")


def _state(env: gym.Env) -> tuple:
    """Everything a refused step could have changed: view, info, step count, last action."""
    world = env.unwrapped.world
    return world.glimpses().copy(), world.info(), env.unwrapped._steps, env.unwrapped._last_action.copy()


def _assert_same_state(a: tuple, b: tuple) -> None:
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key], err_msg=key)
    assert a[2] == b[2]
    np.testing.assert_array_equal(a[3], b[3])


def _assert_reset_error(err: pytest.ExceptionInfo) -> None:
    text = str(err.value)
    assert "call reset()" in text and "\n" not in text


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_stepped_after_truncation_raises_and_changes_nothing(env_id, stl10_root, scenes_root):
    env = gym.make(env_id, **kwargs_for(env_id, stl10_root, scenes_root))
    env.reset(seed=4)
    action = np.full(env.action_space.shape, 0.3, np.float32)
    truncated, steps = False, 0
    while not truncated:
        _, _, terminated, truncated, _ = env.step(action)
        steps += 1
        assert not terminated
    assert steps == env.unwrapped.max_steps
    before = _state(env)
    for _ in range(2):  # refused again and again, never half-applied
        with pytest.raises(RuntimeError, match=r"ended .*call reset\(\) before step\(\)") as err:
            env.step(action)
        _assert_reset_error(err)
        _assert_same_state(before, _state(env))
    obs, info = env.reset(seed=4)  # reset makes it steppable again, from the same first view
    assert info["step"] == 0
    _, _, _, truncated, info = env.step(action)
    assert info["step"] == 1 and truncated == (env.unwrapped.max_steps == 1)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_stepped_before_any_reset_raises(env_id, stl10_root, scenes_root):
    env = gym.make(env_id, **kwargs_for(env_id, stl10_root, scenes_root)).unwrapped  # without OrderEnforcing
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)") as err:
        env.step(np.zeros(env.action_space.shape, np.float32))
    _assert_reset_error(err)
    assert env._steps == 0 and not env._started


def test_one_step_episodes_end_after_their_only_step():
    from envs.families.saccade_env import SaccadeEnv

    env = SaccadeEnv(blob_dataset(n=2, size=32), glimpse_size=8, max_saccades=1)
    env.reset(seed=0)
    assert env.step(np.zeros(2, np.float32))[3]
    with pytest.raises(RuntimeError, match="max_steps=1"):
        env.step(np.zeros(2, np.float32))


@pytest.mark.parametrize("make_world, counts", [
    (lambda: SaccadeWorld(3, blob_dataset(n=3, size=32), glimpse_size=8, max_saccades=2), "n_fixations"),
    (lambda: PathWorld(3, n_worlds=2, world_size=32, glimpse_size=8, max_steps=2), "n_positions"),
])
def test_world_applied_outside_an_episode_raises_before_changing_anything(make_world, counts):
    world = make_world()
    rngs = [np.random.default_rng(i) for i in range(3)]
    rows = np.arange(3)
    act = np.full((3, 2), 0.1, np.float32)
    with pytest.raises(RuntimeError, match=r"rows \[0, 1, 2\] are not inside an episode") as err:
        world.apply(rows, act, rngs, np.zeros(3, bool))  # never reset
    _assert_reset_error(err)
    world.reset_rows(rows, rngs, [{}] * 3)
    world.apply(rows, act, rngs, np.zeros(3, bool))
    world.apply(rows[1:], act[1:], rngs[1:], np.ones(2, bool))  # rows 1 and 2 reach max_steps = 2
    before = (getattr(world, counts).copy(), world.glimpses().copy(), world.info())
    with pytest.raises(RuntimeError, match=r"rows \[1, 2\] are not inside an episode"):
        world.apply(rows, act, rngs, np.zeros(3, bool))
    np.testing.assert_array_equal(getattr(world, counts), before[0])
    np.testing.assert_array_equal(world.glimpses(), before[1])
    for key, value in before[2].items():
        np.testing.assert_array_equal(world.info()[key], value, err_msg=key)
    world.apply(rows[:1], act[:1], rngs[:1], np.ones(1, bool))  # row 0 still has a step left
    assert getattr(world, counts).tolist() == [3, 3, 3]


def test_vector_env_never_steps_past_the_end_it_autoresets():
    venv = gym.make_vec("PathIntegration-Scenes-v0", num_envs=2, n_worlds=2, world_size=32, glimpse_size=8,
                        max_steps=2)
    venv.reset(seed=0)
    a = np.zeros((2, 2), np.float32)
    truncs = [venv.step(a)[3].tolist() for _ in range(6)]
    assert truncs == [[False, False], [True, True], [False, False]] * 2  # the third step is the autoreset
