"""The batched agent that rolls a family's training sequences, chosen by the world's family object.

:data:`AGENTS` maps a :class:`envs.families.Family` to its agent builder ``(world, seed, **kwargs)``;
a family with no entry gets uniform random actions (:class:`agents.batched.BatchedRandomAgent`), so a
new world family can be pretrained before it has an agent of its own.
"""

from __future__ import annotations

from typing import Any, Callable

from agents.batched import BatchedRandomAgent, saccade_policy
from agents.rotation_walk import ROTATION_POLICIES, RotationWalkAgent, UniformRotationAgent
from agents.trajectories import SmoothTrajectoryAgent
from checks import check_choice
from envs.families import PATH, ROTATION, SACCADE, Family

__all__ = ["default_agent", "AGENTS"]


def _saccade(world: Any, seed: int | None, policy: str = "saliency", mode: str = "sample",
             uniform_weight: float = 0.5, checkpoint: Any = None) -> Any:
    if policy == "world_model":  # a checkpoint chooses: 16 candidates drawn inside the bounds, the most novel wins
        if checkpoint is None:
            raise ValueError("checkpoint: policy 'world_model' needs a seq-JEPA checkpoint of this world")
        from agents.world_model import BatchedWorldModelAgent
        return BatchedWorldModelAgent(checkpoint, world, k=16, candidates="sample", score="novelty", seed=seed)
    return saccade_policy(policy, world, seed, mode=mode, uniform_weight=uniform_weight)


def _path(world: Any, seed: int | None, **kwargs: Any) -> Any:
    low, high = world.position_bounds
    return SmoothTrajectoryAgent(world.max_step, low, high, seed=seed, **kwargs)


def _rotation(world: Any, seed: int | None, policy: str = "walk", **kwargs: Any) -> Any:
    check_choice("policy", policy, ROTATION_POLICIES)
    if policy == "uniform":
        return UniformRotationAgent(world.max_angle, seed=seed, **kwargs)
    return RotationWalkAgent(seed=seed, **kwargs)


def _random(world: Any, seed: int | None, **kwargs: Any) -> Any:
    return BatchedRandomAgent(world.action_dim, seed=seed, **kwargs)


AGENTS: dict[Family, Callable[..., Any]] = {SACCADE: _saccade, PATH: _path, ROTATION: _rotation}


def default_agent(world: Any, seed: int | None = None, **kwargs: Any) -> Any:
    """The batched agent of ``world``'s family (``world.family``, :data:`AGENTS`): a saccade policy
    (``policy`` = ``saliency`` | ``uniform`` | ``mixture``, see :func:`agents.saccade_policy`; or
    ``world_model`` with ``checkpoint``: :class:`agents.world_model.BatchedWorldModelAgent`),
    smooth trajectories (path integration) or a rotation policy (``policy`` = ``walk`` | ``uniform``,
    see :data:`agents.rotation_walk.ROTATION_POLICIES`); uniform random actions for a family with
    no entry; ``kwargs`` go to it."""
    return AGENTS.get(world.family, _random)(world, seed, **kwargs)
