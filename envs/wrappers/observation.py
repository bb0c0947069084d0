"""Observation wrappers that make the envs easy to learn from with standard RL libraries.

- :class:`AddPosition`: the fixation ``position`` (normalised row, col) as an observation key.
- :class:`AddTimeStep`: the episode's progress ``step / max_steps`` as an observation key.
- :class:`ChannelsFirstGlimpse`: the glimpse ``(S, G, G, C)`` as one channel-first image
  ``(S*C, G, G)`` uint8 (scales stacked as channels), the layout Stable-Baselines3's image
  policies and ``agents.sb3.GlimpseExtractor`` expect; a stacked glimpse ``(..., S, G, G, C)``
  (e.g. under ``FrameStackObservation``) becomes ``(...*S*C, G, G)``.
- :func:`sb3_ready`: all three (the position where the env reports one), the usual stack for
  ``PPO("MultiInputPolicy", env)``.

Each works on a single env of any registered id, over other wrappers too; the obs keys are added
to the ``Dict`` space with their bounds.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from checks import check_int

__all__ = ["AddPosition", "AddTimeStep", "ChannelsFirstGlimpse", "sb3_ready", "reports_position"]


def reports_position(env: gym.Env) -> bool | None:
    """Whether ``env``'s info holds ``position`` (saccade and path-integration worlds do, rotation
    worlds do not); None for an env that is not built on an ``envs.engine.world.World``."""
    world = getattr(env.unwrapped, "world", None)
    return None if world is None else "position" in world.info()


class _DictObservationWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds keys computed from ``(obs, info)`` to a ``Dict`` observation (reset and step)."""

    def __init__(self, env: gym.Env, extra: dict[str, spaces.Space]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        if not isinstance(env.observation_space, spaces.Dict):
            raise ValueError(f"{type(self).__name__} needs a Dict observation space, got {env.observation_space}")
        clash = set(extra) & set(env.observation_space.spaces)
        if clash:
            raise ValueError(f"the observation already has the keys {sorted(clash)}")
        self.observation_space = spaces.Dict({**env.observation_space.spaces, **extra})

    def extra(self, obs: dict[str, Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return {**obs, **self.extra(obs, info)}, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return {**obs, **self.extra(obs, info)}, reward, terminated, truncated, info


class AddPosition(_DictObservationWrapper):
    """``obs["position"]``: float32 ``[2]`` in [0, 1], the fixation (saccade and path-integration envs)."""

    def __init__(self, env: gym.Env) -> None:
        if reports_position(env) is False:
            raise ValueError(f"AddPosition needs an env whose info holds 'position' (a saccade or path-integration "
                             f"env), got {env.unwrapped.spec.id if env.unwrapped.spec else type(env.unwrapped).__name__}"
                             f" (pass position=None or False to sb3_ready)")
        super().__init__(env, {"position": spaces.Box(0.0, 1.0, (2,), np.float32)})

    def extra(self, obs: dict[str, Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
        if "position" not in info:
            raise ValueError("AddPosition needs info['position'] (a saccade or path-integration env)")
        return {"position": np.asarray(info["position"], np.float32)}


class AddTimeStep(_DictObservationWrapper):
    """``obs["time"]``: float32 ``[1]`` in [0, 1], ``step / max_steps`` of the episode."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env, {"time": spaces.Box(0.0, 1.0, (1,), np.float32)})
        self._max_steps = int(env.unwrapped.max_steps)

    def extra(self, obs: dict[str, Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"time": np.array([min(info["step"] / self._max_steps, 1.0)], np.float32)}


class ChannelsFirstGlimpse(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """``obs["glimpse"]`` ``(S, G, G, C)`` -> ``(S*C, k*G, k*G)`` uint8, channel ``s*C + c`` (scale-major).
    Leading axes are stacked too: ``(F, S, G, G, C)`` (``FrameStackObservation``) -> ``(F*S*C, k*G, k*G)``,
    channel ``(f*S + s)*C + c``.

    ``min_size``: the smallest integer zoom ``k`` (nearest neighbour) giving ``k*G >= min_size``
    (default 1: no zoom; 36 lets Stable-Baselines3's default ``NatureCNN`` read 16 or 32 px glimpses).
    """

    def __init__(self, env: gym.Env, min_size: int = 1) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, min_size=min_size)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or "glimpse" not in space.spaces or len(space["glimpse"].shape) < 4:
            raise ValueError("ChannelsFirstGlimpse needs a Dict observation with a 'glimpse' key of shape "
                             f"(..., S, G, G, C), got {space}")
        min_size = check_int("min_size", min_size, 1, 512)
        *lead, g, _, c = space["glimpse"].shape
        self.zoom = -(-int(min_size) // g)
        self._shape = (int(np.prod(lead)) * c, g * self.zoom, g * self.zoom)
        self.observation_space = spaces.Dict({**space.spaces, "glimpse": spaces.Box(0, 255, self._shape, np.uint8)})

    def observation(self, obs: dict[str, Any]) -> dict[str, Any]:
        glimpse = np.asarray(obs["glimpse"])
        g = np.moveaxis(glimpse.reshape(-1, *glimpse.shape[-3:]), -1, 1).reshape(-1, *glimpse.shape[-3:-1])
        if self.zoom > 1:
            g = g.repeat(self.zoom, axis=1).repeat(self.zoom, axis=2)
        return {**obs, "glimpse": np.ascontiguousarray(g, np.uint8)}


def sb3_ready(env: gym.Env, position: bool | None = None, time: bool = True, min_size: int = 36) -> gym.Env:
    """``env`` with channel-first glimpses (zoomed to at least ``min_size`` px, so SB3's default
    ``NatureCNN`` works; pass ``min_size=1`` with ``agents.sb3.GlimpseExtractor``) and, optionally,
    the fixation position (``position``: None adds it where the env reports one, i.e. not for
    rotation envs; True requires it) and the time step."""
    if position is None:
        position = reports_position(env) is not False
    if position:
        env = AddPosition(env)
    if time:
        env = AddTimeStep(env)
    return ChannelsFirstGlimpse(env, min_size=min_size)
