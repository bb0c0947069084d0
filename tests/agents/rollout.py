"""Run one episode of an agent in an env and keep what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Episode", "rollout"]


@dataclass
class Episode:
    """One episode: ``glimpses`` uint8 ``[T, S, G, G, C]``, ``actions`` float32 ``[T, 2]`` (the
    applied ``last_action``, zeros first), ``positions`` float32 ``[T, 2]``, ``rewards`` ``[T-1]``,
    the image ``index`` and ``label``."""

    glimpses: np.ndarray
    actions: np.ndarray
    positions: np.ndarray
    rewards: np.ndarray
    index: int
    label: int
    infos: list[dict[str, Any]] = field(default_factory=list, repr=False)


def rollout(env: Any, agent: Any, seed: int | None = None, options: dict[str, Any] | None = None,
            keep_infos: bool = False) -> Episode:
    """Reset ``env`` (with ``seed``/``options``) and step ``agent`` until truncation or termination."""
    obs, info = env.reset(seed=seed, options=options)
    glimpses, actions, positions, rewards, infos = [obs["glimpse"]], [obs["last_action"]], [info["position"]], [], []
    if keep_infos:
        infos.append(info)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
        glimpses.append(obs["glimpse"])
        actions.append(obs["last_action"])
        positions.append(info["position"])
        rewards.append(reward)
        if keep_infos:
            infos.append(info)
        done = terminated or truncated
    return Episode(np.stack(glimpses), np.stack(actions).astype(np.float32), np.stack(positions).astype(np.float32),
                   np.asarray(rewards, np.float64), int(info["index"]), int(info["label"]), infos)
