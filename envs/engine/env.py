"""``ActiveVisionEnv``: the single Gymnasium env of every family, a :class:`envs.engine.world.World` of one row.

In the shape of Minigrid's ``MiniGridEnv``: this class owns the spaces, truncation,
``last_action``, the observation and info assembly, option and action checks, seeding and
rendering; a family only writes its ``World`` (state, how an action applies, view, info).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from checks import check_seed
from envs.engine.input_checks import check_action, check_options
from envs.engine.window import FrameWindowMixin
from envs.engine.world import World, delegate

__all__ = ["ActiveVisionEnv", "RENDER_MODES", "observation_space", "action_space"]

RENDER_MODES = ("rgb_array", "human")
_ROW = np.zeros(1, np.int64)


def observation_space(world: World) -> spaces.Dict:
    """``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (A,)))`` of one row."""
    bound = world.last_action_bound
    return spaces.Dict(
        glimpse=spaces.Box(0, 255, world.glimpse_shape, np.uint8),
        last_action=spaces.Box(-bound, bound, (world.transform_dim,), np.float32),
    )


def action_space(world: World) -> spaces.Box:
    """The normalised action of one row, ``Box(-1, 1, (A,), float32)``."""
    return spaces.Box(-1.0, 1.0, (world.action_dim,), np.float32)


def check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")
    return render_mode


class ActiveVisionEnv(FrameWindowMixin, gym.Env):
    """One episode at a time of a family's :class:`World` (built with ``n=1``).

    Observation, action, info and episode are the family's (see its env class). The attributes of
    the world that describe the env (``retina``, ``dataset``, ``max_step``, ...) are readable on
    the env too.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, world: World, render_mode: str | None = None) -> None:
        if world.n != 1:
            raise ValueError(f"a single env needs a world of one row, got n={world.n}")
        self.world = world
        self.render_mode = check_render_mode(render_mode)
        self.window_caption = world.window_caption
        self.observation_space = observation_space(world)
        self.action_space = action_space(world)
        self.max_steps = world.max_steps
        self._started = False
        self._ended = False  # the episode truncated (or terminated): step() wants reset() first
        self._steps = 0
        self._last_action = np.zeros(world.transform_dim, np.float32)

    def __getattr__(self, name: str) -> Any:
        """Public attributes of the world (``retina``, ``dataset``, ...), read-only conveniences."""
        return delegate(self, "world", name)

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode. ``seed`` (None or an int >= 0) and ``options`` are checked before
        anything changes or any number is drawn: a reset that raises leaves the env as it was."""
        seed = check_seed(seed)
        options = self.world.check_reset_options(check_options(options, self.world.reset_options))
        super().reset(seed=seed)
        self.world.reset_rows(_ROW, [self.np_random], [options])
        self._started = True
        self._ended = False
        self._steps = 0
        self._last_action = np.zeros(self.world.transform_dim, np.float32)
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        """One step of the episode. Before the first ``reset()``, or once the episode has been
        truncated (or terminated), RuntimeError says to call ``reset()`` and nothing changes."""
        self._check_steppable()
        action = np.clip(check_action(action, self.world.action_dim, self.world.action_meaning), -1.0, 1.0)
        truncated = self._steps + 1 >= self.max_steps
        applied, reward = self.world.apply(_ROW, action[None], [self.np_random], np.array([truncated]))
        self._last_action = np.asarray(applied[0], np.float32)
        self._steps += 1
        self._ended = bool(truncated)
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward[0]), False, truncated, self._info()

    def _check_started(self) -> None:
        """RuntimeError saying to call ``reset()`` while no episode has started (the inspection properties)."""
        if not self._started:
            raise RuntimeError("call reset() first")

    def _check_steppable(self) -> None:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._ended:
            raise RuntimeError(f"the episode has ended (truncated after max_steps={self.max_steps} steps); "
                               "call reset() before step()")

    def _observation(self) -> dict[str, np.ndarray]:
        return {"glimpse": self.world.glimpses()[0], "last_action": self._last_action.copy()}

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        values = self.world.info()
        for key, value in values.items():
            if key.startswith("_") or not values.get("_" + key, (True,))[0]:
                continue  # a key the world reports only now and then (mask "_key"), absent this step
            item = value[0]
            info[key] = item.item() if np.ndim(item) == 0 else item
        info["step"] = self._steps
        return info

    # ------------------------------------------------------------------ rendering
    def render_frame(self, **kwargs: Any) -> np.ndarray:
        if not self._started:
            raise RuntimeError("call reset() before render()")
        return self.world.render_frame(0, **kwargs)
