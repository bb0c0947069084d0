"""``SaccadeEnv``: an image seen through foveated glimpses, one saccade per step."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.engine.env import ActiveVisionEnv
from envs.engine.keywords import keyword_defaults, refuse_unknown
from envs.families.saccade_world import FIRST_FIXATIONS, REWARDS, SaccadeWorld, to_hwc
from saliency import DEFAULT_METHOD

__all__ = ["SaccadeEnv", "REWARDS", "FIRST_FIXATIONS", "to_hwc", "precomputed_saliency", "dataset_world",
           "check_world_kwargs"]


class SaccadeEnv(ActiveVisionEnv):
    """Look at an image through a foveated retina; every action is a saccade.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (2,)))``: the glimpse at
    the current fixation at every retina scale (scale 1 = the fovea at full resolution, scale
    ``s`` = the ``G*s`` square area-averaged to ``G x G``), and the saccade actually applied to
    reach it (zeros after ``reset``).

    ## Action
    ``Box(-1, 1, (2,), float32)``: the relative saccade ``(d_row, d_col)`` in normalised image
    units (see ``envs.engine.coordinates``). The target is clipped to the image (with
    ``keep_inside=True``: to the fixations whose largest retina square lies inside the image)
    and snapped to the pixel grid; the applied difference comes back as ``last_action``.

    ## Reward
    ``reward="none"`` (default): 0. ``"saliency"``: the priority mass (saliency with inhibition
    of return, summing to 1) inside the fovea at the new fixation, before it is inhibited:
    rewards looking at salient places not yet seen. ``"object"``: the share of the image's object
    area (its boxes) that the fovea's ``G x G`` square covers for the first time this episode
    (datasets with boxes only): staying still, or looking again, pays nothing; an episode's
    rewards sum to at most 1.

    ## Episode
    ``reset`` picks an image (uniformly, or ``options={"index": i}``) and makes the first
    fixation from the saliency map (``first_fixation``). Each ``step`` applies a saccade and
    updates inhibition of return. Truncated after ``max_saccades`` saccades; never terminated. A
    ``step`` after the end (or before any ``reset``) raises RuntimeError
    ("... call reset() before step()") and changes nothing.

    ## Info
    ``position`` float32 ``[2]`` normalised (row, col); ``fixation`` int64 ``[2]`` pixel;
    ``label`` (int, -1 if unlabeled); ``index`` (image index); ``priority`` float32 ``[H, W]``
    (saliency with IoR, sums to 1: where an agent would look next; ``priority_info=True``, the
    single env's default); ``step``. A vector env (``gym.make_vec``) defaults to
    ``priority_info=False``: ``infos`` hold no maps unless made with ``priority_info=True``, and
    ``venv.world.priority_maps()`` computes them on request (the same numbers).

    ## Arguments
    ``dataset`` (an ``envs.datasets.ImageDataset``), ``glimpse_size`` (G, default 32),
    ``scales`` (tuple of ints, first 1), ``padding`` ("zero" | "reflect"), ``max_saccades`` (or ``max_steps``, the name every family accepts),
    ``saliency_method``, ``ior`` ("square" | "disc" | "gaussian"), ``ior_radius`` (pixels),
    ``ior_decay`` (gaussian recovery per saccade), ``first_fixation`` ("sample" | "argmax" |
    "center"), ``reward``, ``render_mode`` ("rgb_array" | "human"), ``render_scale``,
    ``keep_inside`` (default False; True: fixations keep the largest retina square inside the
    image, so no glimpse ever reads padding and the border gives no position cue: the saliency
    map is zero outside those fixations and saccades are clipped to them).
    """

    def __init__(self, dataset: Any, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(SaccadeWorld(1, dataset, **kwargs), render_mode=render_mode)

    # ------------------------------------------------------------------ inspection
    @property
    def image(self) -> np.ndarray:
        """The current image, uint8 ``[H, W, C]``."""
        self._check_started()
        return self.world.image(0)

    @property
    def scanpath(self) -> np.ndarray:
        """Fixations of the episode so far, int64 ``[N, 2]`` pixels (row, col)."""
        return self.world.scanpath(0)

    @property
    def saliency(self) -> np.ndarray:
        """The current image's saliency map, float32 ``[H, W]`` (no IoR; a copy)."""
        self._check_started()
        return self.world.priority.saliency[0].copy()

    @property
    def priority(self) -> np.ndarray:
        """The current priority map (saliency with IoR, sums to 1), float32 ``[H, W]``."""
        self._check_started()
        return self.world.priority_maps(np.zeros(1, np.int64))[0]


def precomputed_saliency(dataset: Any, root: Any, method: str | None) -> np.ndarray:
    """Every image's saliency map, computed once and memory-mapped from ``<cache root>/saliency/``
    (``$SACCADE_CACHE``, else ``<root>/cache``; in memory, with one warning, if unwritable)."""
    from envs.datasets.base import resolve_cache_root
    from envs.storage.saliency_cache import dataset_saliency

    return dataset_saliency(dataset, method=method or DEFAULT_METHOD, cache_dir=resolve_cache_root(root))


def check_world_kwargs(owner: Any, n: int, image_shape: tuple[int, int, int], kwargs: dict[str, Any],
                       boxes: bool = False) -> None:
    """Check ``kwargs`` (what ``owner``, a registered id's world builder, passes on to
    :class:`SaccadeWorld`) for images of ``image_shape`` (with object boxes when ``boxes``), without
    data: :meth:`SaccadeWorld.check_keywords`. Unknown keywords are a TypeError listing the allowed
    ones (``owner``'s and the world's)."""
    allowed = set(keyword_defaults(SaccadeWorld.__init__, ("n",))) | set(keyword_defaults(owner, ("n",))) \
        | {"render_mode"}
    refuse_unknown(kwargs, allowed)
    SaccadeWorld.check_keywords(n, image_shape[:2], boxes, **{k: v for k, v in kwargs.items() if k != "saliency_maps"})


def dataset_world(n: int, dataset: Any, root: Any, precompute_saliency: bool, **kwargs: Any) -> SaccadeWorld:
    """A :class:`SaccadeWorld` of ``n`` rows over a registered id's ``dataset``, its saliency maps
    precomputed and cached (:func:`precomputed_saliency`) unless ``precompute_saliency`` is False
    or ``saliency_maps`` are given."""
    if precompute_saliency and kwargs.get("saliency_maps") is None:
        kwargs["saliency_maps"] = precomputed_saliency(dataset, root, kwargs.get("saliency_method"))
    return SaccadeWorld(n, dataset, **kwargs)
