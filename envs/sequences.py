"""Batched glimpse sequences for pretraining, from the same retina and saliency/IoR code as the env.

Pretraining does not step a Python env per glimpse: a whole batch of scanpaths is drawn at once
(Numba, over precomputed saliency maps) and cut out by the batched retina. For the same image
and the same uniforms, a ``SaccadeEnv`` rollout driven by a sampling ``SaliencyAgent`` sees the
same fixations, glimpses and actions (``tests/envs/test_sequences.py``).

This module imports torch (batches are tensors); ``import envs`` does not import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.coordinates import pixel_to_norm
from envs.retina import Retina
from saliency import DEFAULT_METHOD, sample_scanpaths

__all__ = ["SaccadeSequenceSource", "build_saccade_source", "channel_stats", "STL10_MEAN", "STL10_STD"]

STL10_MEAN = (0.4467, 0.4398, 0.4066)
STL10_STD = (0.2241, 0.2215, 0.2239)
FIXATION_MODES = ("sample", "argmax")


class SaccadeSequenceSource(torch.utils.data.IterableDataset):
    """Batches of glimpse sequences along saliency + IoR scanpaths.

    Each batch is a dict of CPU tensors:
    ``glimpses`` uint8 ``[B, T, S*C, G, G]`` (channels scale-major), ``actions`` float32
    ``[B, T, 2]`` (``actions[:, t] = positions[:, t] - positions[:, t-1]``, ``actions[:, 0] = 0``:
    the env's ``last_action``), ``positions`` float32 ``[B, T, 2]`` (normalised row, col),
    ``fixations`` int64 ``[B, T, 2]`` (pixels), ``labels`` int64 ``[B]`` (-1 unlabeled),
    ``indices`` int64 ``[B]``.

    An epoch is a seeded shuffle of the dataset, split into ``world_size`` equal shards
    (``rank`` takes its own), cut into full batches. Batch ``b`` of epoch ``e`` depends only on
    ``(seed, e, b, rank)``, so a resumed run continues with ``batches(e, start=b)``.
    """

    def __init__(
        self,
        dataset: Any,
        saliency: np.ndarray,
        retina: Retina,
        seq_len: int = 5,
        batch_size: int = 64,
        fixation_mode: str = "sample",
        ior: str = "square",
        ior_radius: int = 16,
        ior_decay: float = 1.0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        keep_inside: bool = False,
    ) -> None:
        super().__init__()
        n = len(dataset)
        if saliency.shape[0] != n or saliency.shape[1:] != tuple(dataset.images.shape[1:3]):
            raise ValueError(f"saliency must be [N, H, W] = {(n, *dataset.images.shape[1:3])}, got {saliency.shape}")
        if not isinstance(seq_len, (int, np.integer)) or seq_len < 2:
            raise ValueError(f"seq_len must be an int >= 2 (observed views + the target), got {seq_len!r}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if fixation_mode not in FIXATION_MODES:
            raise ValueError(f"fixation_mode must be one of {FIXATION_MODES}, got {fixation_mode!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size) with world_size >= 1, got rank={rank}, world_size={world_size}")
        if n // world_size < batch_size:
            raise ValueError(f"batch_size={batch_size} exceeds the {n // world_size} images of one shard "
                             f"({n} images over world_size={world_size})")
        self.dataset, self.saliency, self.retina = dataset, saliency, retina
        self.seq_len, self.batch_size = int(seq_len), int(batch_size)
        self.fixation_mode = fixation_mode
        self.ior, self.ior_radius, self.ior_decay = ior, int(ior_radius), float(ior_decay)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.image_shape = tuple(int(d) for d in dataset.images.shape[1:3])
        self.keep_inside = bool(keep_inside)
        self._inside_mask = retina.inside_mask(self.image_shape) if self.keep_inside else None
        in_channels = int(dataset.images.shape[3]) if dataset.images.ndim == 4 else 1
        self.channels = len(retina.scales) * in_channels
        self.action_dim = 2
        labels = np.asarray(dataset.labels)
        self.n_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
        if mean is None or std is None:
            mean, std = channel_stats(dataset)
        self.mean = tuple(float(m) for m in mean) * len(retina.scales)
        self.std = tuple(float(s) for s in std) * len(retina.scales)
        self.epoch = 0

    def __len__(self) -> int:
        """Full batches per epoch for this rank."""
        return (len(self.dataset) // self.world_size) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """The epoch ``__iter__`` yields next (like ``DistributedSampler.set_epoch``)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return self.batches(self.epoch)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """This rank's image indices of ``epoch``, int64 ``[len(self) * B]`` in batch order."""
        perm = np.random.default_rng([self.seed, int(epoch)]).permutation(len(self.dataset))
        shard = perm[: (len(perm) // self.world_size) * self.world_size][self.rank :: self.world_size]
        return shard[: len(self) * self.batch_size].astype(np.int64)

    def batches(self, epoch: int, start: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """Yield batches ``start, start+1, ...`` of ``epoch`` (deterministic in seed, epoch, batch, rank)."""
        if not 0 <= start <= len(self):
            raise ValueError(f"start must be in [0, {len(self)}], got {start}")
        order = self.epoch_indices(epoch)
        for b in range(start, len(self)):
            indices = order[b * self.batch_size : (b + 1) * self.batch_size]
            rng = np.random.default_rng([self.seed, int(epoch), b, self.rank])
            yield self.make_batch(indices, rng.random((len(indices), self.seq_len)))

    def make_batch(self, indices: np.ndarray, uniforms: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """The sequences of images ``indices [B]`` with fixation uniforms ``[B, T]`` (argmax mode: unused)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or len(indices) == 0:
            raise ValueError(f"indices must be a non-empty 1-D array, got shape {indices.shape}")
        if indices.min() < 0 or indices.max() >= len(self.dataset):
            raise ValueError(f"indices must lie in [0, {len(self.dataset)})")
        maps = np.ascontiguousarray(self.saliency[indices], dtype=np.float32)
        if self._inside_mask is not None:  # as SaccadeEnv(keep_inside=True): no fixation reads padding
            maps *= self._inside_mask
        scan_kwargs = dict(mode=self.fixation_mode, ior=self.ior, radius=self.ior_radius, decay=self.ior_decay)
        if self.fixation_mode == "sample":
            if uniforms is None:
                raise ValueError("uniforms [B, T] are required in fixation_mode='sample'")
            fixations = sample_scanpaths(maps, self.seq_len, uniforms=np.asarray(uniforms, np.float64), **scan_kwargs)
        else:
            fixations = sample_scanpaths(maps, self.seq_len, uniforms=np.zeros((len(indices), self.seq_len)),
                                         **scan_kwargs)
        images = np.ascontiguousarray(self.dataset.images[indices], dtype=np.uint8)
        if images.ndim == 3:
            images = images[..., None]
        glimpses = self.retina.batch(images, fixations)  # [B, T, S, G, G, C]
        b, t, s, g, _, c = glimpses.shape
        glimpses = np.ascontiguousarray(glimpses.transpose(0, 1, 2, 5, 3, 4).reshape(b, t, s * c, g, g))
        positions = pixel_to_norm(fixations, self.image_shape)
        actions = np.zeros_like(positions)
        actions[:, 1:] = positions[:, 1:] - positions[:, :-1]
        return {
            "glimpses": torch.from_numpy(glimpses),
            "actions": torch.from_numpy(actions),
            "positions": torch.from_numpy(positions),
            "fixations": torch.from_numpy(np.ascontiguousarray(fixations, dtype=np.int64)),
            "labels": torch.from_numpy(np.asarray(self.dataset.labels[indices], dtype=np.int64)),
            "indices": torch.from_numpy(indices.copy()),
        }


def channel_stats(dataset: Any, max_images: int = 2000, seed: int = 0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std in [0, 1] pixel units over a seeded sample of the images."""
    n = len(dataset)
    pick = np.sort(np.random.default_rng(seed).choice(n, size=min(n, max_images), replace=False))
    images = np.asarray(dataset.images[pick], dtype=np.float64) / 255.0
    if images.ndim == 3:
        images = images[..., None]
    mean = images.mean(axis=(0, 1, 2))
    std = np.maximum(images.std(axis=(0, 1, 2)), 1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())


def build_saccade_source(
    dataset: str = "scenes",
    split: str = "train",
    root: str | Path | None = None,
    glimpse_size: int = 32,
    scales: tuple[int, ...] = (1,),
    padding: str = "zero",
    seq_len: int = 5,
    batch_size: int = 64,
    saliency_method: str = DEFAULT_METHOD,
    ior: str = "square",
    ior_radius: int = 16,
    ior_decay: float = 1.0,
    fixation_mode: str = "sample",
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    n_train: int | None = None,
    n_test: int | None = None,
    scene_style: str = "natural",
    max_objects: int = 2,
    download: bool = False,
    progress: bool = True,
    keep_inside: bool = False,
) -> SaccadeSequenceSource:
    """A ``SaccadeSequenceSource`` over a named dataset ("scenes" or "stl10"), saliency cached on disk.

    ``scene_style`` and ``max_objects`` choose the embedded scenes' look (``envs.datasets.SCENE_STYLES``).
    ``keep_inside`` keeps every fixation where the retina's largest square lies inside the image
    (as ``SaccadeEnv(keep_inside=True)``).

    The saliency maps of the whole split are computed once and memory-mapped from
    ``<root>/saliency/`` afterwards (see ``envs.saliency_cache``).
    """
    from envs.datasets import default_data_root, load_scenes, load_stl10
    from envs.saliency_cache import dataset_saliency

    root = Path(root) if root is not None else default_data_root()
    if dataset == "scenes":
        sizes = {k: v for k, v in (("n_train", n_train), ("n_test", n_test)) if v is not None}
        data = load_scenes(split=split, root=root, style=scene_style, max_objects=max_objects, **sizes)
        mean = std = None
    elif dataset == "stl10":
        data = load_stl10(root=root, split=split, download=download)
        mean, std = STL10_MEAN, STL10_STD
    else:
        raise ValueError(f"dataset must be one of ('scenes', 'stl10'), got {dataset!r}")
    maps = dataset_saliency(data, method=saliency_method, cache_dir=root, progress=progress)
    retina = Retina(glimpse_size=glimpse_size, scales=tuple(scales), padding=padding)
    return SaccadeSequenceSource(
        data, maps, retina, seq_len=seq_len, batch_size=batch_size, fixation_mode=fixation_mode, ior=ior,
        ior_radius=ior_radius, ior_decay=ior_decay, seed=seed, rank=rank, world_size=world_size, mean=mean, std=std,
        keep_inside=keep_inside,
    )
