"""PathIntegrationEnv: Gymnasium conformance, the displacement contract, borders, rewards, rendering."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.engine.retina import Retina
from envs.families.path_integration_env import PathIntegrationEnv, make_worlds
from tests.envs.helpers import blob_dataset

SIZE = 96


@pytest.fixture(scope="module")
def worlds():
    return blob_dataset(n=4, size=SIZE, seed=1)


def make_env(worlds, **kwargs) -> PathIntegrationEnv:
    kwargs.setdefault("glimpse_size", 16)
    return PathIntegrationEnv(worlds, **kwargs)


def rollout(env: PathIntegrationEnv, seed: int, n: int = 12, action_seed: int = 0):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    out = [(obs, info)]
    for _ in range(n):
        obs, reward, _, _, info = env.step(rng.uniform(-env.max_step, env.max_step, 2).astype(np.float32))
        out.append((obs, info))
    return out


def test_check_env_passes(worlds):
    check_env(make_env(worlds, scales=(1, 2), render_mode="rgb_array"), skip_render_check=False)


def test_spaces_and_reset_info(worlds):
    env = make_env(worlds, scales=(1, 3), max_step=0.2)
    obs, info = env.reset(seed=5, options={"index": 2})
    assert obs["glimpse"].shape == (2, 16, 16, 3) and obs["glimpse"].dtype == np.uint8
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    np.testing.assert_allclose(env.action_space.high, [1.0, 1.0])  # normalised: times max_step
    np.testing.assert_allclose(env.observation_space["last_action"].high, 0.2 + 1 / SIZE, rtol=1e-6)
    np.testing.assert_array_equal(obs["last_action"], np.zeros(2, np.float32))
    assert info["index"] == 2 and info["label"] == int(worlds.labels[2])
    np.testing.assert_array_equal(info["displacement"], [0.0, 0.0])
    np.testing.assert_array_equal(info["start_position"], info["position"])
    np.testing.assert_allclose(info["position"], info["fixation"] / SIZE)


def test_glimpse_is_the_retina_view_of_the_world_at_the_fixation(worlds):
    env = make_env(worlds, scales=(1, 2))
    retina = Retina(16, (1, 2))
    for obs, info in rollout(env, seed=3, n=6):
        np.testing.assert_array_equal(obs["glimpse"], retina.glimpse(worlds.images[info["index"]], info["fixation"]))


def test_last_action_is_the_position_difference_and_displacement_their_sum(worlds):
    env = make_env(worlds, max_steps=40, max_step=0.3)
    steps = rollout(env, seed=0, n=40)
    total = np.zeros(2, np.float64)
    for (_, before), (obs, after) in zip(steps, steps[1:]):
        np.testing.assert_allclose(obs["last_action"], after["position"] - before["position"], atol=1e-6)
        total += obs["last_action"]
        np.testing.assert_allclose(after["displacement"], total, atol=1e-5)
        np.testing.assert_allclose(after["displacement"], after["position"] - after["start_position"], atol=1e-6)
        assert np.all(np.abs(obs["last_action"]) <= 0.3 + 1 / SIZE)


def test_moves_inside_the_world_are_applied_up_to_grid_snapping(worlds):
    env = make_env(worlds, max_step=0.25)
    env.reset(seed=0, options={"position": (0.5, 0.5)})
    obs, _, _, _, info = env.step(np.array([0.1, -0.2], np.float32) / 0.25)
    np.testing.assert_allclose(obs["last_action"], [0.1, -0.2], atol=0.5 / SIZE + 1e-6)
    np.testing.assert_array_equal(info["fixation"], [48 + round(0.1 * SIZE), 48 + round(-0.2 * SIZE)])


def test_actions_beyond_max_step_are_clipped(worlds):
    env = make_env(worlds, max_step=0.1)
    env.reset(seed=0, options={"position": (0.5, 0.5)})
    obs, *_ = env.step(np.array([5.0, -5.0], np.float32))
    np.testing.assert_allclose(obs["last_action"], [0.1, -0.1], atol=0.5 / SIZE + 1e-6)


@pytest.mark.parametrize("keep_inside, lo, hi", [(True, 8, SIZE - 8), (False, 0, SIZE - 1)])
def test_clipping_at_the_world_border(worlds, keep_inside, lo, hi):
    env = make_env(worlds, max_step=0.25, keep_inside=keep_inside, max_steps=50)
    obs, info = env.reset(seed=0, options={"position": (0.4, 0.6)})
    for _ in range(8):
        before = info["position"]
        obs, _, _, _, info = env.step(np.array([1.0, -1.0], np.float32))
    np.testing.assert_array_equal(info["fixation"], [hi, lo])
    np.testing.assert_allclose(obs["last_action"], info["position"] - before, atol=1e-6)
    np.testing.assert_array_equal(obs["last_action"], [0.0, 0.0])  # pinned at the corner
    if keep_inside:  # the fovea never sees beyond the world
        assert np.array_equal(obs["glimpse"][0], worlds.images[info["index"]][hi - 8:hi + 8, lo - 8:lo + 8])


def test_random_starts_keep_the_fovea_inside(worlds):
    env = make_env(worlds)
    starts = np.array([env.reset(seed=s)[1]["fixation"] for s in range(60)])
    assert starts.min() >= 8 and starts.max() <= SIZE - 8
    assert len({tuple(s) for s in starts}) > 40  # spread out, not a fixed point


def test_truncation_and_the_homing_task(worlds):
    env = make_env(worlds, max_steps=8, reward="home", max_step=0.2)
    _, info = env.reset(seed=0, options={"position": (0.5, 0.5)})
    assert env.unwrapped.world.outbound_steps == 4 and info["outbound"]
    rewards, pushed = [], np.array([1.0, 1.0], np.float32)
    for t in range(4):  # outbound: the env moves the retina, whatever the agent asks
        obs, reward, _, truncated, info = env.step(pushed)
        rewards.append(reward)
        assert not np.allclose(obs["last_action"], pushed * 0.2) and not truncated
    assert rewards == [0.0] * 4 and not info["outbound"]
    turn = float(np.linalg.norm(info["displacement"]))
    for t in range(4):  # the way back: dead reckoning from the reported moves
        home = -np.asarray(info["displacement"], np.float32)
        obs, reward, _, truncated, info = env.step(np.clip(home / 0.2, -1, 1))
        rewards.append(reward)
    assert truncated and sum(rewards) == pytest.approx(turn - np.linalg.norm(info["displacement"]))
    assert np.linalg.norm(info["displacement"]) < 2 / SIZE  # home, up to grid snapping
    # standing still on the way back earns nothing; a default episode has no outbound phase
    env.reset(seed=0)
    assert sum(env.step(np.zeros(2, np.float32))[1] for _ in range(8)) == pytest.approx(0.0)
    assert make_env(worlds).unwrapped.world.outbound_steps == 0
    with pytest.raises(ValueError, match="outbound_steps"):
        make_env(worlds, max_steps=4, reward="home", outbound_steps=4)


def test_same_seed_same_rollout_and_different_seed_differs(worlds):
    a = rollout(make_env(worlds), seed=11)
    b = rollout(make_env(worlds), seed=11)
    c = rollout(make_env(worlds), seed=12)
    for (oa, ia), (ob, ib) in zip(a, b):
        np.testing.assert_array_equal(oa["glimpse"], ob["glimpse"])
        np.testing.assert_array_equal(ia["fixation"], ib["fixation"])
    assert any(not np.array_equal(ia["fixation"], ic["fixation"]) for (_, ia), (_, ic) in zip(a, c))


def test_pickled_env_continues_identically(worlds):
    env = make_env(worlds, render_mode="rgb_array")
    env.reset(seed=4)
    env.step(np.array([0.1, 0.05], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    for action in np.array([[0.2, -0.1], [-0.05, 0.15]], np.float32):
        o1, *_, i1 = env.step(action)
        o2, *_, i2 = clone.step(action)
        np.testing.assert_array_equal(o1["glimpse"], o2["glimpse"])
        np.testing.assert_array_equal(i1["displacement"], i2["displacement"])


def test_render_draws_the_path_on_the_resized_world(worlds):
    env = make_env(worlds, render_mode="rgb_array", render_size=192)
    env.reset(seed=0, options={"index": 1})
    plain = env.render()
    assert plain.shape == (192, 192, 3) and plain.dtype == np.uint8
    for _ in range(3):
        env.step(np.array([0.2, 0.1], np.float32))
    frame = env.render()
    changed = np.any(frame != plain, axis=2)
    assert changed.mean() > 0.002  # the new path segments and the moved retina box
    env.render_mode = None
    with pytest.warns(UserWarning):
        assert env.render() is None


def test_human_render_opens_a_window(worlds):
    env = make_env(worlds, render_mode="human")
    env.reset(seed=0)
    env.step(np.array([0.1, 0.1], np.float32))
    assert env._window is not None
    env.close()
    assert env._window is None


def test_generated_worlds_are_deterministic_prefixes():
    a = make_worlds(3, size=64, tiles=2, seed=7)
    b = make_worlds(2, size=64, tiles=2, seed=7)
    c = make_worlds(2, size=64, tiles=2, seed=8)
    assert a.images.shape == (3, 64, 64, 3) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.labels, [-1, -1, -1])
    np.testing.assert_array_equal(a.images[:2], b.images)
    assert not np.array_equal(b.images, c.images)
    assert a.images.std() > 10  # natural texture, not a blank canvas
    env = PathIntegrationEnv(n_worlds=2, world_size=64, glimpse_size=16, seed=7)
    np.testing.assert_array_equal(env.dataset.images, b.images)
    assert env.reset(seed=0)[1]["label"] == -1


@pytest.mark.parametrize("kwargs, name", [
    ({"max_step": 0.0}, "max_step"), ({"max_step": 1.5}, "max_step"), ({"max_steps": 0}, "max_steps"),
    ({"reward": "gold"}, "reward"), ({"render_mode": "ascii"}, "render_mode"), ({"glimpse_size": 128}, "glimpse_size"),
    ({"scales": (2,)}, "scales"), ({"render_size": 0}, "render_size"),
])
def test_bad_arguments_name_the_parameter(worlds, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_env(worlds, **kwargs)


def test_bad_actions_and_options_name_the_problem(worlds):
    env = make_env(worlds)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="index"):
        env.reset(options={"index": 4})
    with pytest.raises(ValueError, match="position"):
        env.reset(options={"position": (0.5, np.nan)})
    with pytest.raises(ValueError, match="unknown"):
        env.reset(options={"rotation": 1})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.inf, 0.0], np.float32))
    with pytest.raises(ValueError, match="tiles"):
        make_worlds(2, size=65, tiles=2)
