"""``Saccade-STL10-v0``: STL-10 images (96x96) seen through foveated glimpses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.datasets import load_stl10
from envs.saccade_env import SaccadeEnv

__all__ = ["SaccadeSTL10Env"]


class SaccadeSTL10Env(SaccadeEnv):
    """STL-10 through a foveated retina (see ``SaccadeEnv`` for observation, action and info).

    ## Arguments
    ``root``: data folder (default ``$SACCADE_DATA``, else ``~/.cache/saccade``); STL-10 is
    read from ``<root>/stl10_binary/`` (the official binary files, memory-mapped).
    ``split``: "train" (5k labelled, default), "test" (8k), "unlabeled" (100k) or
    "train+unlabeled". ``download``: fetch the archive (torchvision's mirror) when missing.
    Every other keyword goes to ``SaccadeEnv`` (``glimpse_size``, ``scales``, ``max_saccades``,
    ``ior_radius``, ``render_mode``, ...).
    """

    def __init__(self, root: str | Path | None = None, split: str = "train", download: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(load_stl10(root=root, split=split, download=download), **kwargs)
