"""Image datasets for the saccade environments: STL-10 (memory-mapped) and the embedded scenes.

``load_stl10(root, split, download)`` and ``load_scenes(split, root, seed, ...)`` both return an
:class:`ImageDataset` (uint8 ``[N, H, W, C]`` images, int64 ``[N]`` labels, -1 = unlabeled).
Data lives under :func:`default_data_root` (``$SACCADE_DATA``, else ``~/.cache/saccade``):
``stl10_binary/`` for STL-10. Derived caches (generated scenes, saliency maps) live apart, under
:func:`~envs.datasets.base.resolve_cache_root` (``$SACCADE_CACHE``, else ``<data root>/cache``).
Nothing here imports torch; torchvision is imported only when a download is requested.
"""

from envs.datasets.base import ConcatImages, ImageDataset, default_data_root
from envs.datasets.scenes import (
    SCENE_SPLITS,
    SCENE_STYLES,
    SceneStyle,
    load_scenes,
    render_scene,
)
from envs.datasets.shapes import SCENE_CLASSES
from envs.datasets.stl10 import STL10_CLASSES, STL10_SPLITS, load_stl10

__all__ = [
    "ImageDataset",
    "ConcatImages",
    "default_data_root",
    "load_stl10",
    "load_scenes",
    "render_scene",
    "STL10_SPLITS",
    "STL10_CLASSES",
    "SCENE_SPLITS",
    "SCENE_STYLES",
    "SceneStyle",
    "SCENE_CLASSES",
]
