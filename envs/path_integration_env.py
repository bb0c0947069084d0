"""``PathIntegrationEnv``: a retina wandering over a large world image, one displacement per step."""

from __future__ import annotations

from typing import Any

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.checks import check_action, check_options, pick_index
from envs.coordinates import norm_to_pixel, pixel_to_norm
from envs.datasets.base import ImageDataset
from envs.rendering import FOVEA_COLOR, PERIPHERY_COLOR, SCANPATH_COLOR, to_rgb
from envs.retina import Retina
from envs.window import FrameWindowMixin

__all__ = ["PathIntegrationEnv", "make_worlds", "PATH_REWARDS"]

PATH_REWARDS = ("none", "home")
_START_COLOR = (255, 80, 200)


def make_worlds(n: int = 16, size: int = 256, tiles: int = 2, seed: int = 0) -> ImageDataset:
    """``n`` world images, uint8 ``[n, size, size, 3]``: ``tiles x tiles`` mosaics of natural
    backgrounds (photographs and textures shipped with scikit-image, see
    ``envs.datasets.textures``). World ``i`` draws from ``SeedSequence(seed, spawn_key=(i,))``,
    so the same seed gives the same bytes and a smaller ``n`` a prefix. Labels are -1.
    """
    from envs.datasets.textures import load_backgrounds, sample_background

    for name, value, lo in (("n", n, 1), ("size", size, 16), ("tiles", tiles, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    if size % tiles:
        raise ValueError(f"size must be a multiple of tiles, got size={size}, tiles={tiles}")
    backgrounds = load_backgrounds()
    side = size // tiles
    images = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for r in range(tiles):
            for c in range(tiles):
                tile = sample_background(rng, backgrounds, side)
                images[i, r * side:(r + 1) * side, c * side:(c + 1) * side] = np.rint(tile).astype(np.uint8)
    return ImageDataset(name="worlds", images=images, labels=np.full(n, -1, np.int64), class_names=(),
                        fingerprint=f"worlds-seed{seed}-n{n}-{size}x{size}x3-t{tiles}", split="train")


class PathIntegrationEnv(FrameWindowMixin, gym.Env):
    """Move a foveated retina over a large world image; the task is to track where it has gone.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (2,)))``: the glimpse at the
    current fixation (as in the saccade envs), and the displacement actually applied to reach it
    (zeros after ``reset``). ``last_action`` is bounded by ``max_step`` plus one pixel (grid snapping).

    ## Action
    ``Box(-max_step, max_step, (2,), float32)``: the displacement ``(d_row, d_col)`` in the world's
    normalised units (``envs.coordinates``: a unit is the world's height / width). The target is
    clipped to the reachable area (with ``keep_inside=True`` the fovea stays inside the world) and
    snapped to the pixel grid; the applied difference comes back as ``last_action``.

    ## Reward
    ``reward="none"`` (default): 0. ``"home"``: on the last step only, minus the Euclidean distance
    (normalised units) between the final and the first position, so returning home scores 0.

    ## Episode
    ``reset`` picks a world (uniformly, or ``options={"index": i}``) and a start fixation uniform
    over the reachable pixels (or ``options={"position": (row, col)}``, normalised). Truncated
    after ``max_steps`` steps; never terminated.

    ## Info
    ``position`` float32 ``[2]`` normalised (row, col); ``fixation`` int64 ``[2]`` pixel;
    ``start_position`` float32 ``[2]``; ``displacement`` float32 ``[2]``: position minus start
    position, i.e. the sum of all ``last_action`` so far (the path-integration target);
    ``index`` (world index); ``label`` (-1 for the generated worlds); ``step``.

    ## Arguments
    ``dataset`` (an ``envs.datasets.ImageDataset`` whose images are the worlds; default
    ``make_worlds(n_worlds, world_size, tiles, seed)``), ``glimpse_size`` (G, default 32),
    ``scales``, ``padding`` ("zero" | "reflect"), ``max_step`` (in (0, 1], default 0.25),
    ``max_steps`` (episode length), ``keep_inside``, ``reward`` ("none" | "home"),
    ``render_mode`` ("rgb_array" | "human"), ``render_size`` (long side of the rendered frame).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 4}
    window_caption = "path integration env"

    def __init__(
        self,
        dataset: ImageDataset | None = None,
        n_worlds: int = 16,
        world_size: int = 256,
        tiles: int = 2,
        seed: int = 0,
        glimpse_size: int = 32,
        scales: tuple[int, ...] = (1,),
        padding: str = "zero",
        max_step: float = 0.25,
        max_steps: int = 16,
        keep_inside: bool = True,
        reward: str = "none",
        render_mode: str | None = None,
        render_size: int = 512,
    ) -> None:
        if dataset is None:
            dataset = make_worlds(n_worlds, world_size, tiles, seed)
        if len(dataset) == 0:
            raise ValueError("dataset is empty: the environment needs at least one world image")
        if isinstance(max_step, bool) or not isinstance(max_step, (int, float, np.floating)) or not 0 < max_step <= 1:
            raise ValueError(f"max_step must be a number in (0, 1] (normalised world units), got {max_step!r}")
        for name, value in (("max_steps", max_steps), ("render_size", render_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if reward not in PATH_REWARDS:
            raise ValueError(f"reward must be one of {PATH_REWARDS}, got {reward!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.retina = Retina(glimpse_size=glimpse_size, scales=tuple(scales), padding=padding)
        shape = tuple(int(d) for d in dataset.images.shape[1:])
        h, w = shape[:2]
        g = self.retina.glimpse_size
        if keep_inside and (g > h or g > w):
            raise ValueError(f"glimpse_size {g} must not exceed the world size {h}x{w} when keep_inside=True")

        self.dataset = dataset
        self.world_shape = (h, w)
        self.max_step = float(max_step)
        self.max_steps = int(max_steps)
        self.keep_inside = bool(keep_inside)
        self.reward_mode = reward
        self.render_mode = render_mode
        self.render_size = int(render_size)
        # reachable fixations (pixels, inclusive): the fovea crop is rows fix - G//2 .. fix - G//2 + G - 1
        lo = g // 2 if keep_inside else 0
        self._lo = np.array([lo, lo], np.int64)
        self._hi = np.array([h - g + lo, w - g + lo], np.int64) if keep_inside else np.array([h - 1, w - 1], np.int64)

        channels = shape[2] if len(shape) == 3 else 1
        bound = self.max_step + 1.0 / min(h, w)
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0, 255, (len(self.retina.scales), g, g, channels), np.uint8),
            last_action=spaces.Box(-bound, bound, (2,), np.float32),
        )
        self.action_space = spaces.Box(-self.max_step, self.max_step, (2,), np.float32)

        self._index = 0
        self._world: np.ndarray | None = None
        self._fixations: list[np.ndarray] = []
        self._last_action = np.zeros(2, np.float32)
        self._steps = 0

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = check_options(options, ("index", "position"))
        self._index = pick_index(options, len(self.dataset), self.np_random)
        if "position" in options:
            pos = np.asarray(options["position"], np.float64)
            if pos.shape != (2,) or not np.all(np.isfinite(pos)):
                raise ValueError(f"options['position'] must be a finite normalised (row, col) of shape (2,), got {pos}")
            start = self._snap(pos)
        else:
            start = self.np_random.integers(self._lo, self._hi + 1).astype(np.int64)
        image = np.ascontiguousarray(self.dataset.images[self._index], dtype=np.uint8)
        self._world = image[:, :, None] if image.ndim == 2 else image
        self._fixations = [start]
        self._steps = 0
        self._last_action = np.zeros(2, np.float32)
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        if self._world is None:
            raise RuntimeError("call reset() before step()")
        action = np.clip(check_action(action, 2, "(d_row, d_col)"), -self.max_step, self.max_step)
        current = pixel_to_norm(self._fixations[-1], self.world_shape)
        target = self._snap(current.astype(np.float64) + action)
        self._last_action = pixel_to_norm(target, self.world_shape) - current
        self._fixations.append(target)
        self._steps += 1
        truncated = self._steps >= self.max_steps
        reward = 0.0
        if self.reward_mode == "home" and truncated:
            reward = -float(np.linalg.norm(self._displacement()))
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, False, truncated, self._info()

    def _snap(self, position: np.ndarray) -> np.ndarray:
        """Normalised position -> the nearest reachable pixel (int64 [2])."""
        return np.clip(norm_to_pixel(position, self.world_shape), self._lo, self._hi)

    def _displacement(self) -> np.ndarray:
        return pixel_to_norm(self._fixations[-1], self.world_shape) - pixel_to_norm(self._fixations[0], self.world_shape)

    def _observation(self) -> dict[str, np.ndarray]:
        return {"glimpse": self.retina.glimpse(self._world, self._fixations[-1]), "last_action": self._last_action.copy()}

    def _info(self) -> dict[str, Any]:
        fixation = self._fixations[-1]
        return {
            "position": pixel_to_norm(fixation, self.world_shape),
            "fixation": fixation.copy(),
            "start_position": pixel_to_norm(self._fixations[0], self.world_shape),
            "displacement": self._displacement(),
            "index": self._index,
            "label": int(self.dataset.labels[self._index]),
            "step": self._steps,
        }

    # ------------------------------------------------------------------ inspection
    @property
    def world(self) -> np.ndarray:
        """The current world image, uint8 ``[H, W, C]``."""
        if self._world is None:
            raise RuntimeError("call reset() first")
        return self._world

    @property
    def path(self) -> np.ndarray:
        """Fixations of the episode so far, int64 ``[N, 2]`` pixels (row, col)."""
        return np.array(self._fixations, dtype=np.int64).reshape(-1, 2)

    # ------------------------------------------------------------------ rendering
    def render_frame(self) -> np.ndarray:
        """uint8 RGB: the world resized so its long side is ``render_size``, with the path (start
        in magenta), and the retina's squares at the current fixation."""
        if self._world is None:
            raise RuntimeError("call reset() before render()")
        h, w = self.world_shape
        f = self.render_size / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_NEAREST
        canvas = np.ascontiguousarray(cv2.resize(to_rgb(self._world), size, interpolation=interp))
        shift = 4
        pts = np.rint(self.path[:, ::-1] * f * (1 << shift)).astype(np.int32)  # (x, y) fixed point
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, SCANPATH_COLOR, 2, cv2.LINE_AA, shift)
        cv2.circle(canvas, tuple(pts[0]), 5 << shift, _START_COLOR, -1, cv2.LINE_AA, shift)
        cv2.circle(canvas, tuple(pts[-1]), 4 << shift, SCANPATH_COLOR, -1, cv2.LINE_AA, shift)
        g = self.retina.glimpse_size
        for k, s in enumerate(self.retina.scales):
            top_left = (self._fixations[-1] - (g * s) // 2)[::-1] * f
            p0 = np.rint(top_left * (1 << shift)).astype(int)
            p1 = np.rint((top_left + g * s * f) * (1 << shift)).astype(int)
            cv2.rectangle(canvas, tuple(p0), tuple(p1), FOVEA_COLOR if k == 0 else PERIPHERY_COLOR, 2 if k == 0 else 1,
                          cv2.LINE_AA, shift)
        return canvas
