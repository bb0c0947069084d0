"""Pretraining policies of the 3D-rotation envs: bounded random rotation walks
(``RotationWalkAgent``) and uniformly random relative rotations (``UniformRotationAgent``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.batched import SeededAgent, batch_size, restart_mask
from checks import check_real
from envs.engine.so3 import random_quaternion, so3_log

__all__ = ["RotationWalkAgent", "UniformRotationAgent", "ROTATION_POLICIES"]

# Pretraining policies of the rotation family (agents.default_agent's ``policy`` keyword).
ROTATION_POLICIES = ("walk", "uniform")


class RotationWalkAgent(SeededAgent):
    """Per row, rotate about an axis that drifts smoothly over the sphere, by a random angle.

    Each step, row i's unit axis ``k`` drifts as ``k <- normalise(s k + sqrt(1 - s^2) g / sqrt(3))``
    with ``g ~ N(0, I_3)`` and ``s = smoothness`` (1: a fixed axis; 0: a fresh uniform axis every
    step; 0.95 turns it by about 0.3 rad a step), and the angle is uniform in
    ``[0, max_angle_fraction)`` in units of the env's ``max_angle``. The action is the rotation
    vector ``k * angle``, float32 ``[N, 3]``, norm < 1 (the env's normalised action).

    Arguments: ``max_angle_fraction`` in (0, 1] (default 1), ``smoothness`` in [0, 1]
    (default 0.95), ``seed``. ``act`` needs ``info["step"]`` int ``[N]``: rows with 0 restart
    from a fresh axis, uniform on the sphere (as do all rows on the first call or when N
    changes). After ``act``, ``axis`` holds the float64 ``[N, 3]`` unit axes used.
    """

    def __init__(self, max_angle_fraction: float = 1.0, smoothness: float = 0.95, seed: int | None = None) -> None:
        self.max_angle_fraction = check_real("max_angle_fraction", max_angle_fraction, 0.0, 1.0, lo_open=True)
        self.smoothness = check_real("smoothness", smoothness, 0.0, 1.0)
        super().__init__(seed)
        self._forget()

    def _forget(self) -> None:
        self.axis: np.ndarray | None = None

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        n = batch_size(obs, info, 3)
        restart = restart_mask(info, n)
        drift = self.rng.standard_normal((n, 3))
        fresh = _unit(self.rng.standard_normal((n, 3)))
        angle = self.rng.random(n) * self.max_angle_fraction
        if self.axis is None or self.axis.shape[0] != n:  # first call or a new batch: all rows fresh
            restart = np.ones(n, bool)
            self.axis = fresh.copy()
        s = self.smoothness
        axis = s * self.axis + math.sqrt(1.0 - s * s) / math.sqrt(3.0) * drift
        norm = np.linalg.norm(axis, axis=1)
        degenerate = norm < 1e-12
        axis[~degenerate] /= norm[~degenerate, None]
        axis[degenerate | restart] = fresh[degenerate | restart]
        self.axis = axis
        return _inside_unit_ball(axis * angle[:, None])


def _inside_unit_ball(action: np.ndarray) -> np.ndarray:
    """float64 actions ``[N, 3]`` of norm <= 1 as float32, norms kept <= 1 exactly (float32 rounding may
    lift a norm a hair over 1)."""
    out = action.astype(np.float32)
    over = np.linalg.norm(out.astype(np.float64), axis=1) > 1.0
    out[over] = (out[over] * np.float32(1.0 - 1e-6)).astype(np.float32)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v [N, 3]`` scaled to unit norm (a standard normal row is 0 with probability 0)."""
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norm, 1e-300)


class UniformRotationAgent(SeededAgent):
    """Per row, a relative rotation drawn uniformly (Haar measure) among those the env allows.

    Each row's rotation is uniform on SO(3) restricted to angles ``<= max_angle`` (the env's
    ``max_angle``, radians; drawn by rejection from uniform rotations). With ``max_angle = pi``
    every rotation is allowed, and since a uniform rotation applied to any orientation gives a
    uniform orientation, every view of an episode is then an independent uniformly random
    orientation of the object (3DIEBench's sampling, the rotation analogue of uniform fixations).
    The action is the rotation vector divided by ``max_angle``, float32 ``[N, 3]``, norm <= 1.

    Arguments: ``max_angle`` in (0, pi] (the env's; read it from ``world.max_angle``), ``seed``.
    Stateless: ``act`` needs only the batch size (from ``obs`` or ``info``).
    """

    def __init__(self, max_angle: float = math.pi, seed: int | None = None) -> None:
        self.max_angle = check_real("max_angle", max_angle, 0.0, math.pi, lo_open=True)
        super().__init__(seed)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        n = batch_size(obs, info, 3)
        out = np.empty((n, 3), np.float64)
        todo = np.arange(n)
        while len(todo):
            rotvec = so3_log(random_quaternion(self.rng, len(todo)))
            ok = np.linalg.norm(rotvec, axis=1) <= self.max_angle
            out[todo[ok]] = rotvec[ok]
            todo = todo[~ok]
        return _inside_unit_ball(out / self.max_angle)
