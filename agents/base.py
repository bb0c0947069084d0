"""The agent interface: anything with ``reset(seed)`` and ``act(observation, info) -> action``."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Agent"]


@runtime_checkable
class Agent(Protocol):
    """A policy acting through the public Gymnasium API.

    ``act`` receives the observation dict and the ``info`` dict that ``reset``/``step``
    returned and gives the next action: for saccade envs a float32 ``[2]`` relative saccade
    ``(d_row, d_col)`` in normalised image units. ``reset(seed)`` starts an episode and
    re-seeds the agent's own random generator (agents never share the env's).
    """

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray: ...
