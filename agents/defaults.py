"""The batched agent that rolls a family's training sequences, chosen by the world's family."""

from __future__ import annotations

from typing import Any

from agents.batched import saccade_policy
from agents.rotation_walk import ROTATION_POLICIES, RotationWalkAgent, UniformRotationAgent
from checks import check_choice
from agents.trajectories import SmoothTrajectoryAgent

__all__ = ["default_agent"]


def _saccade(world: Any, seed: int | None, policy: str = "saliency", mode: str = "sample",
             uniform_weight: float = 0.5) -> Any:
    return saccade_policy(policy, world, seed, mode=mode, uniform_weight=uniform_weight)


def _path(world: Any, seed: int | None, **kwargs: Any) -> Any:
    low, high = world.position_bounds
    return SmoothTrajectoryAgent(world.max_step, low, high, seed=seed, **kwargs)


def _rotation(world: Any, seed: int | None, policy: str = "walk", **kwargs: Any) -> Any:
    check_choice("policy", policy, ROTATION_POLICIES)
    if policy == "uniform":
        return UniformRotationAgent(world.max_angle, seed=seed, **kwargs)
    return RotationWalkAgent(seed=seed, **kwargs)


_BY_FAMILY = {"saccade": _saccade, "path": _path, "rotation": _rotation}


def default_agent(world: Any, seed: int | None = None, **kwargs: Any) -> Any:
    """The batched agent of ``world``'s family (``world.family.name``): a saccade policy
    (``policy`` = ``saliency`` | ``uniform`` | ``mixture``, see :func:`agents.saccade_policy`),
    smooth trajectories (path integration) or a rotation policy (``policy`` = ``walk`` | ``uniform``,
    see :data:`agents.rotation_walk.ROTATION_POLICIES`); ``kwargs`` go to it."""
    return _BY_FAMILY[world.family.name](world, seed, **kwargs)
