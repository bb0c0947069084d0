"""``UniformRotationAgent``: Haar-uniform relative rotations inside the env's bound."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import envs  # noqa: F401  (registers the ids)
from agents import ROTATION_POLICIES, RotationWalkAgent, UniformRotationAgent, default_agent


def _obs(n: int) -> dict:
    return {"last_action": np.zeros((n, 3), np.float32)}


def _info(n: int) -> dict:
    return {"step": np.zeros(n, np.int64)}


def test_full_turns_give_haar_uniform_angles() -> None:
    agent = UniformRotationAgent(math.pi, seed=0)
    a = agent.act(_obs(20000), _info(20000)).astype(np.float64)
    angle = np.linalg.norm(a, axis=1) * math.pi
    assert a.dtype == np.float64 and np.all(np.linalg.norm(a, axis=1) <= 1.0)
    # Haar measure: the angle has density (1 - cos t) / pi on [0, pi], mean pi/2 + 2/pi
    assert abs(angle.mean() - (math.pi / 2 + 2 / math.pi)) < 0.02
    assert abs(np.mean(angle < math.pi / 2) - (math.pi / 2 - 1) / math.pi) < 0.01
    # and the axis is isotropic
    axis = a / np.linalg.norm(a, axis=1, keepdims=True)
    assert np.all(np.abs(axis.mean(0)) < 0.03)


@settings(max_examples=25, deadline=None)
@given(max_angle=st.floats(0.05, math.pi), n=st.integers(1, 64), seed=st.integers(0, 2 ** 32 - 1))
def test_actions_stay_inside_the_unit_ball(max_angle: float, n: int, seed: int) -> None:
    a = UniformRotationAgent(max_angle, seed=seed).act(_obs(n), _info(n))
    assert a.shape == (n, 3) and a.dtype == np.float32
    assert np.all(np.isfinite(a)) and np.all(np.linalg.norm(a.astype(np.float64), axis=1) <= 1.0)


def test_seeded_agents_repeat() -> None:
    a = UniformRotationAgent(1.0, seed=3).act(_obs(8), _info(8))
    b = UniformRotationAgent(1.0, seed=3).act(_obs(8), _info(8))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0.0, -1.0, 4.0, float("nan")])
def test_bad_max_angle_is_named(bad: float) -> None:
    with pytest.raises(ValueError, match="max_angle"):
        UniformRotationAgent(bad)


def test_views_are_independent_uniform_orientations_in_the_env() -> None:
    """With max_angle = pi the next orientation does not depend on the last one (Haar invariance)."""
    venv = gym.make_vec("Rotation3D-Shapes-v0", num_envs=256, n_objects=4, image_size=16, max_angle=math.pi,
                        max_steps=3)
    agent = default_agent(venv.unwrapped.world if hasattr(venv, "unwrapped") else venv.world, seed=0, policy="uniform")
    assert isinstance(agent, UniformRotationAgent)
    obs, info = venv.reset(seed=0, options={"rotation": [1.0, 0.0, 0.0, 0.0]})
    first = info["rotation"].astype(np.float64)
    obs, _, _, _, info = venv.step(agent.act(obs, info))
    q = info["rotation"].astype(np.float64)
    np.testing.assert_allclose(first[:, 0], 1.0)  # every row started at the identity
    # the applied rotation is the action: q = exp(a * pi) * identity, so q's angle is |a| pi
    angle = 2 * np.arccos(np.clip(np.abs(q[:, 0]), 0, 1))
    np.testing.assert_allclose(angle, np.linalg.norm(obs["last_action"].astype(np.float64), axis=1), atol=1e-4)
    # uniform orientations: the rotation matrices average to 0
    w, x, y, z = q.T
    r00 = 1 - 2 * (y * y + z * z)
    assert abs(r00.mean()) < 0.15
    venv.close()


def test_default_agent_policies() -> None:
    venv = gym.make_vec("Rotation3D-Shapes-v0", num_envs=2, n_objects=2, image_size=16)
    world = venv.world
    assert ROTATION_POLICIES == ("walk", "uniform")
    assert isinstance(default_agent(world, 0), RotationWalkAgent)
    assert isinstance(default_agent(world, 0, policy="walk"), RotationWalkAgent)
    assert default_agent(world, 0, policy="uniform").max_angle == pytest.approx(world.max_angle)
    with pytest.raises(ValueError, match="policy must be one of"):
        default_agent(world, 0, policy="saliency")
    venv.close()
