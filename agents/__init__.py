"""Policies that act in the envs through the public Gymnasium API: single-env agents and batched
agents for native vector envs (one action row per env row)."""

from agents.base import Agent
from agents.batched import (SACCADE_POLICIES, SALIENCY_MODES, BatchedMixtureAgent, BatchedRandomAgent,
                            BatchedSaliencyAgent, BatchedUniformAgent, saccade_policy)
from agents.defaults import default_agent
from agents.random_agent import RandomAgent
from agents.rotation_walk import ROTATION_POLICIES, RotationWalkAgent, UniformRotationAgent
from agents.saliency_agent import SaliencyAgent
from agents.trajectories import SmoothTrajectoryAgent

__all__ = [
    "Agent",
    "BatchedWorldModelAgent",
    "BatchedMixtureAgent",
    "BatchedRandomAgent",
    "BatchedSaliencyAgent",
    "BatchedUniformAgent",
    "RandomAgent",
    "ROTATION_POLICIES",
    "RotationWalkAgent",
    "SACCADE_POLICIES",
    "SALIENCY_MODES",
    "SaliencyAgent",
    "SmoothTrajectoryAgent",
    "UniformRotationAgent",
    "WorldModelAgent",
    "default_agent",
    "saccade_policy",
]


def __getattr__(name: str) -> object:
    """The world-model agents, imported on first use (they need torch; ``import agents`` does not)."""
    if name in ("WorldModelAgent", "BatchedWorldModelAgent"):
        from agents import world_model
        return getattr(world_model, name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
