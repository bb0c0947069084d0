"""Data wiring for pretraining: build the sequence source of a world and move batches to the device.

The source (``experiments.pretrain.source.SequenceSource``) yields CPU uint8 glimpses; conversion to
float and normalisation happen on the training device in :func:`prepare_batch`, so the
host only ever moves bytes.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import Any, Iterator, Mapping, Protocol, Sequence

import torch

from experiments.pretrain.config import ROTATION_DATASETS, SACCADE_DATASETS, DataConfig
from seqjepa.preprocess import STL10_MEAN, STL10_STD, normalize_glimpses

__all__ = ["SequenceSource", "make_source", "policy_kwargs", "describe_policy", "check_policy_checkpoint", "Prefetcher", "iterate_batches", "prepare_batch"]


class SequenceSource(Protocol):
    """What pretraining needs from a sequence source (``experiments.pretrain.source.SequenceSource``)."""

    channels: int
    action_dim: int
    n_classes: int
    mean: Sequence[float]
    std: Sequence[float]

    def batches(self, epoch: int, start: int = 0) -> Any: ...

    def __len__(self) -> int: ...


def make_source(cfg: DataConfig, split: str | None = None, rank: int = 0, world_size: int = 1,
                seq_len: int | None = None, seed: int = 0,
                spec: tuple[str, dict[str, Any]] | None = None) -> SequenceSource:
    """The rank's shard of training sequences of ``cfg``'s world over ``split`` (default ``cfg.split``).

    The world is the registered env ``env_spec`` derives from ``cfg`` (saccades, path integration
    or 3D rotation), rolled by the family's batched agent (``experiments.pretrain.source.SequenceSource``).
    ``seq_len`` overrides ``cfg.seq_len`` (evaluation sequences may be longer). ``seed`` fixes
    the episodes and the shuffling (``batches`` is deterministic in seed, epoch, index). ``spec``:
    the ``(env_id, kwargs)`` already derived for this split and length (else ``env_spec`` runs here).
    """
    from experiments.pretrain.source import SequenceSource as Source
    from experiments.pretrain.envspec import env_spec

    if not 0 <= rank < world_size:
        raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
    seq_len = seq_len or cfg.seq_len
    env_id, kwargs = spec or env_spec(dataclasses.replace(cfg, split=split or cfg.split, seq_len=seq_len))
    agent_kwargs = policy_kwargs(cfg)
    if cfg.policy == "world_model":
        check_policy_checkpoint(cfg.policy_checkpoint, env_id, kwargs)  # before the env is built
    stats = (STL10_MEAN, STL10_STD) if cfg.dataset == "stl10" else (None, None)
    return Source(env_id, kwargs, seq_len=seq_len, batch_size=cfg.batch_size, seed=seed, rank=rank,
                  world_size=world_size, epoch_size=cfg.epoch_size, agent_kwargs=agent_kwargs,
                  mean=stats[0], std=stats[1], periphery=cfg.periphery)


def policy_kwargs(cfg: DataConfig) -> dict[str, Any]:
    """The saccade pretraining policy of ``cfg`` as ``agents.saccade_policy`` keywords (also what the
    checkpoint's metadata records); empty for the worlds that are not saccade worlds."""
    if cfg.dataset in ROTATION_DATASETS and cfg.policy == "uniform":
        return {"policy": "uniform"}
    if cfg.dataset not in SACCADE_DATASETS:
        return {}
    out: dict[str, Any] = {"policy": cfg.policy, "mode": cfg.fixation_mode}
    if cfg.policy == "world_model":
        out["checkpoint"] = str(cfg.policy_checkpoint)
    if cfg.policy == "mixture":
        out["uniform_weight"] = float(cfg.uniform_weight)
    return out


def describe_policy(cfg: DataConfig) -> str:
    """One line naming the agent that made ``cfg``'s sequences (for reports)."""
    if cfg.dataset in ROTATION_DATASETS and cfg.policy == "uniform":
        return "uniformly random relative rotations (agents.UniformRotationAgent)"
    if cfg.dataset not in SACCADE_DATASETS:
        return {"worlds": "smooth RatInABox-style trajectories (agents.SmoothTrajectoryAgent)"}.get(
            cfg.dataset, "bounded rotation walks (agents.RotationWalkAgent)")
    if cfg.policy == "uniform":
        return "uniform fixations inside the allowed bounds (agents.BatchedUniformAgent)"
    if cfg.policy == "world_model":
        return f"a world model's saccades (agents.BatchedWorldModelAgent, checkpoint {cfg.policy_checkpoint})"
    saliency = f"saliency-IoR ({cfg.fixation_mode})"
    if cfg.policy == "mixture":
        return f"mixture: uniform with p={cfg.uniform_weight:g}, else {saliency}"
    return saliency


def check_policy_checkpoint(path: str | None, env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """ValueError naming ``data.policy_checkpoint`` unless ``path`` is a seq-JEPA checkpoint of the world
    ``gym.make(env_id, **env_kwargs)`` (base world, family, retina geometry; loaded on CPU, nothing built)."""
    from agents.world_model import check_checkpoint_world, signature_of_id
    from seqjepa import load_pretrained
    name = "data.policy_checkpoint"
    if not path:
        raise ValueError(f"{name}: data.policy 'world_model' needs the path of a seq-JEPA checkpoint of this world")
    try:
        model, meta = load_pretrained(path)
    except Exception as exc:  # FileNotFoundError, CheckpointError, whatever torch raises on a file that is none
        raise ValueError(f"{name} {path} is not a seq-JEPA checkpoint ({' '.join(str(exc).split())[:200]})") from None
    check_checkpoint_world(meta, model.config.in_channels, model.config.action_dim,
                           signature_of_id(env_id, env_kwargs), name)


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
    x = normalize_glimpses(glimpses.to(device, non_blocking=non_blocking), mean, std, channels_last)
    actions = batch["actions"].to(device, dtype=torch.float32, non_blocking=non_blocking)
    labels = batch["labels"].to(device, dtype=torch.int64, non_blocking=non_blocking)
    return x, actions, labels
