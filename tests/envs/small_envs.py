"""Every registered id of this project, built small and offline (single and native vector envs)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

import envs  # noqa: F401  (registers the ids)
from envs import record_of

SMALL = {"glimpse_size": 16, "scales": (1, 2), "ior_radius": 8}
PROJECT_IDS = tuple(sorted(i for i, spec in gym.registry.items()
                           if isinstance(spec.entry_point, str) and spec.entry_point.startswith("envs.")))


def small_kwargs(env_id: str, root: Path) -> dict:
    """Keywords that build ``env_id`` small, from data under ``root`` (see :func:`make_data_root`)."""
    record = record_of(env_id)
    base = record.recognition_of or record.id  # active recognition takes the keywords of the id it classifies
    if base == "Saccade-STL10-v0":
        return dict(root=root, split="train", max_saccades=3, **SMALL)
    if base == "Saccade-Scenes-v0":
        return dict(root=root, n_train=24, n_test=8, max_saccades=3, **SMALL)
    if base == "PathIntegration-Scenes-v0":
        return dict(n_worlds=3, world_size=64, glimpse_size=16, max_steps=3)
    if base == "Rotation3D-3DIEBench-v0":
        return dict(folder=root / "3DIEBench", image_size=24, max_steps=3)
    return dict(n_objects=4, image_size=32, max_steps=3)


def make_data_root(root: Path) -> Path:
    """``root`` with a tiny STL-10 and a tiny 3DIEBench folder (the scenes are generated on first use)."""
    from tests.envs.conftest import write_stl10
    from tests.envs.helpers import write_3diebench

    write_stl10(root)
    (root / "3DIEBench").mkdir()
    write_3diebench(root / "3DIEBench", objects=2, views=4, size=24)
    return root


def make_small(env_id: str, root: Path, num_envs: int | None = None, **kwargs) -> gym.Env:
    """``gym.make(env_id)`` (``num_envs`` None) or ``gym.make_vec(env_id, num_envs)``, small."""
    kw = {**small_kwargs(env_id, root), **kwargs}
    return gym.make(env_id, **kw) if num_envs is None else gym.make_vec(env_id, num_envs=num_envs, **kw)
