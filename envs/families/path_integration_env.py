"""``PathIntegrationEnv``: a retina wandering over a large world image, one displacement per step."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.datasets.base import ImageDataset
from envs.engine.env import ActiveVisionEnv
from envs.engine.vector_env import vector_entry
from envs.families.path_world import PATH_REWARDS, PathWorld, make_worlds

__all__ = ["PathIntegrationEnv", "make_worlds", "PATH_REWARDS", "make_vector", "check_kwargs"]


class PathIntegrationEnv(ActiveVisionEnv):
    """Move a foveated retina over a large world image; the task is to track where it has gone.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (2,)))``: the glimpse at the
    current fixation (as in the saccade envs), and the displacement actually applied to reach it
    (zeros after ``reset``), in normalised world units: bounded by ``max_step`` plus one pixel
    (grid snapping); with ``action_noise > 0`` it is the applied displacement plus Gaussian noise
    of that standard deviation (a noisy self-motion signal: dead reckoning drifts, vision must help).

    ## Action
    ``Box(-1, 1, (2,), float32)``: the displacement ``(d_row, d_col)`` in units of ``max_step``
    (the world moves ``action * max_step`` normalised units; ``envs.engine.coordinates``: a unit is the
    world's height / width). The target is
    clipped to the reachable area (with ``keep_inside=True`` the fovea stays inside the world) and
    snapped to the pixel grid; the applied difference comes back as ``last_action``.

    ## Reward
    ``reward="none"`` (default): 0. ``"home"``, the homing task of the path-integration
    literature: for the first ``outbound_steps`` steps (default half the episode) the env moves the
    retina itself (uniform random moves; the agent's actions are ignored, ``info["outbound"]`` says
    so, ``last_action`` shows the moves); afterwards each step pays how much nearer to the start
    it brought the retina (Euclidean, normalised units). An episode's rewards sum to the distance
    at the turn minus the final distance: standing still earns 0, going home earns the most.

    ## Episode
    ``reset`` picks a world (uniformly, or ``options={"index": i}``) and a start fixation uniform
    over the reachable pixels (or ``options={"position": (row, col)}``, normalised). Truncated
    after ``max_steps`` steps; never terminated. A ``step`` after the end (or before any ``reset``) raises RuntimeError
    ("... call reset() before step()") and changes nothing.

    ## Info
    ``position`` float32 ``[2]`` normalised (row, col); ``fixation`` int64 ``[2]`` pixel;
    ``start_position`` float32 ``[2]``; ``displacement`` float32 ``[2]``: position minus start
    position, i.e. the sum of all ``last_action`` so far (the path-integration target);
    ``index`` (world index); ``label`` (-1 for the generated worlds); ``step``.

    ## Arguments
    ``dataset`` (an ``envs.datasets.ImageDataset`` whose images are the worlds; default
    ``make_worlds(n_worlds, world_size, tiles, seed)``), ``glimpse_size`` (G, default 32),
    ``scales``, ``padding`` ("zero" | "reflect"), ``max_step`` (in (0, 1], default 0.25),
    ``max_steps`` (episode length), ``keep_inside``, ``action_noise`` (std of the noise on the reported
    ``last_action``, in [0, 1], default 0), ``reward`` ("none" | "home"), ``outbound_steps``
    (the env-driven steps of the homing task: an int in [0, max_steps); default max_steps // 2
    with ``reward="home"``, else 0),
    ``render_mode`` ("rgb_array" | "human"), ``render_size`` (long side of the rendered frame).
    """

    def __init__(self, dataset: ImageDataset | None = None, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(PathWorld(1, dataset, **kwargs), render_mode=render_mode)

    @property
    def world_image(self) -> np.ndarray:
        """The current world image, uint8 ``[H, W, C]``."""
        self._check_started()
        return self.world.image(0)

    @property
    def path(self) -> np.ndarray:
        """Fixations of the episode so far, int64 ``[N, 2]`` pixels (row, col)."""
        return self.world.scanpath(0)


def check_kwargs(n: int, dataset: ImageDataset | None = None, render_mode: str | None = None, **kwargs: Any) -> None:
    """Every keyword of ``PathIntegration-Scenes-v0`` (``n`` rows) checked; no world is generated
    (:meth:`PathWorld.check_keywords`)."""
    world_hw = None if dataset is None else tuple(int(d) for d in dataset.images.shape[1:3])
    PathWorld.check_keywords(n, world_hw, **kwargs)


make_vector = vector_entry(PathWorld)
