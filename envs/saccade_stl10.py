"""``Saccade-STL10-v0``: STL-10 images (96x96) seen through foveated glimpses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.datasets import load_stl10
from envs.saccade_env import SaccadeEnv, precomputed_saliency

__all__ = ["SaccadeSTL10Env"]


class SaccadeSTL10Env(SaccadeEnv):
    """STL-10 through a foveated retina (see ``SaccadeEnv`` for observation, action and info).

    ## Arguments
    ``root``: data folder (default ``$SACCADE_DATA``, else ``~/.cache/saccade``); STL-10 is
    read from ``<root>/stl10_binary/`` (the official binary files, memory-mapped).
    ``split``: "train" (5k labelled, default), "test" (8k), "unlabeled" (100k) or
    "train+unlabeled". ``download``: fetch the archive (torchvision's mirror) when missing.
    ``precompute_saliency``: compute every image's saliency map once and read them
    memory-mapped from ``<root>/saliency/`` (fast resets, as the paper precomputed its maps).
    Every other keyword goes to ``SaccadeEnv`` (``glimpse_size``, ``scales``, ``max_saccades``,
    ``ior_radius``, ``render_mode``, ...).
    """

    def __init__(self, root: str | Path | None = None, split: str = "train", download: bool = False,
                 precompute_saliency: bool = False, **kwargs: Any) -> None:
        dataset = load_stl10(root=root, split=split, download=download)
        if precompute_saliency:
            kwargs["saliency_maps"] = precomputed_saliency(dataset, root, kwargs.get("saliency_method"))
        super().__init__(dataset, **kwargs)
