"""Batched agents against the vector-env contract (synthetic batched obs/info, no env needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import (
    Agent,
    BatchedRandomAgent,
    BatchedSaliencyAgent,
    RotationWalkAgent,
    SaliencyAgent,
    SmoothTrajectoryAgent,
)
from envs.engine.coordinates import pixel_to_norm
from saliency import new_inhibition, priority_map, update_inhibition

LOW, HIGH, MAX_STEP = np.array([0.0625, 0.0625]), np.array([0.9375, 0.9375]), 0.25


def _saccade_info(n: int = 8, h: int = 24, w: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Batched saccade-env info: priority maps (saliency with IoR, sum 1) and positions."""
    rng = np.random.default_rng(seed)
    priority, position = [], []
    for _ in range(n):
        sal = rng.random((h, w)).astype(np.float32) ** 4
        fix = (int(rng.integers(h)), int(rng.integers(w)))
        priority.append(priority_map(sal, update_inhibition(new_inhibition((h, w)), fix, "square", 4)))
        position.append(pixel_to_norm(np.array(fix), (h, w)))
    return {"priority": np.stack(priority), "position": np.stack(position),
            "step": np.ones(n, np.int64), "fixation": np.zeros((n, 2), np.int64)}


def _walk(agent, n: int = 64, steps: int = 500, seed: int = 1, restart_every: int | None = None):
    """Integrate a trajectory agent's actions without any clipping; returns positions [T+1, N, 2], actions [T, N, 2]."""
    pos = np.random.default_rng(seed).uniform(LOW, HIGH, (n, 2))
    positions, actions = [pos.copy()], []
    for t in range(steps):
        step = t % restart_every if restart_every else t
        act = agent.act({"last_action": np.zeros((n, 2), np.float32)},
                        {"position": pos.astype(np.float32), "step": np.full(n, step, np.int64)})
        assert act.dtype == np.float32 and act.shape == (n, 2)
        pos = pos + act.astype(np.float64) * MAX_STEP
        positions.append(pos.copy())
        actions.append(act)
    return np.array(positions), np.array(actions)


def _turns(actions: np.ndarray) -> np.ndarray:
    """Absolute heading changes between successive displacements, radians [T-1, N]."""
    angle = np.arctan2(actions[..., 1], actions[..., 0])
    return np.abs(np.angle(np.exp(1j * np.diff(angle, axis=0))))


def _trajectory_agent(seed: int = 0, **kwargs) -> SmoothTrajectoryAgent:
    return SmoothTrajectoryAgent(MAX_STEP, low=LOW, high=HIGH, seed=seed, **kwargs)


def test_batched_agents_satisfy_the_protocol():
    for agent in (BatchedSaliencyAgent(), BatchedRandomAgent(2), SmoothTrajectoryAgent(0.25), RotationWalkAgent()):
        assert isinstance(agent, Agent)


# ------------------------------------------------------------------ saliency
def test_saliency_agent_matches_the_single_agent_row_by_row():
    info = _saccade_info()
    batched = BatchedSaliencyAgent(seed=5).act({}, info)
    single = SaliencyAgent(seed=5)  # one generator: N successive draws == rng.random(N)
    rows = [single.act({}, {"priority": info["priority"][i], "position": info["position"][i]}) for i in range(8)]
    assert batched.dtype == np.float32 and batched.shape == (8, 2)
    np.testing.assert_array_equal(batched, np.stack(rows))


def test_saliency_agent_targets_have_priority_and_argmax_hits_the_peak():
    info = _saccade_info(seed=2)
    sampled = BatchedSaliencyAgent(seed=0).targets(info)
    assert np.all(info["priority"][np.arange(8), sampled[:, 0], sampled[:, 1]] > 0)
    act = BatchedSaliencyAgent(mode="argmax").act({}, info)
    peaks = np.array([np.unravel_index(np.argmax(p), p.shape) for p in info["priority"]])
    np.testing.assert_allclose(info["position"] + act, pixel_to_norm(peaks, (24, 32)), atol=1e-6)
    assert np.all(np.abs(act) <= 1)


def test_saliency_agent_is_deterministic_and_reset_reseeds():
    info = _saccade_info(seed=3)
    agent = BatchedSaliencyAgent(seed=4)
    first = [agent.act({}, info) for _ in range(3)]
    agent.reset(seed=4)
    np.testing.assert_array_equal(np.stack(first), np.stack([agent.act({}, info) for _ in range(3)]))
    assert not all(np.array_equal(first[0], f) for f in first[1:])  # draws advance


# ------------------------------------------------------------------ random
def test_random_agent_range_shape_and_determinism():
    obs = {"last_action": np.zeros((50, 3), np.float32)}
    acts = np.stack([BatchedRandomAgent(3, amplitude=0.3, seed=1).act(obs, {}) for _ in range(2)])
    assert acts.shape == (2, 50, 3) and acts.dtype == np.float32
    np.testing.assert_array_equal(acts[0], acts[1])
    many = BatchedRandomAgent(3, amplitude=0.3, seed=2).act({"last_action": np.zeros((4000, 3))}, {})
    assert np.abs(many).max() <= 0.3 and np.abs(many).max() > 0.29
    np.testing.assert_allclose(many.mean(axis=0), 0, atol=0.02)
    assert BatchedRandomAgent(2).act({}, {"step": np.zeros(7, np.int64)}).shape == (7, 2)


# ------------------------------------------------------------------ smooth trajectories
def test_trajectory_stays_inside_the_box_without_clipping_and_keeps_the_margin():
    agent = _trajectory_agent()
    positions, actions = _walk(agent)
    assert np.all(positions >= LOW) and np.all(positions <= HIGH)
    inner = (positions[1:] >= LOW + agent.wall_margin - 1e-9) & (positions[1:] <= HIGH - agent.wall_margin + 1e-9)
    start_inner = (positions[0] >= LOW + agent.wall_margin) & (positions[0] <= HIGH - agent.wall_margin)
    assert np.all(inner[:, start_inner])  # a coordinate that starts outside the margin never enters it
    assert np.all(np.abs(actions) <= 1)
    # it explores: every quarter of the box is visited by most rows
    quarter = (positions[..., 0] > 0.5) * 2 + (positions[..., 1] > 0.5)
    visited = np.array([[np.any(quarter[:, i] == q) for q in range(4)] for i in range(64)])
    assert visited.mean() > 0.9


def test_speeds_are_rayleigh_with_the_requested_mean():
    agent = _trajectory_agent(speed_mean=0.08)
    _, actions = _walk(agent)
    speed = np.linalg.norm(actions[20:].astype(np.float64), axis=2) * MAX_STEP
    assert speed.mean() == pytest.approx(0.08, rel=0.05)
    rayleigh_cv = math.sqrt(4 / math.pi - 1)  # std / mean of any Rayleigh
    assert speed.std() / speed.mean() == pytest.approx(rayleigh_cv, rel=0.1)
    assert speed.max() <= MAX_STEP * (1 + 1e-6) and speed.min() >= 0
    np.testing.assert_allclose(agent.speed, speed[-1], rtol=1e-5)  # walls turn a row, never slow it
    lagged = np.corrcoef(speed[:-1].ravel(), speed[1:].ravel())[0, 1]
    assert lagged > 0.5  # OU speed: coherent over steps (white noise would give ~0)


def test_headings_turn_smoothly():
    _, actions = _walk(_trajectory_agent(rotation_std=0.2))
    turns = _turns(actions)
    assert np.median(turns) < 0.25  # |N(0, 0.2)| has median 0.135; uniform headings give pi / 2
    assert turns.mean() < 0.5
    _, fresh = _walk(_trajectory_agent(rotation_std=0.2), restart_every=1)  # every step a restart
    assert _turns(fresh).mean() > 1.3


def test_trajectory_agent_is_deterministic_with_a_seed():
    a, b, c = (_walk(_trajectory_agent(seed=s), n=16, steps=60)[1] for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    agent = _trajectory_agent(seed=3)
    _walk(agent, n=16, steps=10)
    agent.reset(seed=3)
    np.testing.assert_array_equal(_walk(agent, n=16, steps=60)[1], a)


def test_rows_restart_on_step_zero_independently_of_their_history():
    n, rows = 12, np.array([1, 4, 5, 10])
    centre = {"position": np.full((n, 2), 0.5, np.float32)}
    histories = (np.full((n, 2), 0.5), np.random.default_rng(0).uniform(LOW, HIGH, (n, 2)))
    outs = []
    for history in histories:  # same seed, same number of calls, different paths
        agent = _trajectory_agent(seed=9)
        agent.act({}, {"position": history.astype(np.float32), "step": np.zeros(n, np.int64)})
        for t in range(1, 8):
            agent.act({}, {"position": history.astype(np.float32), "step": np.full(n, t, np.int64)})
        step = np.full(n, 8, np.int64)
        step[rows] = 0
        outs.append((agent.act({}, {**centre, "step": step}), agent.heading.copy(), agent.speed.copy()))
    (act_a, head_a, speed_a), (act_b, head_b, speed_b) = outs
    np.testing.assert_array_equal(act_a[rows], act_b[rows])
    np.testing.assert_array_equal(head_a[rows], head_b[rows])
    keep = np.setdiff1d(np.arange(n), rows)
    assert not np.allclose(head_a[keep], head_b[keep])  # the other rows carry their history


def test_wall_turn_keeps_the_parallel_component_and_corners_turn_back():
    agent = SmoothTrajectoryAgent(0.25, rotation_std=0.0, wall_margin=0.05, speed_coherence_steps=1e9, seed=0)
    position = np.array([[0.06, 0.5], [0.06, 0.06]])
    agent.act({}, {"position": position.astype(np.float32), "step": np.zeros(2, np.int64)})
    agent.heading[:] = [math.radians(225.0), math.radians(225.0)]  # up-left: into the top wall; into the corner
    act = agent.act({}, {"position": position.astype(np.float32), "step": np.ones(2, np.int64)})
    assert act[0, 0] == 0 and act[0, 1] < 0  # slides along the top wall, to the left
    assert act[1, 0] > 0 and act[1, 1] > 0  # out of the corner
    np.testing.assert_allclose(np.linalg.norm(act, axis=1) * 0.25, agent.speed, rtol=1e-6)


# ------------------------------------------------------------------ rotation walks
def _rotate(agent, n: int = 32, steps: int = 200, restart_every: int | None = None):
    acts, axes = [], []
    for t in range(steps):
        step = t % restart_every if restart_every else t
        acts.append(agent.act({"last_action": np.zeros((n, 3), np.float32)}, {"step": np.full(n, step, np.int64)}))
        axes.append(agent.axis.copy())
    return np.array(acts), np.array(axes)


def test_rotation_walk_norms_bounded_and_angles_uniform():
    acts, axes = _rotate(RotationWalkAgent(max_angle_fraction=0.5, seed=0))
    norms = np.linalg.norm(acts.astype(np.float64), axis=2)
    assert acts.dtype == np.float32 and np.all(norms <= 0.5)
    assert norms.mean() == pytest.approx(0.25, rel=0.05)
    np.testing.assert_allclose(np.linalg.norm(axes, axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(acts, (axes * norms[..., None]).astype(np.float32), atol=1e-6)
    full = np.linalg.norm(_rotate(RotationWalkAgent(seed=1))[0].astype(np.float64), axis=2)
    assert np.all(full <= 1.0) and full.max() > 0.99


def test_rotation_axis_drifts_smoothly_and_restarts_on_step_zero():
    axes = _rotate(RotationWalkAgent(smoothness=0.95, seed=2))[1]
    drift = np.arccos(np.clip(np.sum(axes[1:] * axes[:-1], axis=2), -1, 1))
    assert drift.mean() < 0.45  # about 0.3 rad per step
    _, fresh = _rotate(RotationWalkAgent(smoothness=0.95, seed=2), restart_every=1)
    jumps = np.arccos(np.clip(np.sum(fresh[1:] * fresh[:-1], axis=2), -1, 1))
    assert jumps.mean() == pytest.approx(math.pi / 2, rel=0.1)  # fresh uniform axes: mean angle pi / 2
    fixed = _rotate(RotationWalkAgent(smoothness=1.0, seed=3), steps=20)[1]
    np.testing.assert_allclose(fixed, np.broadcast_to(fixed[0], fixed.shape), atol=1e-12)


def test_rotation_walk_is_deterministic():
    a, b, c = (_rotate(RotationWalkAgent(seed=s), steps=30)[0] for s in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,match", [
    (lambda: BatchedSaliencyAgent(mode="best"), "mode must be one of"),
    (lambda: BatchedSaliencyAgent(seed=-1), "seed must be None or an int >= 0"),
    (lambda: BatchedRandomAgent(0), "action_dim must be an int >= 1"),
    (lambda: BatchedRandomAgent(2, amplitude=1.5), r"amplitude must be a finite number in \(0, 1\]"),
    (lambda: BatchedRandomAgent(2, amplitude=0.0), r"amplitude .*\(0, 1\]"),
    (lambda: SmoothTrajectoryAgent(0.0), r"max_step must be a finite number in \(0, 1\]"),
    (lambda: SmoothTrajectoryAgent(float("nan")), "max_step must be a finite number"),
    (lambda: SmoothTrajectoryAgent(0.25, speed_mean=0.3), r"speed_mean must be a finite number in \(0, 0.25\]"),
    (lambda: SmoothTrajectoryAgent(0.25, speed_coherence_steps=0), "speed_coherence_steps must be a finite number"),
    (lambda: SmoothTrajectoryAgent(0.25, rotation_std=-0.1), r"rotation_std must be a finite number >= 0"),
    (lambda: SmoothTrajectoryAgent(0.25, wall_margin=0.5), r"wall_margin must be a finite number in \[0, 0.5\)"),
    (lambda: SmoothTrajectoryAgent(0.25, low=(0.5, 0.0), high=(0.4, 1.0)), "low must be below high"),
    (lambda: SmoothTrajectoryAgent(0.25, low=(0.0,)), r"low must be a finite \(row, col\) pair"),
    (lambda: RotationWalkAgent(max_angle_fraction=0), r"max_angle_fraction must be a finite number in \(0, 1\]"),
    (lambda: RotationWalkAgent(smoothness=1.2), r"smoothness must be a finite number in \[0, 1\]"),
])
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_act_errors_name_the_missing_or_malformed_input():
    with pytest.raises(ValueError, match="priority"):
        BatchedSaliencyAgent().act({}, {"position": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"info\['position'\] must have shape \[2, 2\]"):
        BatchedSaliencyAgent().act({}, {**_saccade_info(n=2), "position": np.zeros(2)})
    with pytest.raises(ValueError, match="'step'"):
        SmoothTrajectoryAgent(0.25).act({}, {"position": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"info\['position'\] must be finite"):
        SmoothTrajectoryAgent(0.25).act({}, {"position": np.full((3, 2), np.nan), "step": np.zeros(3)})
    with pytest.raises(ValueError, match=r"obs\['last_action'\] must have shape \[N, 3\]"):
        RotationWalkAgent().act({"last_action": np.zeros((4, 2))}, {"step": np.zeros(4)})
    with pytest.raises(ValueError, match="batch size"):
        BatchedRandomAgent(2).act({}, {})
