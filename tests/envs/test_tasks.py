"""Tasks an agent can learn: honest rewards and active recognition."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import log_softmax

import envs  # noqa: F401  (registers the ids)
from agents import BatchedRandomAgent, BatchedSaliencyAgent

KW = dict(n_train=64, n_test=16, glimpse_size=16, scales=(1, 2), max_saccades=6, ior_radius=8)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes")


def episode_returns(root, policy: str, n: int = 32, seed: int = 0) -> np.ndarray:
    venv = gym.make_vec("Saccade-Scenes-v0", n, root=root, reward="object", **KW)
    agent = BatchedSaliencyAgent(seed=seed, world=venv.world) if policy == "saliency" else BatchedRandomAgent(2, seed=seed)
    obs, info = venv.reset(seed=seed)
    total = np.zeros(n)
    for _ in range(KW["max_saccades"]):
        action = np.zeros((n, 2), np.float32) if policy == "zero" else agent.act(obs, info)
        obs, reward, _, _, info = venv.step(action)
        total += reward
    return total


def test_object_reward_pays_for_new_object_area_never_for_staying(root):
    zero, random, saliency = (episode_returns(root, p) for p in ("zero", "random", "saliency"))
    assert np.all(zero == 0)  # staying still covers nothing new
    assert np.all((saliency >= 0) & (saliency <= 1 + 1e-9)) and np.all(random <= 1 + 1e-9)
    assert saliency.mean() > random.mean() > zero.mean()


def test_object_reward_counts_each_object_pixel_once(root):
    env = gym.make("Saccade-Scenes-v0", root=root, reward="object", **KW)
    env.reset(seed=1)
    first = env.unwrapped.world.fixations[0, 0]
    target = np.array([40, 40]) / 96.0 - first / 96.0
    rewards = [env.step(target.astype(np.float32))[1]]
    rewards += [env.step(np.zeros(2, np.float32))[1] for _ in range(3)]  # look again: nothing new
    assert rewards[1:] == [0.0, 0.0, 0.0]


def test_classification_reward_is_the_log_probability_of_the_true_class(root):
    env = gym.make("Saccade-Scenes-Classify-v0", root=root, logit_scale=4.0, **KW)
    _, info = env.reset(seed=0)
    k = env.action_space.shape[0] - 2
    assert env.observation_space["last_action"].shape == (2,) and k == 10
    rng = np.random.default_rng(0)
    for t in range(KW["max_saccades"]):
        action = rng.uniform(-1, 1, 2 + k).astype(np.float32)
        obs, reward, _, truncated, info = env.step(action)
        expected = log_softmax(4.0 * action[None, 2:].astype(np.float64), axis=1)[0, info["label"]]
        assert reward == pytest.approx(expected)
        assert info["prediction"] == int(np.argmax(action[2:]))
        assert ("accuracy" in info) == truncated
    assert info["accuracy"] == float(info["correct"])
    sure = np.full(2 + k, -1.0, np.float32)
    env.reset(seed=0)
    label = env.unwrapped.world.inner.item_labels[env.unwrapped.world.inner.index[0]]
    sure[2 + label] = 1.0
    assert env.step(sure)[1] > np.log(1 / k)  # a right, confident prediction beats a uniform one


def test_active_recognition_needs_labels(stl10_root):
    with pytest.raises(ValueError, match="labelled"):
        gym.make("Saccade-STL10-Classify-v0", root=stl10_root, split="unlabeled")


def test_the_rotation_world_has_a_recognition_task():
    env = gym.make("Rotation3D-Shapes-Classify-v0", n_objects=10, image_size=24, max_steps=3)
    _, info = env.reset(seed=0)
    assert env.action_space.shape == (13,) and env.observation_space["last_action"].shape == (3,)
    action = np.zeros(13, np.float32)
    action[:3] = 0.5  # turn
    action[3 + info["label"]] = 1.0  # and name the right class
    obs, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(log_softmax(5.0 * action[None, 3:].astype(np.float64), axis=1)[0, info["label"]]) and info["correct"]
    assert np.linalg.norm(obs["last_action"]) > 0  # the object did turn


def test_one_name_for_the_episode_length_across_families(root):
    saccade = gym.make("Saccade-Scenes-v0", root=root, n_train=24, n_test=8, glimpse_size=16, max_steps=2)
    path = gym.make("PathIntegration-Scenes-v0", n_worlds=2, world_size=64, glimpse_size=16, max_steps=2)
    rotation = gym.make("Rotation3D-Shapes-v0", n_objects=2, image_size=24, max_steps=2)
    for env in (saccade, path, rotation):
        env.reset(seed=0)
        dones = [env.step(env.action_space.sample())[3] for _ in range(2)]
        assert dones == [False, True]
    assert gym.make("Saccade-Scenes-v0", root=root, n_train=24, n_test=8, max_saccades=3).unwrapped.max_steps == 3
    with pytest.raises(ValueError, match="same episode length"):
        gym.make("Saccade-Scenes-v0", root=root, n_train=24, n_test=8, max_saccades=3, max_steps=5)
