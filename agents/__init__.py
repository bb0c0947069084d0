"""Policies that act in the saccade envs through the public Gymnasium API."""

from agents.base import Agent
from agents.random_agent import RandomAgent
from agents.rollout import Episode, rollout
from agents.saliency_agent import SaliencyAgent

__all__ = ["Agent", "RandomAgent", "SaliencyAgent", "Episode", "rollout"]
