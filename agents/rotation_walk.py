"""``RotationWalkAgent``: bounded random rotation walks for the 3D-rotation envs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.batched import SeededAgent, batch_size, restart_mask
from checks import check_real

__all__ = ["RotationWalkAgent"]


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
        action = (axis * angle[:, None]).astype(np.float32)
        # float32 rounding may lift a norm a hair over the fraction; keep norms <= 1 exactly
        over = np.linalg.norm(action.astype(np.float64), axis=1) > 1.0
        action[over] = (action[over] * np.float32(1.0 - 1e-6)).astype(np.float32)
        return action


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v [N, 3]`` scaled to unit norm (a standard normal row is 0 with probability 0)."""
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norm, 1e-300)
