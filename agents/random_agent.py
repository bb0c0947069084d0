"""``RandomAgent``: uniformly random saccades (the chance baseline)."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.batched import SeededAgent
from checks import check_real

__all__ = ["RandomAgent"]


class RandomAgent(SeededAgent):
    """Saccade to a uniformly random place on the image.

    With ``amplitude=None`` the target is uniform over the image (so fixations are uniform,
    whatever the current position); with an ``amplitude`` in (0, 1] the saccade is uniform in
    ``[-amplitude, amplitude]^2`` around the current position. Uses only ``info["position"]``.
    """

    def __init__(self, amplitude: float | None = None, seed: int | None = None) -> None:
        self.amplitude = None if amplitude is None else check_real("amplitude", amplitude, 0.0, 1.0, lo_open=True)
        super().__init__(seed)

    def act(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        position = np.asarray(info["position"], np.float32)
        if self.amplitude is None:
            return (self.rng.random(2).astype(np.float32) - position).astype(np.float32)
        return self.rng.uniform(-self.amplitude, self.amplitude, size=2).astype(np.float32)
