"""What the active agent sees of a step: glimpse ``[N, C, G, G]``, position ``[N, P]`` and time ``[N]``,
from ap_gym's observations (``glimpse``, ``glimpse_pos``, ``time_step``) or ours (``glimpse``
``[N, S, G, G, C]`` uint8, ``info["position"]`` in [0, 1], ``info["step"]``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["observe"]


def observe(obs: dict[str, Any], info: dict[str, Any], horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(glimpse [N, C, G, G] (uint8 or float32), position float32 [N, P] in [-1, 1], time float32 [N])``."""
    if "glimpse_pos" in obs:  # ap_gym: float images [N, H, W, C], positions and time already in [-1, 1]
        glimpse = np.ascontiguousarray(np.moveaxis(np.asarray(obs["glimpse"], np.float32), -1, 1))
        return glimpse, np.asarray(obs["glimpse_pos"], np.float32), np.asarray(obs["time_step"], np.float32)
    if "glimpse" not in obs or "position" not in info or "step" not in info:
        raise ValueError("observe needs obs['glimpse_pos'] (ap_gym) or obs['glimpse'] with info['position'] and "
                         f"info['step'] (a saccade recognition env), got obs keys {sorted(obs)}")
    g = np.asarray(obs["glimpse"])
    n, s, gs, _, c = g.shape
    glimpse = np.ascontiguousarray(g.transpose(0, 1, 4, 2, 3).reshape(n, s * c, gs, gs))  # scale-major channels
    position = np.asarray(info["position"], np.float32).reshape(n, -1) * 2.0 - 1.0
    time = np.asarray(info["step"], np.float32).reshape(n) / max(horizon, 1) * 2.0 - 1.0
    return glimpse, position, time
