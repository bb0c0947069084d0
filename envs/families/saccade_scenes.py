"""``Saccade-Scenes-v0``: the embedded offline dataset of labelled objects on textures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.datasets import load_scenes
from envs.datasets.scenes import check_scene_args
from envs.engine.env import ActiveVisionEnv
from envs.engine.keywords import keyword_defaults
from envs.engine.vector_env import vector_entry
from envs.families.saccade_env import SaccadeEnv, check_world_kwargs, dataset_world
from envs.families.saccade_world import SaccadeWorld

__all__ = ["SaccadeScenesEnv", "scenes_world", "make_vector", "check_kwargs"]

SCENE_SIDE = 96  # load_scenes' default image_size, the one this id uses


def scenes_world(n: int, root: str | Path | None = None, split: str = "train", seed: int = 0,
                 n_train: int = 5000, n_test: int = 1000, style: str = "natural", max_objects: int = 2,
                 precompute_saliency: bool = True, **kwargs: Any) -> SaccadeWorld:
    """A :class:`SaccadeWorld` of ``n`` rows over the embedded scenes (arguments: ``SaccadeScenesEnv``)."""
    check_kwargs(n, split=split, seed=seed, n_train=n_train, n_test=n_test, style=style, max_objects=max_objects,
                 **kwargs)
    dataset = load_scenes(split=split, root=root, seed=seed, n_train=n_train, n_test=n_test, style=style,
                          max_objects=max_objects)
    return dataset_world(n, dataset, root, precompute_saliency, **kwargs)


def check_kwargs(n: int, render_mode: str | None = None, **kwargs: Any) -> None:
    """Every keyword of ``Saccade-Scenes-v0`` (``n`` rows) checked, nothing generated or read (the
    defaults: :func:`scenes_world`'s)."""
    own = keyword_defaults(scenes_world, ("n",))
    v = {**own, **{k: x for k, x in kwargs.items() if k in own}}
    check_scene_args(v["split"], v["seed"], v["n_train"], v["n_test"], SCENE_SIDE, v["max_objects"], v["style"])
    world_kwargs = {k: x for k, x in kwargs.items() if k not in own}
    check_world_kwargs(scenes_world, n, (SCENE_SIDE, SCENE_SIDE, 3), world_kwargs, boxes=True)


class SaccadeScenesEnv(SaccadeEnv):
    """The embedded scenes through a foveated retina (see ``SaccadeEnv``).

    96x96 RGB scenes generated deterministically from ``seed`` (no download; cached under
    ``<root>/scenes/`` after first use), each with labelled objects at recorded boxes, so
    saliency quality is measurable (``reward="object"`` rewards fixations on objects).

    ## Arguments
    ``root`` (cache folder, default ``$SACCADE_DATA`` else ``~/.cache/saccade``), ``split``
    ("train" | "test"), ``seed``, ``n_train``, ``n_test``, ``style`` (see
    ``envs.datasets.SCENE_STYLES``), ``max_objects``, ``precompute_saliency`` (default True:
    every image's saliency map is computed once in batch, with a progress bar, and read
    memory-mapped from ``<root>/saliency/`` afterwards; False: computed at each reset, cached
    in memory); every other keyword goes to ``SaccadeEnv``.
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        ActiveVisionEnv.__init__(self, scenes_world(1, **kwargs), render_mode=render_mode)


make_vector = vector_entry(scenes_world, priority_info=False)
