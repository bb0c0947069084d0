"""Policies that act in the envs through the public Gymnasium API: single-env agents and batched
agents for native vector envs (one action row per env row)."""

from agents.base import Agent
from agents.batched import (SACCADE_POLICIES, SALIENCY_MODES, BatchedMixtureAgent, BatchedRandomAgent,
                            BatchedSaliencyAgent, BatchedUniformAgent, saccade_policy)
from agents.random_agent import RandomAgent
from agents.rollout import Episode, rollout
from agents.rotation_walk import RotationWalkAgent
from agents.saliency_agent import SaliencyAgent
from agents.trajectories import SmoothTrajectoryAgent

__all__ = [
    "Agent",
    "BatchedMixtureAgent",
    "BatchedRandomAgent",
    "BatchedSaliencyAgent",
    "BatchedUniformAgent",
    "Episode",
    "RandomAgent",
    "RotationWalkAgent",
    "SACCADE_POLICIES",
    "SALIENCY_MODES",
    "SaliencyAgent",
    "SmoothTrajectoryAgent",
    "rollout",
    "saccade_policy",
]
