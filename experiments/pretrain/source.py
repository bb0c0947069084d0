"""One sequence source for pretraining: a native vector env rolled ``T`` steps by a batched agent.

Every family feeds pretraining the same way: saccades (saliency-IoR scanpaths), path integration
(smooth trajectories), 3D rotation (rotation walks). A batch is ``B`` episodes of ``T`` views of
``gym.make_vec(env_id, num_envs=B, **env_kwargs)`` with the episode length set to ``T - 1``
steps, so a batch is exactly what a user sees stepping ``gym.make(env_id, **env_kwargs)`` with
the same agent. There is no second, hand-written path.

This module imports torch (batches are tensors); ``import envs`` does not import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

import envs
from agents import default_agent
from checks import check_choice, check_int
from envs.engine.retina import grey_periphery

__all__ = ["SequenceSource", "PERIPHERIES", "channel_stats"]

PERIPHERIES = ("colour", "grey")


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


def _glimpse_stats(venv: Any, agent: Any, steps: int, seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the fovea over a few seeded episodes (worlds without a dataset)."""
    obs, info = venv.reset(seed=seed)
    agent.reset(seed=seed)
    views = [obs["glimpse"][:, 0]]
    for _ in range(steps):
        obs, *_, info = venv.step(agent.act(obs, info))
        views.append(obs["glimpse"][:, 0])
    x = np.stack(views).astype(np.float64) / 255.0
    return tuple(x.mean(axis=(0, 1, 2, 3)).tolist()), tuple(np.maximum(x.std(axis=(0, 1, 2, 3)), 1e-3).tolist())


def _keep_torch_threads(threads: int) -> None:
    """Set torch's thread count back to ``threads`` if the env changed it: a Numba parallel region (OpenMP
    threading layer) resets the calling thread's OpenMP thread count, which torch shares, so a process
    pinned to one torch thread ran its model and probes on every core after a batch."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class SequenceSource(torch.utils.data.IterableDataset):
    """Batches of ``seq_len``-view episodes of ``env_id`` (any registered family).

    Each batch is a dict of CPU tensors: ``glimpses`` uint8 ``[B, T, S*C, G, G]`` (channels
    scale-major), ``actions`` float32 ``[B, T, A]`` (the ``last_action`` that led into view t;
    ``actions[:, 0] = 0``), ``states`` float32 ``[B, T, K]`` (the absolute state of every view,
    also under its own name: ``positions`` ``[B, T, 2]`` or ``rotations`` ``[B, T, 4]``),
    ``labels`` int64 ``[B]`` (-1 unlabeled) and ``indices`` int64 ``[B]`` (image / world / object).

    An epoch visits ``epoch_size`` items (default: every image, world or object once) in a
    seeded shuffle, split into ``world_size`` equal shards (``rank`` takes its own), cut into
    full batches. Batch ``b`` of epoch ``e`` depends only on ``(seed, e, b, rank)``: its episodes
    are reset with a seed drawn from those, so a resumed run continues with ``batches(e, start=b)``.
    Under a ``torch.utils.data.DataLoader`` with ``num_workers=W`` (``batch_size=None``: the items are
    batches), worker ``w`` makes batches ``start + w, start + w + W, ...``: the workers share the epoch,
    each batch made once, and the loader's round-robin yields them in the same order as ``W = 0``.

    Args:
        env_id: a registered id; ``env_kwargs`` its keyword arguments (the episode length is set
            to ``seq_len - 1`` steps). Or a ready native vector env (``envs.engine.vector_env``) of
            ``batch_size`` rows and episodes of ``seq_len - 1`` steps (``env_kwargs`` must be None).
            ``agent_kwargs`` go to the family's batched agent.
        mean, std: per-channel statistics of the data (default: measured, see ``channel_stats``).
        periphery: ``"colour"`` or ``"grey"`` (every retina scale after the fovea turned grey, see
            :func:`grey_periphery`; RGB glimpses only, a no-op otherwise).
    """

    def __init__(self, env_id: Any, env_kwargs: dict[str, Any] | None = None, seq_len: int = 5,
                 batch_size: int = 64, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epoch_size: int | None = None, agent_kwargs: dict[str, Any] | None = None,
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None,
                 periphery: str = "colour") -> None:
        super().__init__()
        threads = torch.get_num_threads()  # kept: the first gym.make may run Numba kernels here
        import gymnasium as gym


        check_int("seq_len (observed views + the target)", seq_len, 2)
        check_int("batch_size", batch_size, 1)
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size) with world_size >= 1, got rank={rank}, world_size={world_size}")
        check_choice("periphery", periphery, PERIPHERIES)
        self.periphery = periphery
        self.family = envs.family_of(env_id) if isinstance(env_id, str) else env_id.world.family
        self.seq_len, self.batch_size = int(seq_len), int(batch_size)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        if isinstance(env_id, str):
            self.env_id = env_id
            self.env_kwargs = {**(env_kwargs or {}), self.family.length_kwarg: self.seq_len - 1}
            if self.family.name == "saccade":  # the agent draws through the world: no maps written per step
                self.env_kwargs.setdefault("priority_info", False)
            self.env = gym.make_vec(env_id, num_envs=self.batch_size, **self.env_kwargs)
        else:
            if env_kwargs is not None:
                raise ValueError("env_kwargs must be None when a ready vector env is given")
            if env_id.num_envs != self.batch_size or env_id.world.max_steps != self.seq_len - 1:
                raise ValueError(f"the vector env must have num_envs = batch_size = {self.batch_size} and episodes "
                                 f"of seq_len - 1 = {self.seq_len - 1} steps, got {env_id.num_envs} and "
                                 f"{env_id.world.max_steps}")
            self.env_id, self.env_kwargs, self.env = None, None, env_id
        self.agent = default_agent(self.env.world, None, **(agent_kwargs or {}))
        world = self.env.world
        self.n_items = world.n_items
        if epoch_size is not None:
            check_int("epoch_size (None: every item once)", epoch_size, 1)
        self.epoch_size = int(epoch_size) if epoch_size is not None else self.n_items
        if self.epoch_size // world_size < batch_size:
            raise ValueError(f"batch_size={batch_size} exceeds the {self.epoch_size // world_size} sequences of one "
                             f"shard ({self.epoch_size} per epoch over world_size={world_size}); raise epoch_size")
        s, g, _, c = world.glimpse_shape
        self.channels = s * c
        self.action_dim = world.transform_dim
        labels = world.item_labels
        self.n_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
        if mean is None or std is None:
            if self.family.name == "rotation":
                mean, std = _glimpse_stats(self.env, self.agent, self.seq_len - 1, seed=12345)
            else:
                mean, std = channel_stats(world.dataset)
        if len(mean) == c:  # per image channel: repeat for every retina scale
            mean, std = tuple(mean) * s, tuple(std) * s
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(v) for v in std)
        self.epoch = 0
        _keep_torch_threads(threads)

    def __len__(self) -> int:
        """Full batches per epoch for this rank."""
        return (self.epoch_size // self.world_size) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """The epoch ``__iter__`` yields next (like ``DistributedSampler.set_epoch``)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of the current epoch (``set_epoch`` chooses it), in order."""
        return self.batches(self.epoch)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """This rank's item indices of ``epoch``, int64 ``[len(self) * B]`` in batch order."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        reps = -(-self.epoch_size // self.n_items)
        perm = np.concatenate([rng.permutation(self.n_items) for _ in range(reps)])[: self.epoch_size]
        shard = perm[: (len(perm) // self.world_size) * self.world_size][self.rank :: self.world_size]
        return shard[: len(self) * self.batch_size].astype(np.int64)

    def batches(self, epoch: int, start: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """Yield batches ``start, start+1, ...`` of ``epoch`` (deterministic in seed, epoch, batch, rank)."""
        if not 0 <= start <= len(self):
            raise ValueError(f"start must be in [0, {len(self)}], got {start}")
        order = self.epoch_indices(epoch)
        worker = torch.utils.data.get_worker_info()  # under DataLoader workers: each yields its own share
        first, step = (start, 1) if worker is None else (start + worker.id, worker.num_workers)
        for b in range(first, len(self), step):
            episode_seed = int(np.random.SeedSequence([self.seed, int(epoch), b, self.rank]).generate_state(1)[0])
            yield self.make_batch(order[b * self.batch_size : (b + 1) * self.batch_size], episode_seed)

    def make_batch(self, indices: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
        """The episodes of items ``indices [B]``: rows reset with seeds ``seed + i``, the agent with ``seed``."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.shape != (self.batch_size,):
            raise ValueError(f"indices must have shape ({self.batch_size},) (one item per row), got {indices.shape}")
        threads = torch.get_num_threads()  # kept: the env's Numba kernels may reset it
        obs, info = self.env.reset(seed=seed, options={"index": indices})
        self.agent.reset(seed=seed)
        glimpses, actions, states = [obs["glimpse"]], [obs["last_action"]], [info[self.family.state_key]]
        for _ in range(self.seq_len - 1):
            obs, _, _, _, info = self.env.step(self.agent.act(obs, info))
            glimpses.append(obs["glimpse"])
            actions.append(obs["last_action"])
            states.append(info[self.family.state_key])
        x = np.stack(glimpses, axis=1)  # [B, T, S, G, G, C]
        if self.periphery == "grey":
            grey_periphery(x)
        b, t, s, g, _, c = x.shape
        x = np.ascontiguousarray(x.transpose(0, 1, 2, 5, 3, 4).reshape(b, t, s * c, g, g))
        state = torch.from_numpy(np.stack(states, axis=1).astype(np.float32))
        _keep_torch_threads(threads)
        return {
            "glimpses": torch.from_numpy(x),
            "actions": torch.from_numpy(np.stack(actions, axis=1).astype(np.float32)),
            "states": state,
            self.family.batch_key: state,
            "labels": torch.from_numpy(np.asarray(info["label"], dtype=np.int64)),
            "indices": torch.from_numpy(indices.copy()),
        }
