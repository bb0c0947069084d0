"""``SaliencyAgent``: look where the priority map (saliency with inhibition of return) says."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.batched import SeededAgent
from checks import check_choice
from envs.engine.coordinates import pixel_to_norm
from saliency import argmax_fixation, sample_fixation
from saliency.scanpath import SCANPATH_MODES

__all__ = ["SaliencyAgent"]

MODES = SCANPATH_MODES  # the modes of saliency.scanpath, one definition


class SaliencyAgent(SeededAgent):
    """Saccade to a fixation drawn from ``info["priority"]``.

    ``mode="sample"`` draws the target from the priority map as a probability distribution
    (one uniform per step from the agent's own generator, as the paper samples its DeepGaze
    maps); ``"argmax"`` is winner-take-all. With the env's inhibition of return this
    reproduces the paper's saliency + IoR scanpaths. Returns the relative saccade
    ``target - info["position"]`` (float32 ``[2]``).
    """

    def __init__(self, mode: str = "sample", seed: int | None = None) -> None:
        self.mode = check_choice("mode", mode, MODES)
        super().__init__(seed)

    def target(self, info: dict[str, Any]) -> np.ndarray:
        """The next fixation, int64 ``[2]`` pixels (row, col)."""
        if "priority" not in info:
            raise ValueError("info must hold 'priority' (the env's saliency-with-IoR map); is this a saccade env?")
        priority = np.asarray(info["priority"], dtype=np.float32)
        if self.mode == "sample":
            return np.asarray(sample_fixation(priority, float(self.rng.random())), np.int64)
        return np.asarray(argmax_fixation(priority), np.int64)

    def act(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        priority = np.asarray(info.get("priority"))
        target = pixel_to_norm(self.target(info), priority.shape)
        return (target - np.asarray(info["position"], np.float32)).astype(np.float32)
