"""``SaccadeWorld``: N images seen through foveated glimpses, one saccade per step, in batch."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from numba import njit

from checks import check_int
from envs.engine.coordinates import max_norm_position, pixel_to_norm
from envs.engine.input_checks import check_in_episode, pick_index
from envs.engine.keywords import flag, int_in, noted, one_of, real_in
from envs.engine.retina import MAX_GLIMPSE_SIZE, MAX_RETINA_SIDE, MAX_SCALES, Retina
from envs.families import SACCADE
from envs.render.drawing import draw_retina_boxes, draw_scanpath, overlay, to_rgb, upscale
from envs.engine.world import (
    MAX_RENDER_SCALE,
    MAX_RETINA_TO_IMAGE,
    MAX_ROWS,
    MAX_STEPS,
    World,
    check_retina_fits,
)
from saliency import DEFAULT_METHOD, IOR_MODES, METHODS, saliency_map
from saliency.batch_ior import PriorityBatch
from saliency.validation import RANGES

__all__ = ["SaccadeWorld", "REWARDS", "FIRST_FIXATIONS", "to_hwc"]

REWARDS = ("none", "saliency", "object")
FIRST_FIXATIONS = ("sample", "argmax", "center")
IOR_RADIUS_RANGE = RANGES["radius"]   # pixels, any real (never rounded)
MAX_SALIENCY_CACHE = 1 << 20          # saliency_cache_size (maps kept in memory)
DEFAULT_MAX_SACCADES = 4              # max_saccades when neither it nor max_steps is given


def to_hwc(image: np.ndarray) -> np.ndarray:
    """A dataset image as contiguous uint8 ``[H, W, C]`` (grey ``[H, W]`` gets C = 1)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return image[:, :, None] if image.ndim == 2 else image


def _check_saliency_maps(maps: Any, shape: tuple[int, int, int]) -> None:
    """``saliency_maps`` must be a real ``[N, H, W]`` array; an in-memory one is checked to be finite,
    non-negative and within float32's range here (a memory-mapped cache row by row when it is read)."""
    if not hasattr(maps, "shape") or tuple(maps.shape) != shape:
        raise ValueError(f"saliency_maps must be [N, H, W] = {shape} (one map per image, e.g. from "
                         f"envs.storage.saliency_cache.dataset_saliency), got {tuple(getattr(maps, 'shape', ()))}")
    dtype = np.dtype(getattr(maps, "dtype", np.float64))
    if dtype.kind not in "fiu" or dtype == np.bool_:
        raise ValueError(f"saliency_maps must hold real numbers, got dtype {dtype}")
    if isinstance(maps, np.ndarray) and not isinstance(maps, np.memmap):
        finite = np.isfinite(maps).all() if dtype.kind == "f" else True
        if not finite or (maps < 0).any() or (dtype.kind == "f" and np.abs(maps).max(initial=0) > np.finfo(np.float32).max):
            raise ValueError("saliency_maps must be finite, non-negative and within float32's range (<= 3.4e38)")


@njit(cache=True, inline="always")
def _window(fix_r, fix_c, g, h, w):
    """The fovea's ``g x g`` square at pixel ``(fix_r, fix_c)``, clipped to ``[0, h) x [0, w)``."""
    r, c = fix_r - g // 2, fix_c - g // 2
    return max(r, 0), min(r + g, h), max(c, 0), min(c + g, w)


@njit(cache=True, inline="always")
def _pixel(a, b, i, j, unseen):
    """One pixel's part of a window sum: ``a * b`` in float64, or (``unseen``) 1 where ``a`` holds
    and ``b`` does not yet."""
    if unseen:
        return 1.0 if a[i, j] and not b[i, j] else 0.0
    return np.float64(a[i, j]) * np.float64(b[i, j])


@njit(cache=True)
def _fovea_shares(a, b, unseen, totals, floor, rows, target, g, out):
    """``out[k]``: the sum of :func:`_pixel` over row ``rows[k]``'s fovea at ``target[k]``, over
    ``max(totals[k], floor)``."""
    h, w = a.shape[1], a.shape[2]
    for k in range(rows.shape[0]):
        r = rows[k]
        r0, r1, c0, c1 = _window(target[k, 0], target[k, 1], g, h, w)
        part = 0.0
        for i in range(r0, r1):
            for j in range(c0, c1):
                part += _pixel(a[r], b[r], i, j, unseen)
        out[k] = part / max(totals[k], floor)


@njit(cache=True)
def _cover(covered, rows, fixations, first, g):
    """Mark the fovea's square at ``fixations[k]`` as seen in row ``rows[k]`` (cleared first where
    ``first[k]``: the episode's first fixation)."""
    h, w = covered.shape[1], covered.shape[2]
    for k in range(rows.shape[0]):
        r = rows[k]
        if first[k]:
            covered[r] = False
        r0, r1, c0, c1 = _window(fixations[k, 0], fixations[k, 1], g, h, w)
        covered[r, r0:r1, c0:c1] = True


class SaccadeWorld(World):
    """The saccade family's state: per row an image, its saliency with IoR, and the scanpath.

    Arguments are those of :class:`envs.families.saccade_env.SaccadeEnv` (see there), plus ``n`` rows
    (``num_envs``, an int in [1, 65536]) and the data: ``dataset`` and ``saliency_maps`` (``[N, H, W]``
    float, finite, non-negative, one map per image).
    """

    family = SACCADE
    action_dim = 2
    action_meaning = "(d_row, d_col)"
    reset_options = ("index",)
    window_caption = "saccade env"
    data_arguments = ("dataset", "saliency_maps")
    keyword_ranges = {
        "glimpse_size": noted(f"int in [1, {MAX_GLIMPSE_SIZE}]"),
        "scales": noted(f"tuple of <= {MAX_SCALES} increasing ints, first 1; the largest square "
                        f"``glimpse_size * max(scales)`` <= {MAX_RETINA_SIDE} px and <= {MAX_RETINA_TO_IMAGE} x "
                        "the image's longer side (with ``keep_inside``: inside the image)"),
        "padding": noted("'zero' | 'reflect' (the retina's)"),
        "max_saccades": noted(f"int in [1, {MAX_STEPS}], default {DEFAULT_MAX_SACCADES} (``max_steps``, the "
                              "name the other families use, is accepted for the same thing)"),
        "saliency_method": one_of(METHODS),
        "ior": one_of(IOR_MODES),
        "first_fixation": one_of(FIRST_FIXATIONS),
        "reward": one_of(REWARDS),
        "ior_radius": real_in(*IOR_RADIUS_RANGE),
        "ior_decay": real_in(0.0, 1.0, lo_open=True),
        "render_scale": int_in(1, MAX_RENDER_SCALE),
        "saliency_cache_size": int_in(0, MAX_SALIENCY_CACHE),
        "keep_inside": flag(),
        "priority_info": flag(),
    }

    @classmethod
    def check_keywords(cls, n: int, image_hw: tuple[int, int], boxes: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Every keyword checked for ``n`` rows over images of ``image_hw`` (with object ``boxes`` or
        not), without data: the values normalised, ``max_saccades`` resolved, plus the ``retina``.
        A TypeError names an unknown keyword, a ValueError a bad value (:attr:`keyword_ranges`)."""
        max_saccades, max_steps = kwargs.pop("max_saccades", None), kwargs.pop("max_steps", None)
        if max_saccades is not None and max_steps is not None and max_saccades != max_steps:
            raise ValueError(f"max_saccades and max_steps name the same episode length; pass one, got "
                             f"max_saccades={max_saccades!r} and max_steps={max_steps!r}")
        length = max_saccades if max_saccades is not None else max_steps if max_steps is not None else \
            DEFAULT_MAX_SACCADES
        length = check_int("max_saccades", length, 1, MAX_STEPS)
        k = cls.keyword_values(kwargs)
        k["max_saccades"] = k["max_steps"] = length
        if k["reward"] == "object" and not boxes:
            raise ValueError("reward='object' needs a dataset with object boxes (e.g. Saccade-Scenes-v0)")
        if k["ior"] != "gaussian" and k["ior_decay"] != 1.0:
            raise ValueError(f"ior_decay < 1 needs ior='gaussian' (hard square/disc IoR does not decay), "
                             f"got ior={k['ior']!r}")
        check_int("num_envs", n, 1, MAX_ROWS)
        k["retina"] = retina = Retina(glimpse_size=k["glimpse_size"], scales=k["scales"], padding=k["padding"])
        check_retina_fits(retina, image_hw)
        if k["keep_inside"]:
            retina.inside_bounds(image_hw)
        return k

    def __init__(
        self,
        n: int,
        dataset: Any,
        glimpse_size: int = 32,
        scales: tuple[int, ...] = (1,),
        padding: str = "zero",
        max_saccades: int | None = None,
        saliency_method: str = DEFAULT_METHOD,
        ior: str = "square",
        ior_radius: int = 16,
        ior_decay: float = 1.0,
        first_fixation: str = "sample",
        reward: str = "none",
        render_scale: int = 4,
        saliency_cache_size: int = 1024,
        saliency_maps: np.ndarray | None = None,
        keep_inside: bool = False,
        priority_info: bool = True,
        max_steps: int | None = None,
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("dataset is empty: the environment needs at least one image")
        image_hw = tuple(int(d) for d in dataset.images.shape[1:3])
        k = self.check_keywords(
            n, image_hw, getattr(dataset, "boxes", None) is not None, glimpse_size=glimpse_size, scales=scales,
            padding=padding, max_saccades=max_saccades, max_steps=max_steps, saliency_method=saliency_method, ior=ior,
            ior_radius=ior_radius, ior_decay=ior_decay, first_fixation=first_fixation, reward=reward,
            render_scale=render_scale, saliency_cache_size=saliency_cache_size, keep_inside=keep_inside,
            priority_info=priority_info)
        if saliency_maps is not None:
            _check_saliency_maps(saliency_maps, (len(dataset), *image_hw))
        max_saccades, ior_radius, ior_decay = k["max_saccades"], k["ior_radius"], k["ior_decay"]
        retina = k["retina"]
        channels = int(dataset.images.shape[3]) if dataset.images.ndim == 4 else 1
        super().__init__(n, retina, channels, max_saccades, action_scale=1.0, last_action_bound=1.0)

        self.dataset = dataset
        self.image_shape = image_hw
        self.max_saccades = max_saccades
        self.saliency_method = saliency_method
        self.ior, self.ior_decay = ior, ior_decay
        self.ior_radius: float = int(ior_radius) if ior_radius.is_integer() else ior_radius  # 16, not 16.0
        self.first_fixation = first_fixation
        self.reward_mode = reward
        self.render_scale = k["render_scale"]
        self.keep_inside = k["keep_inside"]
        self.saliency_cache_size = k["saliency_cache_size"]
        self._saliency_maps = None if saliency_maps is None else np.asarray(saliency_maps)  # a memmap as a plain view
        self._saliency_cache: OrderedDict[int, np.ndarray] = OrderedDict()
        if self.keep_inside:  # fixation bounds (inclusive pixels): where the largest square fits
            self._bounds = self.retina.inside_bounds(image_hw)
            self._inside_mask: np.ndarray | None = self.retina.inside_mask(image_hw)
        else:
            self._bounds = (np.zeros(2, np.int64), np.asarray(image_hw, np.int64) - 1)
            self._inside_mask = None
        self._max_norm = max_norm_position(image_hw)
        self._sizes = np.asarray(image_hw, np.float64)

        self.index = np.zeros(self.n, np.int64)
        stack = dataset.images  # read in place when it is one array (memory-mapped or not), else copied per row
        self._stack = np.asarray(stack).reshape(len(dataset), *image_hw, channels) if isinstance(stack, np.ndarray) \
            and stack.dtype == np.uint8 and stack.flags.c_contiguous else None  # plain ndarray view: no memmap overhead
        self._images = None if self._stack is not None else np.zeros((self.n, *image_hw, channels), np.uint8)
        self.fixations = np.zeros((self.n, max_saccades + 1, 2), np.int64)  # the scanpath of each row
        self.n_fixations = np.zeros(self.n, np.int64)
        self.priority_info = bool(priority_info)
        self._covered = np.zeros((self.n, *image_hw), bool) if reward == "object" else None
        self._objects = np.zeros((self.n, *image_hw), bool) if reward == "object" else None  # each row's boxes
        self.priority = PriorityBatch(self.n, image_hw, ior, ior_radius, ior_decay, materialize=self.priority_info)

    # ------------------------------------------------------------------ saliency
    def saliency_of(self, index: int) -> np.ndarray:
        """The saliency map of image ``index`` (keep_inside: zero outside the allowed fixations),
        float32 ``[H, W]``; precomputed, or computed and kept in a small LRU cache."""
        if self._saliency_maps is not None:
            sal = np.asarray(self._saliency_maps[index], dtype=np.float32)
        else:
            sal = self._saliency_cache.get(index)
            if sal is not None:
                self._saliency_cache.move_to_end(index)
            else:
                sal = saliency_map(to_hwc(self.dataset.images[index]), method=self.saliency_method)
                if self.saliency_cache_size:
                    self._saliency_cache[index] = sal
                    if len(self._saliency_cache) > self.saliency_cache_size:
                        self._saliency_cache.popitem(last=False)
        return sal * self._inside_mask if self._inside_mask is not None else sal

    # ------------------------------------------------------------------ episode
    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        n_images = len(self.dataset)
        index = np.array([pick_index(o, n_images, g) for o, g in zip(options, rngs)], np.int64)
        self.index[rows] = index
        order = np.argsort(index, kind="stable")  # sorted reads are kinder to memory-mapped data
        if self._images is not None:
            self._images[rows[order]] = np.asarray(self.dataset.images[index[order]], np.uint8).reshape(
                len(rows), *self._images.shape[1:])
        if not len(rows):
            return
        if self._objects is not None:  # the image's object pixels, once per episode ("object" reward)
            for row, i in zip(rows, index):
                self._objects[row] = self._object_mask(int(i))
        if isinstance(self._saliency_maps, np.ndarray) and self._saliency_maps.dtype == np.float32:
            self.priority.start_from(rows[order], self._saliency_maps, index[order], self._inside_mask)
        else:
            self.priority.start(rows[order], np.stack([self.saliency_of(int(i)) for i in index[order]]))
        if self.first_fixation == "sample":
            first = self.priority.sample(np.array([g.random() for g in rngs]), rows)
        elif self.first_fixation == "argmax":
            first = self.priority.argmax(rows)
        else:
            centre = np.array([self.image_shape[0] // 2, self.image_shape[1] // 2], np.int64)
            first = np.tile(np.clip(centre, *self._bounds), (len(rows), 1))
        self.n_fixations[rows] = 0
        self._fixate(rows, first)

    def priority_maps(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The priority maps (saliency with IoR, each summing to 1) of ``rows`` (default: every row),
        a fresh float32 ``[K, H, W]``: what ``info["priority"]`` holds with ``priority_info=True``,
        computed on request otherwise (how a vector env's agent reads them without paying every step)."""
        return self.priority.maps(rows)

    def sample_fixations(self, uniforms: np.ndarray) -> np.ndarray:
        """One fixation per row drawn from its current priority map (saliency with IoR), int64
        ``[N, 2]`` pixels, without materialising the maps (``priority_info=False``)."""
        return self.priority.sample(uniforms)

    def argmax_fixations(self) -> np.ndarray:
        """The most salient pixel not yet inhibited of every row, int64 ``[N, 2]``."""
        return self.priority.argmax()

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_in_episode(self.n_fixations, rows, self.max_steps)  # the scanpath holds max_steps + 1 fixations
        current_px = self.fixations[rows, self.n_fixations[rows] - 1]
        current = pixel_to_norm(current_px, self.image_shape)
        wanted = np.clip(current + actions, 0.0, self._max_norm)
        target = np.clip(np.rint(wanted.astype(np.float64) * self._sizes).astype(np.int64), *self._bounds)
        applied = pixel_to_norm(target, self.image_shape) - current
        reward = self._reward(rows, target)
        self._fixate(rows, target)
        return applied.astype(np.float32), reward

    def _fixate(self, rows: np.ndarray, fixations: np.ndarray) -> None:
        self.fixations[rows, self.n_fixations[rows]] = fixations
        self.n_fixations[rows] += 1
        self.priority.fixate(rows, fixations)
        if self._covered is not None:  # what the fovea has seen this episode ("object" reward)
            _cover(self._covered, np.asarray(rows, np.int64), np.ascontiguousarray(fixations, np.int64),
                   self.n_fixations[rows] == 1, self.retina.glimpse_size)

    def _reward(self, rows: np.ndarray, target: np.ndarray) -> np.ndarray:
        """float64 ``[K]``: one batched kernel call per step, no loop over rows here."""
        reward = np.zeros(len(rows), np.float64)
        rows, target, g = np.asarray(rows, np.int64), np.ascontiguousarray(target, np.int64), self.retina.glimpse_size
        if self.reward_mode == "saliency":  # priority mass in the fovea before it is inhibited
            pb = self.priority  # sum(sal * inhib) over the window / the row's total (summed in order)
            total = np.cumsum(pb.row_totals[rows], axis=1)[:, -1]
            _fovea_shares(pb.saliency, pb.inhibition, False, total, 1e-300, rows, target, g, reward)
        elif self.reward_mode == "object":  # object area newly covered by the fovea: staying pays nothing
            area = self._objects[rows].sum(axis=(1, 2)).astype(np.float64)
            _fovea_shares(self._objects, self._covered, True, area, 1.0, rows, target, g, reward)
        return reward

    def _object_mask(self, index: int) -> np.ndarray:
        """bool ``[H, W]``: the pixels inside any object box of image ``index``."""
        mask = np.zeros(self.image_shape, bool)
        for r0, c0, r1, c1 in np.asarray(self.dataset.boxes[index]).reshape(-1, 4):
            if r0 >= 0:
                mask[r0:r1, c0:c1] = True
        return mask

    # ------------------------------------------------------------------ views
    @property
    def fixation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Where a fixation may land: inclusive pixel bounds ``(low, high)``, int64 ``[2]`` each
        (with ``keep_inside``: where the retina's largest square fits inside the image)."""
        return self._bounds[0].copy(), self._bounds[1].copy()

    def current_fixations(self) -> np.ndarray:
        """The fixation of every row, int64 ``[N, 2]`` pixels (row, col)."""
        return self.fixations[np.arange(self.n), self.n_fixations - 1]

    def image(self, row: int = 0) -> np.ndarray:
        """The image of row ``row``, uint8 ``[H, W, C]``."""
        return self._stack[self.index[row]] if self._stack is not None else self._images[row]

    def glimpses(self) -> np.ndarray:
        if self._stack is not None:
            return self.retina.gather(self._stack, self.index, self.current_fixations())
        return self.retina.batch(self._images, self.current_fixations()[:, None])[:, 0]

    def info(self) -> dict[str, np.ndarray]:
        fixation = self.current_fixations()
        info = {
            "position": pixel_to_norm(fixation, self.image_shape),
            "fixation": fixation,
            "label": self.item_labels[self.index],
            "index": self.index.copy(),
        }
        if self.priority_info:
            info["priority"] = self.priority.priority  # a fresh array each step, never written again
        return info

    def scanpath(self, row: int = 0) -> np.ndarray:
        """Fixations of row ``row``'s episode so far, int64 ``[K, 2]`` pixels (row, col)."""
        return self.fixations[row, : self.n_fixations[row]].copy()

    def render_frame(self, row: int = 0, show_priority: bool = True) -> np.ndarray:
        """uint8 RGB ``[H*k, W*k, 3]``: the image (with the priority map blended in), scanpath and retina boxes."""
        image = self.image(row)
        base = overlay(image, self.priority_maps(np.array([row]))[0], 0.45) if show_priority else to_rgb(image)
        canvas = upscale(base, self.render_scale)
        path = self.scanpath(row)
        draw_retina_boxes(canvas, path[-1], self.retina.glimpse_size, self.retina.scales, self.render_scale)
        return draw_scanpath(canvas, path, self.render_scale)
