"""Data wiring for pretraining: build a saccade sequence source and move batches to the device.

The source (``envs.sequences.build_saccade_source``) yields CPU uint8 glimpses; conversion to
float and normalisation happen on the training device in :func:`prepare_batch`, so the
host only ever moves bytes.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Mapping, Protocol, Sequence

import torch

from experiments.pretrain.config import DataConfig

__all__ = ["SequenceSource", "make_source", "Prefetcher", "iterate_batches", "normalize", "prepare_batch"]


class SequenceSource(Protocol):
    """What pretraining needs from a sequence source (``envs.sequences.SaccadeSequenceSource``)."""

    channels: int
    action_dim: int
    n_classes: int
    mean: Sequence[float]
    std: Sequence[float]

    def batches(self, epoch: int, start: int = 0) -> Any: ...

    def __len__(self) -> int: ...


def make_source(cfg: DataConfig, split: str | None = None, rank: int = 0, world_size: int = 1,
                seq_len: int | None = None, seed: int = 0) -> SequenceSource:
    """The rank's shard of saccade sequences over ``split`` (default ``cfg.split``).

    ``seq_len`` overrides ``cfg.seq_len`` (evaluation sequences may be longer). ``seed``
    fixes saliency sampling and shuffling (``batches`` is deterministic in seed, epoch, index).
    """
    from envs.sequences import build_saccade_source

    if not 0 <= rank < world_size:
        raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
    return build_saccade_source(
        dataset=cfg.dataset, split=split or cfg.split, root=cfg.root, glimpse_size=cfg.glimpse_size,
        scales=tuple(cfg.scales), seq_len=seq_len or cfg.seq_len, batch_size=cfg.batch_size,
        saliency_method=cfg.saliency_method, ior=cfg.ior, ior_radius=cfg.ior_radius,
        ior_decay=cfg.ior_decay, fixation_mode=cfg.fixation_mode, seed=seed, rank=rank,
        world_size=world_size, n_train=cfg.n_train, n_test=cfg.n_test, scene_style=cfg.scene_style,
        max_objects=cfg.max_objects, keep_inside=cfg.keep_inside)


class Prefetcher:
    """Iterate ``batches`` in a background thread, ``depth`` batches ahead (pinned if ``pin_memory``).

    A thread rather than DataLoader worker processes: the sequence source runs Numba-parallel
    kernels (OpenMP threading layer), which deadlock in a process forked after the parent has
    used them; the kernels themselves already use every core.
    """

    def __init__(self, batches: Iterator[dict[str, torch.Tensor]], depth: int = 2,
                 pin_memory: bool = False) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(batches, pin_memory), daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, batches: Iterator[dict[str, torch.Tensor]], pin_memory: bool) -> None:
        try:
            for batch in batches:
                if pin_memory:
                    batch = {k: v.pin_memory() for k, v in batch.items()}
                if not self._put(batch):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            self._put(_Failure(exc))

    def __iter__(self) -> "Prefetcher":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        item = self._queue.get()
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the producer thread (also when the consumer stops early)."""
        self._stop.set()

    def __del__(self) -> None:
        self.close()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def iterate_batches(source: SequenceSource, epoch: int, start: int = 0, prefetch: int = 0,
                    pin_memory: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """Batches ``start, start+1, ...`` of ``epoch``; with ``prefetch > 0`` made that many ahead
    in a background thread (and pinned when ``pin_memory``). Content and order are the same.
    """
    if prefetch < 0:
        raise ValueError(f"prefetch must be >= 0, got {prefetch}")
    batches = iter(source.batches(epoch, start))
    if prefetch == 0 and not pin_memory:
        return batches
    return Prefetcher(batches, max(prefetch, 1), pin_memory)


def normalize(glimpses: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              channels_last: bool = False) -> torch.Tensor:
    """uint8 ``[B, T, C, G, G]`` -> float32 ``(x / 255 - mean) / std`` on the tensor's device.

    ``mean``, ``std``: float32 ``[C]`` on the same device. With ``channels_last`` each
    ``[C, G, G]`` image is NHWC in memory (strides of ``[B*T, G, G, C]``).
    """
    b, t, c, g, w = glimpses.shape
    if channels_last:
        glimpses = glimpses.reshape(b * t, c, g, w).contiguous(memory_format=torch.channels_last)
        glimpses = glimpses.view(b, t, c, g, w)
    scale = (1.0 / (255.0 * std)).view(1, 1, c, 1, 1)
    shift = (mean / std).view(1, 1, c, 1, 1)
    return glimpses.float().mul_(scale).sub_(shift)


def prepare_batch(batch: Mapping[str, torch.Tensor], device: torch.device, mean: torch.Tensor,
                  std: torch.Tensor, channels_last: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Move one source batch to ``device`` and normalise it there.

    Args:
        batch: ``glimpses`` uint8 ``[B, T, C, G, G]``, ``actions`` float32 ``[B, T, A]``,
            ``labels`` int64 ``[B]`` (CPU, pinned when the source pins).
        mean, std: float32 ``[C]`` on ``device``, in ``[0, 1]`` pixel units.
        channels_last: return glimpses whose ``[C, G, G]`` images are NHWC in memory
            (``[B, T, C, G, G]`` with strides of ``[B*T, G, G, C]``).

    Returns:
        glimpses float32 ``[B, T, C, G, G]`` = ``(x / 255 - mean) / std``, actions float32
        ``[B, T, A]``, labels int64 ``[B]`` (-1 = unlabeled), all on ``device``.
    """
    glimpses = batch["glimpses"]
    if glimpses.dtype != torch.uint8 or glimpses.dim() != 5:
        raise ValueError(f"batch['glimpses'] must be uint8 [B, T, C, G, G], got {glimpses.dtype} "
                         f"{tuple(glimpses.shape)}")
    c = glimpses.shape[2]
    if mean.shape != (c,) or std.shape != (c,):
        raise ValueError(f"mean and std must have shape ({c},) (one per channel), got "
                         f"{tuple(mean.shape)} and {tuple(std.shape)}")
    non_blocking = device.type == "cuda"
    x = normalize(glimpses.to(device, non_blocking=non_blocking), mean, std, channels_last)
    actions = batch["actions"].to(device, dtype=torch.float32, non_blocking=non_blocking)
    labels = batch["labels"].to(device, dtype=torch.int64, non_blocking=non_blocking)
    return x, actions, labels
