"""``SmoothTrajectoryAgent``: rat-like smooth random trajectories for the path-integration envs.

The motion model of the grid-cell literature: Raudies & Hasselmo (2012), the trajectory
generators of Banino et al. (2018) / Sorscher et al. (2019), and RatInABox's ``Agent`` (George
et al. 2024). Per row, each step:

1. **Speed**: a Rayleigh-distributed Ornstein-Uhlenbeck process. A 2-D latent ``w`` follows the
   exact discrete OU (AR(1)) ``w <- a w + sqrt(1 - a^2) eps`` with ``a = exp(-1 / speed_coherence_steps)``
   and ``eps ~ N(0, I_2)``, so ``w`` stays standard normal and ``speed = sigma |w|`` is exactly
   Rayleigh(sigma) at every step, with ``sigma = speed_mean / sqrt(pi / 2)``; capped at ``max_step``.
   (RatInABox maps a 1-D normal OU through the Rayleigh CDF; the norm of a 2-D one gives the same
   marginal with no special functions.)
2. **Turning**: the heading takes a Gaussian step, ``theta <- theta + N(0, rotation_std^2)``.
3. **Walls**: if the next position ``position + speed * u(theta)`` would come within ``wall_margin``
   of the box ``[low, high]`` while heading towards that wall, the heading turns parallel to the
   wall (its normal component is removed: the turn by ``sign(a) (pi/2 - |a|)`` of Raudies &
   Hasselmo, ``a`` the angle to the wall normal); heading straight into a wall or a corner it
   turns back. A row inside the box thus never leaves it, and never comes closer than
   ``wall_margin`` to a wall it started farther from. A last clip keeps the displacement inside
   the box regardless (float rounding; rows that start outside may only move back in).

The heading ``theta`` is measured so that the unit direction is ``u = (cos theta, sin theta)``
in ``(d_row, d_col)``. Positions and speeds are in the env's normalised world units (one unit =
the world's height / width; square worlds make them isotropic).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.batched import SeededAgent, info_array, restart_mask
from checks import check_real

__all__ = ["SmoothTrajectoryAgent"]

_RAYLEIGH_MEAN = math.sqrt(math.pi / 2.0)  # mean of Rayleigh(1)


class SmoothTrajectoryAgent(SeededAgent):
    """Smooth random exploration of a box, one displacement per row and step (path-integration envs).

    Arguments (world units = the env's normalised units; "per step" = per env step):
        max_step: the env's maximum displacement per step, in (0, 1]; actions are
            ``displacement / max_step``.
        low, high: the reachable box, ``(row, col)`` corners ``[2]`` with ``low < high``
            (the env's reachable fixations in normalised units); default the whole world.
        speed_mean: mean speed, in (0, max_step]; default ``0.4 * max_step`` (0.1 per step for the
            env's default ``max_step=0.25``), where the ``max_step`` cap clips under 1% of steps.
        speed_coherence_steps: OU time constant of the speed, steps, > 0 (default 5).
        rotation_std: standard deviation of the heading change, radians per step, >= 0
            (default 0.3, about 17 degrees).
        wall_margin: distance kept from the walls, >= 0 and under half the box's smaller side
            (default 0.05).
        seed: the agent's generator seed.

    ``act(obs, info)`` needs ``info["position"]`` float ``[N, 2]`` (normalised row, col) and
    ``info["step"]`` int ``[N]`` (rows with 0 restart: heading uniform in [0, 2 pi), speed
    latent fresh, so the speed is a fresh Rayleigh draw). Returns float32 ``[N, 2]``
    ``displacement / max_step`` in [-1, 1]. After ``act``, ``heading`` (rad) and ``speed``
    (world units per step, float64 ``[N]``) hold the state behind the last action. Every call
    draws the same number of uniforms and normals whatever rows restart.
    """

    def __init__(self, max_step: float, low: Any = (0.0, 0.0), high: Any = (1.0, 1.0),
                 speed_mean: float | None = None, speed_coherence_steps: float = 5.0,
                 rotation_std: float = 0.3, wall_margin: float = 0.05, seed: int | None = None) -> None:
        self.max_step = check_real("max_step", max_step, 0.0, 1.0, lo_open=True)
        self.low, self.high = _box(low, high)
        if speed_mean is None:
            speed_mean = 0.4 * self.max_step
        self.speed_mean = check_real("speed_mean", speed_mean, 0.0, self.max_step, lo_open=True)
        self.speed_coherence_steps = check_real("speed_coherence_steps", speed_coherence_steps, 0.0, lo_open=True)
        self.rotation_std = check_real("rotation_std", rotation_std, 0.0)
        side = float(np.min(self.high - self.low))
        self.wall_margin = check_real("wall_margin", wall_margin, 0.0, side / 2.0, hi_open=True)
        self.speed_scale = self.speed_mean / _RAYLEIGH_MEAN  # Rayleigh sigma
        self._decay = math.exp(-1.0 / self.speed_coherence_steps)
        super().__init__(seed)
        self._forget()

    def _forget(self) -> None:
        self.heading: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self._latent: np.ndarray | None = None

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        position = info_array(info, "position", (None, 2), np.float64)
        n = position.shape[0]
        restart = restart_mask(info, n)
        eps = self.rng.standard_normal((n, 2))
        turn = self.rng.normal(0.0, self.rotation_std, n) if self.rotation_std > 0 else np.zeros(n)
        fresh_heading = self.rng.uniform(0.0, 2.0 * math.pi, n)
        fresh_latent = self.rng.standard_normal((n, 2))
        if self._latent is None or self._latent.shape[0] != n:  # first call or a new batch: all rows fresh
            restart = np.ones(n, bool)
            self._latent, self.heading = fresh_latent.copy(), fresh_heading.copy()

        latent = self._decay * self._latent + math.sqrt(1.0 - self._decay ** 2) * eps
        heading = self.heading + turn
        latent[restart] = fresh_latent[restart]
        heading[restart] = fresh_heading[restart]
        speed = np.minimum(self.speed_scale * np.hypot(latent[:, 0], latent[:, 1]), self.max_step)

        direction = self._avoid_walls(position, speed, np.stack([np.cos(heading), np.sin(heading)], axis=1))
        self._latent, self.speed = latent, speed
        self.heading = np.mod(np.arctan2(direction[:, 1], direction[:, 0]), 2.0 * math.pi)

        step = speed[:, None] * direction
        step = np.clip(step, np.minimum(self.low - position, 0.0), np.maximum(self.high - position, 0.0))
        return np.clip(step / self.max_step, -1.0, 1.0).astype(np.float32)

    def _avoid_walls(self, position: np.ndarray, speed: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Unit directions ``[N, 2]`` turned parallel to any wall the next step would come within
        ``wall_margin`` of while heading towards it; turned back where nothing parallel is left."""
        low, high = self.low + self.wall_margin, self.high - self.wall_margin
        original = direction
        direction = direction.copy()
        stuck = np.zeros(len(direction), bool)
        for _ in range(2):  # a second pass catches the other wall of a corner after the first turn
            nxt = position + speed[:, None] * direction
            towards = ((nxt < low) & (direction < 0)) | ((nxt > high) & (direction > 0))
            direction[towards] = 0.0
            norm = np.hypot(direction[:, 0], direction[:, 1])
            stuck = norm < 1e-12
            direction[~stuck] /= norm[~stuck, None]
        direction[stuck] = -original[stuck]  # every component pointed at a near wall: turn back
        return direction


def _box(low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, value in (("low", low), ("high", high)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a finite (row, col) pair, got {value!r}") from exc
        if arr.shape != (2,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be a finite (row, col) pair, got {value!r}")
        arrays.append(arr)
    if not np.all(arrays[0] < arrays[1]):
        raise ValueError(f"low must be below high in both coordinates, got low={low!r}, high={high!r}")
    return arrays[0], arrays[1]
