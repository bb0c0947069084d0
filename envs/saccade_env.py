"""``SaccadeEnv``: an image seen through foveated glimpses, one saccade per step."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.checks import check_action, check_options, pick_index
from envs.coordinates import clip_norm, norm_to_pixel, pixel_to_norm
from envs.rendering import draw_retina_boxes, draw_scanpath, overlay, to_rgb, upscale
from envs.retina import Retina
from envs.window import FrameWindowMixin
from saliency import DEFAULT_METHOD, IOR_MODES, METHODS, PriorityTracker, saliency_map

__all__ = ["SaccadeEnv", "REWARDS", "FIRST_FIXATIONS"]

REWARDS = ("none", "saliency", "object")
FIRST_FIXATIONS = ("sample", "argmax", "center")


class SaccadeEnv(FrameWindowMixin, gym.Env):
    """Look at an image through a foveated retina; every action is a saccade.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (2,)))``: the glimpse at
    the current fixation at every retina scale (scale 1 = the fovea at full resolution, scale
    ``s`` = the ``G*s`` square area-averaged to ``G x G``), and the saccade actually applied to
    reach it (zeros after ``reset``).

    ## Action
    ``Box(-1, 1, (2,), float32)``: the relative saccade ``(d_row, d_col)`` in normalised image
    units (see ``envs.coordinates``). The target is clipped to the image (with
    ``keep_inside=True``: to the fixations whose largest retina square lies inside the image)
    and snapped to the pixel grid; the applied difference comes back as ``last_action``.

    ## Reward
    ``reward="none"`` (default): 0. ``"saliency"``: the priority mass (saliency with inhibition
    of return, summing to 1) inside the fovea at the new fixation, before it is inhibited:
    rewards looking at salient places not yet seen. ``"object"``: 1 when the fixation lands
    inside an object box (datasets with boxes only).

    ## Episode
    ``reset`` picks an image (uniformly, or ``options={"index": i}``) and makes the first
    fixation from the saliency map (``first_fixation``). Each ``step`` applies a saccade and
    updates inhibition of return. Truncated after ``max_saccades`` saccades; never terminated.

    ## Info
    ``position`` float32 ``[2]`` normalised (row, col); ``fixation`` int64 ``[2]`` pixel;
    ``label`` (int, -1 if unlabeled); ``index`` (image index); ``priority`` float32 ``[H, W]``
    (saliency with IoR, sums to 1: where an agent would look next); ``step``.

    ## Arguments
    ``dataset`` (an ``envs.datasets.ImageDataset``), ``glimpse_size`` (G, default 32),
    ``scales`` (tuple of ints, first 1), ``padding`` ("zero" | "reflect"), ``max_saccades``,
    ``saliency_method``, ``ior`` ("square" | "disc" | "gaussian"), ``ior_radius`` (pixels),
    ``ior_decay`` (gaussian recovery per saccade), ``first_fixation`` ("sample" | "argmax" |
    "center"), ``reward``, ``render_mode`` ("rgb_array" | "human"), ``render_scale``,
    ``keep_inside`` (default False; True: fixations keep the largest retina square inside the
    image, so no glimpse ever reads padding and the border gives no position cue: the saliency
    map is zero outside those fixations and saccades are clipped to them).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 4}
    window_caption = "saccade env"

    def __init__(
        self,
        dataset: Any,
        glimpse_size: int = 32,
        scales: tuple[int, ...] = (1,),
        padding: str = "zero",
        max_saccades: int = 4,
        saliency_method: str = DEFAULT_METHOD,
        ior: str = "square",
        ior_radius: int = 16,
        ior_decay: float = 1.0,
        first_fixation: str = "sample",
        reward: str = "none",
        render_mode: str | None = None,
        render_scale: int = 4,
        saliency_cache_size: int = 1024,
        saliency_maps: np.ndarray | None = None,
        keep_inside: bool = False,
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("dataset is empty: the environment needs at least one image")
        if not isinstance(max_saccades, (int, np.integer)) or max_saccades < 1:
            raise ValueError(f"max_saccades must be a positive integer, got {max_saccades!r}")
        for name, value, allowed in (
            ("saliency_method", saliency_method, METHODS),
            ("ior", ior, IOR_MODES),
            ("first_fixation", first_fixation, FIRST_FIXATIONS),
            ("reward", reward, REWARDS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
        if reward == "object" and getattr(dataset, "boxes", None) is None:
            raise ValueError("reward='object' needs a dataset with object boxes (e.g. Saccade-Scenes-v0)")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if ior_radius <= 0:
            raise ValueError(f"ior_radius must be positive (pixels), got {ior_radius}")
        if not 0.0 < ior_decay <= 1.0:
            raise ValueError(f"ior_decay must be in (0, 1], got {ior_decay}")
        if ior != "gaussian" and ior_decay != 1.0:
            raise ValueError(f"ior_decay < 1 needs ior='gaussian' (hard square/disc IoR does not decay), got ior={ior!r}")
        if not isinstance(render_scale, (int, np.integer)) or render_scale < 1:
            raise ValueError(f"render_scale must be a positive integer, got {render_scale!r}")
        if saliency_maps is not None and tuple(saliency_maps.shape) != (len(dataset), *dataset.images.shape[1:3]):
            raise ValueError(f"saliency_maps must be [N, H, W] = {(len(dataset), *dataset.images.shape[1:3])} "
                             f"(one map per image, e.g. from envs.saliency_cache.dataset_saliency), "
                             f"got {tuple(saliency_maps.shape)}")
        if not isinstance(saliency_cache_size, (int, np.integer)) or saliency_cache_size < 0:
            raise ValueError(f"saliency_cache_size must be an int >= 0, got {saliency_cache_size!r}")

        if not isinstance(keep_inside, (bool, np.bool_)):
            raise ValueError(f"keep_inside must be True or False, got {keep_inside!r}")
        self.dataset = dataset
        self.retina = Retina(glimpse_size=glimpse_size, scales=tuple(scales), padding=padding)
        self.keep_inside = bool(keep_inside)
        self.max_saccades = int(max_saccades)
        self.saliency_method = saliency_method
        self.ior, self.ior_radius, self.ior_decay = ior, int(ior_radius), float(ior_decay)
        self.first_fixation = first_fixation
        self.reward_mode = reward
        self.render_mode = render_mode
        self.render_scale = int(render_scale)
        self.saliency_cache_size = int(saliency_cache_size)
        self._saliency_cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._saliency_maps = saliency_maps

        shape = tuple(int(d) for d in dataset.images.shape[1:])
        self.image_shape = shape[:2]
        # fixation bounds (inclusive pixels): the whole image, or where the largest square fits
        if self.keep_inside:
            self._bounds = self.retina.inside_bounds(self.image_shape)
            self._inside_mask: np.ndarray | None = self.retina.inside_mask(self.image_shape)
        else:
            self._bounds = (np.zeros(2, np.int64), np.asarray(self.image_shape, np.int64) - 1)
            self._inside_mask = None
        channels = shape[2] if len(shape) == 3 else 1
        n_scales = len(self.retina.scales)
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0, 255, (n_scales, glimpse_size, glimpse_size, channels), np.uint8),
            last_action=spaces.Box(-1.0, 1.0, (2,), np.float32),
        )
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

        self._index = 0
        self._image: np.ndarray | None = None
        self._tracker: PriorityTracker | None = None
        self._fixations: list[np.ndarray] = []
        self._last_action = np.zeros(2, np.float32)
        self._steps = 0

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = check_options(options, ("index",))
        self._index = pick_index(options, len(self.dataset), self.np_random)

        self._image = to_hwc(self.dataset.images[self._index])
        sal = self._saliency_of(self._index, self._image)
        if self._inside_mask is not None:
            sal = sal * self._inside_mask
        self._tracker = PriorityTracker(sal, mode=self.ior, radius=self.ior_radius, decay=self.ior_decay)
        if self.first_fixation == "sample":
            first = np.asarray(self._tracker.sample(float(self.np_random.random())), np.int64)
        elif self.first_fixation == "argmax":
            first = np.asarray(self._tracker.argmax(), np.int64)
        else:
            first = np.clip(np.array([self.image_shape[0] // 2, self.image_shape[1] // 2], np.int64), *self._bounds)
        self._fixations = []
        self._steps = 0
        self._last_action = np.zeros(2, np.float32)
        self._fixate(first)
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        if self._image is None:
            raise RuntimeError("call reset() before step()")
        action = np.clip(check_action(action, 2, "(d_row, d_col)"), -1.0, 1.0)
        current = pixel_to_norm(self._fixations[-1], self.image_shape)
        target = np.clip(norm_to_pixel(clip_norm(current + action, self.image_shape), self.image_shape),
                         *self._bounds)
        self._last_action = pixel_to_norm(target, self.image_shape) - current
        reward = self._reward(target)
        self._fixate(target)
        self._steps += 1
        truncated = self._steps >= self.max_saccades
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, False, truncated, self._info()

    def _saliency_of(self, index: int, image: np.ndarray) -> np.ndarray:
        """The saliency map of image ``index``: precomputed, or computed and kept in a small LRU cache."""
        if self._saliency_maps is not None:
            return np.ascontiguousarray(self._saliency_maps[index], dtype=np.float32)
        cached = self._saliency_cache.get(index)
        if cached is not None:
            self._saliency_cache.move_to_end(index)
            return cached
        sal = saliency_map(image, method=self.saliency_method)
        if self.saliency_cache_size:
            self._saliency_cache[index] = sal
            if len(self._saliency_cache) > self.saliency_cache_size:
                self._saliency_cache.popitem(last=False)
        return sal

    def _fixate(self, fixation: np.ndarray) -> None:
        """Move the eye to ``fixation`` (pixel) and inhibit it (the priority map is refreshed)."""
        self._fixations.append(np.asarray(fixation, np.int64))
        self._tracker.fixate(fixation)

    def _reward(self, target: np.ndarray) -> float:
        if self.reward_mode == "saliency":
            g = self.retina.glimpse_size
            (r0, c0) = np.asarray(target) - g // 2
            h, w = self.image_shape
            return float(self._tracker.priority[max(r0, 0):min(r0 + g, h), max(c0, 0):min(c0 + g, w)].sum())
        if self.reward_mode == "object":
            boxes = np.asarray(self.dataset.boxes[self._index]).reshape(-1, 4)
            r, c = int(target[0]), int(target[1])
            hit = (boxes[:, 0] >= 0) & (boxes[:, 0] <= r) & (r < boxes[:, 2]) & (boxes[:, 1] <= c) & (c < boxes[:, 3])
            return float(hit.any())
        return 0.0

    def _observation(self) -> dict[str, np.ndarray]:
        return {
            "glimpse": self.retina.glimpse(self._image, self._fixations[-1]),
            "last_action": self._last_action.copy(),
        }

    def _info(self) -> dict[str, Any]:
        fixation = self._fixations[-1]
        return {
            "position": pixel_to_norm(fixation, self.image_shape),
            "fixation": fixation.copy(),
            "label": int(self.dataset.labels[self._index]),
            "index": self._index,
            "priority": self._tracker.priority,  # a fresh array each step, never modified later
            "step": self._steps,
        }

    # ------------------------------------------------------------------ inspection
    @property
    def image(self) -> np.ndarray:
        """The current image, uint8 ``[H, W, C]``."""
        if self._image is None:
            raise RuntimeError("call reset() first")
        return self._image

    @property
    def scanpath(self) -> np.ndarray:
        """Fixations of the episode so far, int64 ``[N, 2]`` pixels (row, col)."""
        return np.array(self._fixations, dtype=np.int64).reshape(-1, 2)

    @property
    def saliency(self) -> np.ndarray:
        """The current image's saliency map, float32 ``[H, W]`` (no IoR)."""
        if self._tracker is None:
            raise RuntimeError("call reset() first")
        return self._tracker.saliency

    @property
    def priority(self) -> np.ndarray:
        """The current priority map (saliency with IoR, sums to 1), float32 ``[H, W]``."""
        if self._tracker is None:
            raise RuntimeError("call reset() first")
        return self._tracker.priority

    # ------------------------------------------------------------------ rendering
    def render_frame(self, show_priority: bool = True) -> np.ndarray:
        """uint8 RGB ``[H*k, W*k, 3]``: the image (with the priority map blended in), scanpath and retina boxes."""
        if self._image is None:
            raise RuntimeError("call reset() before render()")
        base = overlay(self._image, self._tracker.priority, 0.45) if show_priority else to_rgb(self._image)
        canvas = upscale(base, self.render_scale)
        draw_retina_boxes(canvas, self._fixations[-1], self.retina.glimpse_size, self.retina.scales, self.render_scale)
        return draw_scanpath(canvas, self.scanpath, self.render_scale)


def to_hwc(image: np.ndarray) -> np.ndarray:
    """A dataset image as contiguous uint8 ``[H, W, C]`` (grey ``[H, W]`` gets C = 1)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return image[:, :, None] if image.ndim == 2 else image


def precomputed_saliency(dataset: Any, root: Any, method: str | None) -> np.ndarray:
    """Every image's saliency map, computed once and memory-mapped from ``<root>/saliency/``."""
    from envs.datasets.base import resolve_root
    from envs.saliency_cache import dataset_saliency

    return dataset_saliency(dataset, method=method or DEFAULT_METHOD, cache_dir=resolve_root(root))
