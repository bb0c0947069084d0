"""``Saccade-STL10-v0``: STL-10 images (96x96) seen through foveated glimpses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks import check_choice
from envs.datasets import load_stl10
from envs.datasets.stl10 import STL10_SIDE
from envs.engine.env import ActiveVisionEnv
from envs.engine.keywords import keyword_defaults
from envs.engine.vector_env import vector_entry
from envs.families.saccade_env import SaccadeEnv, check_world_kwargs, dataset_world
from envs.families.saccade_world import SaccadeWorld

__all__ = ["SaccadeSTL10Env", "stl10_world", "make_vector"]


def stl10_world(n: int, root: str | Path | None = None, split: str = "train", download: bool = False,
                precompute_saliency: bool = True, **kwargs: Any) -> SaccadeWorld:
    """A :class:`SaccadeWorld` of ``n`` rows over STL-10 (arguments: ``SaccadeSTL10Env``)."""
    check_kwargs(n, split=split, download=download, **kwargs)
    dataset = load_stl10(root=root, split=split, download=download)
    return dataset_world(n, dataset, root, precompute_saliency, **kwargs)


def check_kwargs(n: int, render_mode: str | None = None, **kwargs: Any) -> None:
    """Every keyword of ``Saccade-STL10-v0`` (``n`` rows) checked; STL-10 is not opened (the
    defaults: :func:`stl10_world`'s)."""
    from envs.datasets import STL10_SPLITS

    own = keyword_defaults(stl10_world, ("n",))
    v = {**own, **{k: x for k, x in kwargs.items() if k in own}}
    check_choice("split", v["split"], STL10_SPLITS)
    if not isinstance(v["download"], bool):
        raise TypeError(f"download must be a bool, got {type(v['download']).__name__}")
    world_kwargs = {k: x for k, x in kwargs.items() if k not in own}
    check_world_kwargs(stl10_world, n, (STL10_SIDE, STL10_SIDE, 3), world_kwargs)


class SaccadeSTL10Env(SaccadeEnv):
    """STL-10 through a foveated retina (see ``SaccadeEnv`` for observation, action and info).

    ## Arguments
    ``root``: data folder (default ``$SACCADE_DATA``, else ``~/.cache/saccade``); STL-10 is
    read from ``<root>/stl10_binary/`` (the official binary files, memory-mapped).
    ``split``: "train" (5k labelled, default), "test" (8k), "unlabeled" (100k) or
    "train+unlabeled". ``download``: fetch the archive (torchvision's mirror) when missing.
    ``precompute_saliency`` (default True): compute every image's saliency map once in batch
    (progress bar) and read them memory-mapped from ``<root>/saliency/`` (fast resets, as the
    paper precomputed its maps); False: computed at each reset, cached in memory.
    Every other keyword goes to ``SaccadeEnv`` (``glimpse_size``, ``scales``, ``max_saccades``,
    ``ior_radius``, ``render_mode``, ...).
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        ActiveVisionEnv.__init__(self, stl10_world(1, **kwargs), render_mode=render_mode)


make_vector = vector_entry(stl10_world, priority_info=False)
