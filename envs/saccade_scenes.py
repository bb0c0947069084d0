"""``Saccade-Scenes-v0``: the embedded offline dataset of labelled objects on natural textures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.datasets import load_scenes
from envs.saccade_env import SaccadeEnv, precomputed_saliency

__all__ = ["SaccadeScenesEnv"]


class SaccadeScenesEnv(SaccadeEnv):
    """The embedded scenes through a foveated retina (see ``SaccadeEnv``).

    96x96 RGB scenes generated deterministically from ``seed`` (no download; cached under
    ``<root>/scenes/`` after first use), each with labelled objects at recorded boxes, so
    saliency quality is measurable (``reward="object"`` rewards fixations on objects).

    ## Arguments
    ``root`` (cache folder, default ``$SACCADE_DATA`` else ``~/.cache/saccade``), ``split``
    ("train" | "test"), ``seed``, ``n_train``, ``n_test``, ``style`` ("natural" | "simple", see
    ``envs.datasets.SCENE_STYLES``), ``max_objects``, ``precompute_saliency`` (compute
    every image's saliency map once, then read them memory-mapped from ``<root>/saliency/``);
    every other keyword goes to ``SaccadeEnv``.
    """

    def __init__(self, root: str | Path | None = None, split: str = "train", seed: int = 0,
                 n_train: int = 5000, n_test: int = 1000, style: str = "natural", max_objects: int = 2,
                 precompute_saliency: bool = False, **kwargs: Any) -> None:
        dataset = load_scenes(split=split, root=root, seed=seed, n_train=n_train, n_test=n_test, style=style,
                              max_objects=max_objects)
        if precompute_saliency:
            kwargs["saliency_maps"] = precomputed_saliency(dataset, root, kwargs.get("saliency_method"))
        super().__init__(dataset, **kwargs)
