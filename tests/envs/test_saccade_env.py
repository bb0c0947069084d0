"""SaccadeEnv: Gymnasium conformance, the action contract, IoR, rewards, rendering, errors."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents import RandomAgent, SaliencyAgent
from tests.agents.rollout import rollout
from envs.engine.coordinates import pixel_to_norm
from envs.families.saccade_env import SaccadeEnv
from tests.envs.helpers import blob_dataset


@pytest.fixture(scope="module")
def dataset():
    return blob_dataset()


def make_env(dataset, **kwargs) -> SaccadeEnv:
    kwargs.setdefault("glimpse_size", 16)
    kwargs.setdefault("ior_radius", 8)
    return SaccadeEnv(dataset, **kwargs)


def test_check_env_passes(dataset):
    env = make_env(dataset, scales=(1, 2), render_mode="rgb_array")
    check_env(env, skip_render_check=False)


def test_spaces_and_observation_contract(dataset):
    env = make_env(dataset, scales=(1, 2, 4))
    obs, info = env.reset(seed=3)
    assert env.observation_space["glimpse"].shape == (3, 16, 16, 3)
    assert obs["glimpse"].dtype == np.uint8 and obs["glimpse"].shape == (3, 16, 16, 3)
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    np.testing.assert_array_equal(obs["last_action"], np.zeros(2, np.float32))
    assert set(info) >= {"position", "fixation", "label", "index", "priority", "step"}
    assert info["label"] == int(dataset.labels[info["index"]])
    assert info["priority"].shape == (64, 64)
    assert info["priority"].sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(info["position"], pixel_to_norm(info["fixation"], (64, 64)))


def test_last_action_is_the_applied_position_difference(dataset):
    env = make_env(dataset, max_saccades=20)
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        before = info["position"].copy()
        action = rng.uniform(-1, 1, size=2).astype(np.float32)
        obs, _, _, _, info = env.step(action)
        np.testing.assert_allclose(obs["last_action"], info["position"] - before, atol=1e-6)
        assert np.all(info["position"] >= 0) and np.all(info["position"] <= 63 / 64)
        # Snapping to the pixel grid moves the target by at most half a pixel, clipping only towards the image.
        inside = np.all((before + action >= 0) & (before + action <= 63 / 64))
        if inside:
            np.testing.assert_allclose(obs["last_action"], action, atol=0.5 / 64 + 1e-6)


def test_saccade_off_the_image_is_clipped_to_the_border(dataset):
    env = make_env(dataset, first_fixation="center")
    env.reset(seed=0)
    obs, _, _, _, info = env.step(np.array([1.0, -1.0], np.float32))
    np.testing.assert_array_equal(info["fixation"], [63, 0])
    np.testing.assert_allclose(obs["last_action"], [63 / 64 - 0.5, -0.5], atol=1e-6)


def test_truncation_after_max_saccades(dataset):
    env = make_env(dataset, max_saccades=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros(2, np.float32))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_same_seed_same_rollout_and_different_seed_differs(dataset):
    def run(seed):
        return rollout(make_env(dataset, max_saccades=6), SaliencyAgent(seed=seed), seed=seed)

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a.glimpses, b.glimpses)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not (np.array_equal(a.positions, c.positions) and a.index == c.index)


def test_hard_ior_never_refixates_an_inhibited_square(dataset):
    env = make_env(dataset, max_saccades=8, ior="square", ior_radius=6)
    episode = rollout(env, SaliencyAgent(mode="argmax"), seed=2, keep_infos=True)
    fix = np.stack([info["fixation"] for info in episode.infos])
    for k in range(1, len(fix)):
        if episode.infos[k - 1]["priority"].max() > 1.0 / (64 * 64) + 1e-9:  # not fully suppressed
            cheb = np.abs(fix[:k] - fix[k]).max(axis=1)
            assert np.all(cheb > 6), f"fixation {k} at {fix[k]} re-enters an inhibited square"


def test_priority_is_zero_around_past_fixations(dataset):
    env = make_env(dataset, ior="square", ior_radius=5)
    _, info = env.reset(seed=0)
    r, c = info["fixation"]
    patch = info["priority"][max(r - 5, 0):r + 6, max(c - 5, 0):c + 6]
    assert patch.max() == 0.0


def test_saliency_agent_finds_the_object_more_often_than_random(dataset):
    # The eye starts at the centre; the object is found by the first saccades (then inhibited).
    env = make_env(dataset, max_saccades=3, reward="object", first_fixation="center", ior_radius=2)
    hits = {}
    for name, agent in (("saliency", SaliencyAgent(mode="argmax")), ("random", RandomAgent(seed=0))):
        total = 0.0
        for seed in range(12):
            total += rollout(env, agent, seed=seed).rewards.sum()
        hits[name] = total
    # reward = share of the object area newly seen: the peak of the map is on the object, so the
    # saliency agent sees most of every object within its 3 saccades
    assert hits["saliency"] >= 0.75 * 12
    assert hits["saliency"] > 3 * max(hits["random"], 0.5)


def test_saliency_reward_is_priority_mass_in_the_fovea(dataset):
    env = make_env(dataset, reward="saliency", glimpse_size=8)
    _, info = env.reset(seed=0)
    priority = info["priority"]
    _, reward, _, _, info = env.step(np.array([0.2, 0.1], np.float32))
    r, c = info["fixation"]
    assert reward == pytest.approx(float(priority[max(r - 4, 0):r + 4, max(c - 4, 0):c + 4].sum()), rel=1e-5)


def test_pickle_round_trip_continues_identically(dataset):
    env = make_env(dataset, max_saccades=10)
    env.reset(seed=4)
    env.step(np.array([0.1, 0.1], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    for action in ([0.2, -0.1], [-0.3, 0.05]):
        a = env.step(np.array(action, np.float32))
        b = clone.step(np.array(action, np.float32))
        np.testing.assert_array_equal(a[0]["glimpse"], b[0]["glimpse"])
        np.testing.assert_array_equal(a[4]["priority"], b[4]["priority"])


@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_vector_envs(dataset, vector_cls):
    envs = vector_cls([lambda: make_env(dataset, scales=(1, 2)) for _ in range(2)])
    try:
        obs, infos = envs.reset(seed=[0, 1])
        assert obs["glimpse"].shape == (2, 2, 16, 16, 3)
        obs, rewards, terminated, truncated, infos = envs.step(np.zeros((2, 2), np.float32))
        assert obs["last_action"].shape == (2, 2) and rewards.shape == (2,)
    finally:
        envs.close()


def test_render_rgb_array_marks_the_fixation(dataset):
    env = make_env(dataset, render_mode="rgb_array", render_scale=3)
    _, info = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (192, 192, 3) and frame.dtype == np.uint8
    r, c = info["fixation"]
    np.testing.assert_array_equal(frame[r * 3, c * 3], [255, 220, 40])  # the scanpath colour at the fixation


def test_render_human_with_dummy_video_driver(dataset, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = make_env(dataset, render_mode="human")
    env.metadata = {**env.metadata, "render_fps": 1000}
    env.reset(seed=0)
    env.step(np.zeros(2, np.float32))
    env.close()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ior": "circle"}, "ior must be one of"),
        ({"saliency_method": "deepgaze"}, "saliency_method must be one of"),
        ({"max_saccades": 0}, "max_saccades"),
        ({"ior_radius": 0}, "ior_radius"),
        ({"ior_decay": 1.5}, "ior_decay"),
        ({"ior": "square", "ior_decay": 0.5}, "ior_decay < 1 needs ior='gaussian'"),
        ({"reward": "gold"}, "reward must be one of"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"first_fixation": "left"}, "first_fixation"),
    ],
)
def test_bad_arguments_name_the_parameter(dataset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_env(dataset, **kwargs)


def test_bad_actions_and_options(dataset):
    env = make_env(dataset)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must have shape"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="action must be finite"):
        env.step(np.array([np.nan, 0.0], np.float32))
    with pytest.raises(ValueError, match=r"options\['index'\]"):
        env.reset(options={"index": 99})
    with pytest.raises(ValueError, match=r"options\['index'\]"):
        env.reset(options={"index": True})
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"image": 0})


def test_precomputed_saliency_maps_give_the_same_episode(dataset):
    from saliency import saliency_maps

    maps = saliency_maps(np.asarray(dataset.images))
    a = rollout(make_env(dataset, max_saccades=4), SaliencyAgent(seed=0), seed=3)
    b = rollout(make_env(dataset, max_saccades=4, saliency_maps=maps), SaliencyAgent(seed=0), seed=3)
    np.testing.assert_array_equal(a.glimpses, b.glimpses)
    with pytest.raises(ValueError, match="saliency_maps must be"):
        make_env(dataset, saliency_maps=maps[:2])
