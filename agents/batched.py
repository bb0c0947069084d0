"""Batched agents for native vector envs: one action row per env row, all from one generator.

Every batched agent follows ``agents.base.Agent`` with batches: ``act(obs, info)`` takes the
vector env's batched ``obs`` / ``info`` dicts (N rows) and returns float32 ``[N, A]`` in [-1, 1],
the normalised action of the DESIGN's action API. ``reset(seed)`` re-seeds the agent's own
``np.random.Generator`` (``seed=None`` keeps the current stream) and forgets per-row state; all
randomness comes from that generator, so a seeded agent is deterministic. Agents with per-row
state (``SmoothTrajectoryAgent``, ``RotationWalkAgent``) restart a row when ``info["step"] == 0``
(the row was just reset, by ``reset`` or by the vector env's autoreset).

This module holds the shared checks and the stateless agents (saliency-IoR, uniform fixations,
a per-row mixture of agents, uniform random actions), and :func:`saccade_policy`, which builds
the pretraining policy of a saccade vector env by name (:data:`SACCADE_POLICIES`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from checks import check_choice, check_int, check_real, check_seed
from envs.engine.coordinates import pixel_to_norm
from saliency import argmax_fixations, sample_fixations
from saliency.scanpath import SCANPATH_MODES

__all__ = ["SeededAgent", "BatchedRandomAgent", "BatchedSaliencyAgent", "BatchedUniformAgent", "BatchedMixtureAgent",
           "saccade_policy", "SALIENCY_MODES", "SACCADE_POLICIES"]

SALIENCY_MODES = SCANPATH_MODES  # the modes of saliency.scanpath, one definition
# Pretraining policies of the saccade family: saliency-IoR ("sample" / "argmax" mode), fixations
# drawn uniformly inside the allowed bounds, or a per-row mixture of the two.
SACCADE_POLICIES = ("saliency", "uniform", "mixture")


# ------------------------------------------------------------------ shared checks
def info_array(info: dict[str, Any], key: str, shape: tuple[int | None, ...], dtype: type) -> np.ndarray:
    """``info[key]`` as an array of ``dtype`` whose shape matches ``shape`` (``None`` = any size)."""
    if key not in info:
        raise ValueError(f"info must hold {key!r} (a batched array from a native vector env), got keys {sorted(info)}")
    arr = np.asarray(info[key])
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"info[{key!r}] must have shape {want} (batched), got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"info[{key!r}] must be real numbers, got dtype {arr.dtype}")
    if np.issubdtype(dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"info[{key!r}] must be finite")
    return arr.astype(dtype, copy=False)


def restart_mask(info: dict[str, Any], n: int | None = None) -> np.ndarray:
    """bool ``[N]``: the rows with ``info["step"] == 0`` (just reset)."""
    step = info_array(info, "step", (n,), np.int64)
    return step == 0


class SeededAgent:
    """Base of the seeded agents: the agent's own generator and ``reset(seed)``; subclasses clear their state in ``_forget``."""

    def __init__(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(check_seed(seed))

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the generator (``None`` keeps the current stream) and forget every row's state."""
        if seed is not None:
            self.rng = np.random.default_rng(check_seed(seed))
        self._forget()

    def _forget(self) -> None:
        pass


# ------------------------------------------------------------------ stateless agents
class BatchedSaliencyAgent(SeededAgent):
    """Saccade every row to a fixation chosen from its priority map (saliency with IoR).

    ``mode="sample"`` draws row i's target from ``info["priority"][i]`` with the uniform
    ``rng.random(N)[i]`` (``saliency.sample_fixations``); ``"argmax"`` takes the peak (no draws).
    Row-wise this is ``agents.SaliencyAgent``: the same target for the same uniform.
    Needs ``info["priority"]`` float32 ``[N, H, W]`` (a saccade vector env made with
    ``priority_info=True``) and ``info["position"]`` float32 ``[N, 2]``; or, for a default saccade
    vector env (``priority_info=False``: no maps written, faster), ``world=venv.world``, whose fused kernels draw from the same maps without materialising them;
    returns the saccade ``pixel_to_norm(target) - position``, float32 ``[N, 2]`` in [-1, 1].
    """

    def __init__(self, mode: str = "sample", seed: int | None = None, world: Any = None) -> None:
        check_choice("mode", mode, SALIENCY_MODES)
        if world is not None and not (hasattr(world, "sample_fixations") and hasattr(world, "argmax_fixations")):
            raise ValueError("world must be a saccade vector env's world (venv.world, with sample_fixations and "
                             f"argmax_fixations), got {type(world).__name__}")
        self.mode = mode
        self.world = world
        super().__init__(seed)

    def targets(self, info: dict[str, Any]) -> np.ndarray:
        """The next fixations, int64 ``[N, 2]`` pixels (row, col)."""
        if "priority" not in info:
            if self.world is None:
                raise ValueError("info must hold 'priority' (the env's saliency-with-IoR maps [N, H, W]); is this "
                                 "a saccade vector env? its infos hold the maps only when made with priority_info=True; "
                                 "else pass world=venv.world)")
            if self.mode == "argmax":
                return self.world.argmax_fixations()
            return self.world.sample_fixations(self.rng.random(self.world.n))
        priority = info["priority"]
        if self.mode == "argmax":
            return argmax_fixations(priority)
        return sample_fixations(priority, self.rng.random(np.shape(priority)[0]))

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        targets = self.targets(info)
        position = info_array(info, "position", (targets.shape[0], 2), np.float32)
        shape = np.shape(info["priority"])[1:] if "priority" in info else self.world.image_shape
        target = pixel_to_norm(targets, shape)
        return np.clip(target - position, -1.0, 1.0).astype(np.float32)


def _fixation_world(world: Any) -> Any:
    if world is None or not (hasattr(world, "fixation_bounds") and hasattr(world, "image_shape")):
        raise ValueError("world must be a saccade vector env's world (venv.world, with fixation_bounds and "
                         f"image_shape), got {type(world).__name__}")
    return world


class BatchedUniformAgent(SeededAgent):
    """Saccade every row to a fixation drawn uniformly over the pixels a fixation may reach.

    ``world`` is a saccade vector env's world (``venv.world``): its ``fixation_bounds`` (with
    ``keep_inside``, where the retina's largest square stays inside the image) bound the draw.
    Needs ``info["position"]`` float32 ``[N, 2]``; returns the saccade ``pixel_to_norm(target) -
    position``, float32 ``[N, 2]`` in [-1, 1]. Unlike ``BatchedRandomAgent`` (uniform *actions*,
    many of them clipped at the border) the *landing points* are uniform, so every place of the
    image is seen equally often and the saccade carries the most information about the next view.
    """

    def __init__(self, world: Any, seed: int | None = None) -> None:
        self.world = _fixation_world(world)
        super().__init__(seed)

    def targets(self, n: int) -> np.ndarray:
        """``n`` fixations, int64 ``[n, 2]`` pixels (row, col), uniform inside ``fixation_bounds``."""
        low, high = self.world.fixation_bounds
        return self.rng.integers(low, high + 1, size=(n, 2), dtype=np.int64)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        position = info_array(info, "position", (None, 2), np.float32)
        target = pixel_to_norm(self.targets(position.shape[0]), self.world.image_shape)
        return np.clip(target - position, -1.0, 1.0).astype(np.float32)


class BatchedMixtureAgent(SeededAgent):
    """Each row, at each step, follows one of ``agents`` drawn with probabilities ``weights``.

    Every agent acts on the whole batch (so each keeps its own random stream whatever the
    draws); row i takes the action of the agent drawn for it. ``reset(seed)`` re-seeds the
    mixture's generator and the agents with ``seed + 1 + k``. Returns float32 ``[N, A]``.
    """

    def __init__(self, agents: Sequence[Any], weights: Sequence[float], seed: int | None = None) -> None:
        if len(agents) < 1 or len(agents) != len(weights):
            raise ValueError(f"agents and weights must be non-empty and of the same length, got {len(agents)} "
                             f"agents and {len(weights)} weights")
        w = np.array([check_real(f"weights[{k}]", v, 0.0, 1.0) for k, v in enumerate(weights)])
        if not np.isclose(w.sum(), 1.0):
            raise ValueError(f"weights must sum to 1, got {list(weights)} (sum {w.sum():g})")
        self.agents, self.weights = list(agents), w / w.sum()
        super().__init__(seed)

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        for k, agent in enumerate(self.agents):
            agent.reset(None if seed is None else int(seed) + 1 + k)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        actions = np.stack([np.asarray(a.act(obs, info), np.float32) for a in self.agents])  # [K, N, A]
        pick = self.rng.choice(len(self.agents), size=actions.shape[1], p=self.weights)
        return actions[pick, np.arange(actions.shape[1])]


def saccade_policy(policy: str, world: Any, seed: int | None = None, mode: str = "sample",
                   uniform_weight: float = 0.5) -> Any:
    """The batched pretraining policy ``policy`` (one of :data:`SACCADE_POLICIES`) for a saccade world.

    ``"saliency"``: :class:`BatchedSaliencyAgent` in ``mode`` (``"sample"`` or ``"argmax"``);
    ``"uniform"``: :class:`BatchedUniformAgent`; ``"mixture"``: each row and step uniform with
    probability ``uniform_weight`` (in [0, 1]), saliency-IoR otherwise.
    """
    check_choice("policy", policy, SACCADE_POLICIES)
    if policy == "uniform":
        return BatchedUniformAgent(world, seed)
    saliency = BatchedSaliencyAgent(mode, seed, world=world)
    if policy == "saliency":
        return saliency
    w = check_real("uniform_weight", uniform_weight, 0.0, 1.0)
    return BatchedMixtureAgent([saliency, BatchedUniformAgent(world, None)], [1.0 - w, w], seed)


class BatchedRandomAgent(SeededAgent):
    """Uniform random actions in ``[-amplitude, amplitude]^A`` (the chance baseline, any env family).

    ``action_dim`` (A >= 1: 2 for saccade and path-integration envs, 3 for rotation envs) and
    ``amplitude`` in (0, 1] (normalised action units). The batch size N is read from
    ``obs["last_action"]`` ``[N, A]`` (or ``info["step"]`` ``[N]``). Returns float32 ``[N, A]``.
    """

    def __init__(self, action_dim: int, amplitude: float = 1.0, seed: int | None = None) -> None:
        self.action_dim = check_int("action_dim", action_dim, 1)
        self.amplitude = check_real("amplitude", amplitude, 0.0, 1.0, lo_open=True)
        super().__init__(seed)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        n = batch_size(obs, info, self.action_dim)
        return self.rng.uniform(-self.amplitude, self.amplitude, (n, self.action_dim)).astype(np.float32)


def batch_size(obs: dict[str, Any], info: dict[str, Any], action_dim: int) -> int:
    """N from ``obs["last_action"]`` ``[N, A]`` (checked against ``action_dim``), else ``info["step"]`` ``[N]``."""
    if "last_action" in obs:
        last = np.shape(obs["last_action"])
        if len(last) != 2 or last[1] != action_dim:
            raise ValueError(f"obs['last_action'] must have shape [N, {action_dim}] (batched), got {last}")
        return int(last[0])
    if "step" in info:
        return int(info_array(info, "step", (None,), np.int64).shape[0])
    raise ValueError("cannot tell the batch size: obs needs 'last_action' [N, A] or info needs 'step' [N]")
