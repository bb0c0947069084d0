"""The world model as a saccade policy: score K candidate actions with seq-JEPA's own prediction of the next
latent and move to the best (DESIGN.md, "The world model as a policy").

Each step the agent keeps, per row, the latents of the views seen so far (online encoder: the aggregator's
input; EMA target encoder: the space the predictor predicts into) and their incoming actions; it encodes only
the new glimpse. It then predicts the next latent for every candidate with the model's predictor
(``z_agg``, and ``z_last`` for ``predictor_context="agg_last"``), for all rows and candidates in one batched
forward pass (``[B * K]`` rows), under ``torch.no_grad``, on the model's device (CPU or CUDA).

Candidates (``candidates=``): on a saccade world, landing points inside ``world.fixation_bounds`` (a grid of
cell centres, the same for every row, or ``K`` uniform draws per row from the agent's own generator), as
relative saccades ``target - position``, so the model is asked about the very action the env applies; on
other worlds, points of the action box ``[-1, 1]^A`` (the model sees them times ``world.action_scale``).

The first view of an episode is the reset observation (``info["step"] == 0``, ``last_action = 0``): the
agent starts the row's memory with it, so the first saccade is already chosen by the model (``M = 1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.batched import SeededAgent, info_array
from agents.world_model.compat import check_checkpoint_world, signature_of_world
from agents.world_model.scores import SCORES, ensemble_spread, entropy_reduction, mc_spread, novelty, prediction_error
from checks import check_choice, check_int
from envs.engine.coordinates import pixel_to_norm
from envs.engine.retina import grey_periphery
from seqjepa import load_pretrained, normalize_glimpses

__all__ = ["BatchedWorldModelAgent", "WorldModelAgent", "WorldModelPlan", "CANDIDATES", "SCORES", "MAX_CANDIDATES",
           "world_of"]

CANDIDATES = ("grid", "sample")
MAX_CANDIDATES = 1 << 14  # K: beyond this one forward pass of B * K predictions would not fit a step
MAX_PASSES = 256


@dataclass
class WorldModelPlan:
    """One step's decision: ``candidates`` float32 ``[N, K, A]`` (normalised actions), ``scores`` float64
    ``[N, K]`` (higher = better) and ``best`` int64 ``[N]`` (the argmax per row)."""

    candidates: np.ndarray
    scores: np.ndarray
    best: np.ndarray

    @property
    def action(self) -> np.ndarray:
        """The chosen actions, float32 ``[N, A]``."""
        return self.candidates[np.arange(len(self.best)), self.best]


def world_of(env: Any) -> tuple[Any, str | None]:
    """``(world, env id or None)`` of a single env, a vector env (also wrapped) or a world itself."""
    for owner in (env, getattr(env, "unwrapped", None)):
        world = getattr(owner, "world", None)
        world = owner if world is None and hasattr(owner, "glimpse_shape") and hasattr(owner, "family") else world
        if world is not None and hasattr(world, "glimpse_shape") and hasattr(world, "transform_dim"):
            spec = getattr(env, "spec", None)
            return world, getattr(spec, "id", None)
    raise ValueError(f"env must be one of this package's envs (single or vector, or its world), got {type(env).__name__}")


class _Member:
    """One world model and its memory of every row: online latents ``z`` and target latents ``zt`` ``[N, cap, D]``."""

    def __init__(self, model: Any, meta: dict[str, Any] | None, device: torch.device) -> None:
        self.model = model.to(device).eval()
        self.meta = meta
        self.periphery = str((meta or {}).get("periphery", "colour"))
        if model.input_mean is None or model.input_std is None:
            raise ValueError("model has no preprocessing statistics: load it with seqjepa.load_pretrained (or call "
                             "set_input_stats(mean, std))")
        self.mean, self.std = model.input_mean, model.input_std
        self.z = self.zt = torch.empty(0)

    def encode(self, glimpses: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 ``[R, S, G, G, C]`` -> online and target latents ``[R, D]`` each."""
        g = grey_periphery(glimpses.copy()) if self.periphery == "grey" else glimpses
        r, s, gs, _, c = g.shape
        x = torch.from_numpy(np.ascontiguousarray(g.transpose(0, 1, 4, 2, 3).reshape(r, 1, s * c, gs, gs)))
        x = normalize_glimpses(x.to(device), self.mean, self.std)
        return self.model.encode(x)[:, 0], self.model.encode_target(x)[:, 0]


def _load(model: Any, meta: dict[str, Any] | None, device: str | torch.device | None,
          name: str) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(model, (str, Path)):
        return load_pretrained(model, device=device)
    if not all(hasattr(model, attr) for attr in ("encode", "encode_target", "aggregate", "predict", "config")):
        raise ValueError(f"{name} must be a seq-JEPA model (seqjepa.load_pretrained(path)[0]) or a checkpoint path, "
                         f"got {type(model).__name__}")
    return model, meta


def _head(head: Any, agg_dim: int, device: torch.device) -> nn.Linear:
    """A linear head on z_AGG: ``nn.Linear(agg_dim, C)`` or ``(W [C, agg_dim], b [C])`` (arrays or tensors)."""
    if isinstance(head, nn.Linear):
        if head.in_features != agg_dim:
            raise ValueError(f"head must read z_AGG of width {agg_dim} (the model's D + E), got a Linear of "
                             f"in_features={head.in_features}")
        return head.to(device).eval()
    if not isinstance(head, (tuple, list)) or len(head) != 2:
        raise ValueError(f"head must be a torch.nn.Linear or a pair (W [C, {agg_dim}], b [C]), got "
                         f"{type(head).__name__}")
    w = torch.as_tensor(np.asarray(head[0], np.float32) if not isinstance(head[0], torch.Tensor) else head[0]).float()
    b = torch.as_tensor(np.asarray(head[1], np.float32) if not isinstance(head[1], torch.Tensor) else head[1]).float()
    if w.dim() != 2 or w.shape[1] != agg_dim or w.shape[0] < 2 or tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"head must be (W [C, {agg_dim}], b [C]) with C >= 2 classes on z_AGG of width {agg_dim}, "
                         f"got W {tuple(w.shape)} and b {tuple(b.shape)}")
    if not (torch.isfinite(w).all() and torch.isfinite(b).all()):
        raise ValueError("head must hold finite weights")
    linear = nn.Linear(agg_dim, w.shape[0])
    with torch.no_grad():
        linear.weight.copy_(w)
        linear.bias.copy_(b)
    return linear.to(device).eval()


class BatchedWorldModelAgent(SeededAgent):
    """Choose each row's next action among ``k`` candidates by the world model's predicted next latent.

    Args:
        model: a seq-JEPA model (``seqjepa.load_pretrained(path)[0]``, with ``meta=``), a checkpoint path, or a
            sequence of them (an ensemble: ``score="disagreement"`` then measures their spread; the other scores
            use the first).
        env: the env it acts in (single or vector, ap_gym-wrapped too, or its world): its world's geometry,
            fixation bounds and action size; the checkpoint must come from this world.
        k: K >= 1 candidates per row and step.
        candidates: ``"grid"`` (the same K cell centres for every row) or ``"sample"`` (K uniform draws per row).
        score: ``"novelty"`` (cosine distance of the predicted latent from the nearest target latent seen),
            ``"disagreement"`` (MC-dropout spread over ``mc_passes`` aggregator passes, or the ensemble's spread)
            or ``"entropy"`` (expected class-entropy reduction through ``head``: the predicted latent is
            appended to the context, aggregated, and the head's entropy compared with the current one).
        head: a linear head on z_AGG (``nn.Linear(D + E, C)`` or ``(W [C, D + E], b [C])``), for ``"entropy"``.
        mc_passes: P >= 2 dropout passes of ``"disagreement"`` with one model.
        seed: the agent's own generator (sampled candidates, dropout masks).
        device: where the models run (default: the first model's device; a path loads on CPU).
        meta: the metadata of a model given as a module (``load_pretrained(path)[1]``; a list for an ensemble).
        prediction_errors: also measure, at every new view, the model's prediction error of the view reached
            (``errors``, an intrinsic reward).

    Raises ValueError (one line naming the parameter) before any work on bad settings: K < 1, an unknown score
    or candidate layout, ``"entropy"`` without a head or with a head of the wrong width, ``"disagreement"`` with
    one model trained without dropout, a checkpoint of another world.
    """

    def __init__(self, model: Any, env: Any, k: int = 16, candidates: str = "grid", score: str = "novelty",
                 head: Any = None, mc_passes: int = 8, seed: int | None = None,
                 device: str | torch.device | None = None, meta: Any = None, prediction_errors: bool = False) -> None:
        self.k = check_int("k", k, 1, MAX_CANDIDATES)
        self.layout = check_choice("candidates", candidates, CANDIDATES)
        self.score = check_choice("score", score, SCORES)
        self.mc_passes = check_int("mc_passes", mc_passes, 2, MAX_PASSES)
        if self.score == "entropy" and head is None:
            raise ValueError("head: score='entropy' needs a linear head on z_AGG (a torch.nn.Linear(D + E, C) or "
                             "(W [C, D + E], b [C]))")
        world, env_id = world_of(env)
        signature = signature_of_world(world, env_id)
        many = isinstance(model, (list, tuple))
        models = list(model) if many else [model]
        metas = list(meta) if isinstance(meta, (list, tuple)) else [meta] * len(models)
        if not models or len(metas) != len(models):
            raise ValueError(f"model must be one model or a non-empty sequence, with one meta each; got "
                             f"{len(models)} models and {len(metas)} metas")
        loaded = [_load(m, mt, device, f"model[{i}]" if many else "model") for i, (m, mt) in enumerate(zip(models, metas))]
        dev = torch.device(device) if device is not None else next(loaded[0][0].parameters()).device
        for i, (m, mt) in enumerate(loaded):
            check_checkpoint_world(mt, m.config.in_channels, m.config.action_dim, signature,
                                   f"model[{i}]" if many else "model")
        first = loaded[0][0].config
        if self.score == "disagreement" and len(loaded) == 1 and not float(first.dropout) > 0:
            raise ValueError("score: 'disagreement' needs MC dropout (this checkpoint was trained with dropout=0) "
                             "or an ensemble of several checkpoints (model=[path, path, ...])")
        self.head = _head(head, first.agg_dim, dev) if head is not None else None
        self.device = dev
        self.members = [_Member(m, mt, dev) for m, mt in loaded]
        self.world = world
        self.action_dim = int(world.transform_dim)
        self.action_scale = float(world.action_scale)
        self.glimpse_shape = tuple(int(v) for v in world.glimpse_shape)
        bounds = getattr(world, "fixation_bounds", None) if hasattr(world, "image_shape") else None
        self.bounds = None if bounds is None else (np.asarray(bounds[0], np.int64), np.asarray(bounds[1], np.int64))
        self.image_shape = tuple(world.image_shape) if self.bounds is not None else None
        self.track_errors = bool(prediction_errors)
        self._grid = self._make_grid()
        super().__init__(seed)
        self._forget()

    # ------------------------------------------------------------------ memory
    def _forget(self) -> None:
        self.length = np.zeros(0, np.int64)  # views seen per row
        self.actions = torch.empty(0)        # incoming actions [N, cap, A] (world units)
        self.errors = np.zeros(0)            # prediction error of each row's newest view (nan: none)
        self.last_plan: WorldModelPlan | None = None

    def _allocate(self, n: int, cap: int) -> None:
        d = [m.model.config.embed_dim for m in self.members]
        self.length = np.zeros(n, np.int64)
        self.actions = torch.zeros(n, cap, self.action_dim, device=self.device)
        for m, width in zip(self.members, d):
            m.z = torch.zeros(n, cap, width, device=self.device)
            m.zt = torch.zeros(n, cap, width, device=self.device)
        self.errors = np.full(n, np.nan)

    def _grow(self, cap: int) -> None:
        def pad(t: torch.Tensor) -> torch.Tensor:
            return torch.cat([t, t.new_zeros(t.shape[0], cap - t.shape[1], t.shape[2])], 1)
        self.actions = pad(self.actions)
        for m in self.members:
            m.z, m.zt = pad(m.z), pad(m.zt)

    @torch.no_grad()
    def observe(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        """Add each row's current view to its memory (a row restarts where ``info["step"] == 0``); a view already
        added is not added again, so ``scores`` then ``act`` on one observation is fine."""
        glimpse = np.asarray(obs.get("glimpse") if isinstance(obs, dict) else None)
        if glimpse.dtype != np.uint8 or glimpse.ndim != 5 or tuple(glimpse.shape[1:]) != self.glimpse_shape:
            raise ValueError(f"obs['glimpse'] must be uint8 [N, {', '.join(map(str, self.glimpse_shape))}] (batched), "
                             f"got {glimpse.dtype} {glimpse.shape}")
        n = glimpse.shape[0]
        last = np.asarray(obs.get("last_action"), np.float32)
        if last.ndim != 2 or last.shape[0] != n or last.shape[1] < self.action_dim:
            raise ValueError(f"obs['last_action'] must have shape [{n}, {self.action_dim}], got {last.shape}")
        step = info_array(info, "step", (n,), np.int64)
        restart = step == 0
        if len(self.length) != n:
            if not restart.all():
                raise RuntimeError(f"the world-model agent meets {n} rows it has not seen start: reset the env and "
                                   f"the agent together")
            self._allocate(n, max(self.world.max_steps + 1, 2))
        length = self.length
        seen = ~restart & (step == length - 1)
        new = restart | (step == length)
        if not (seen | new).all():
            i = int(np.flatnonzero(~(seen | new))[0])
            raise RuntimeError(f"the world-model agent missed steps of row {i} (it saw step {step[i]} after "
                               f"{length[i] - 1}): call act or observe on every step")
        rows = np.flatnonzero(new)
        self.errors = np.full(n, np.nan)
        if not len(rows):
            return
        pos = np.where(restart[rows], 0, length[rows])
        if pos.max() >= self.actions.shape[1]:
            self._grow(2 * int(pos.max()) + 2)
        incoming = torch.from_numpy(np.where(restart[rows, None], 0.0, last[rows, :self.action_dim])).float()
        incoming = incoming.to(self.device)
        r, p = torch.from_numpy(rows).to(self.device), torch.from_numpy(pos).to(self.device)
        for j, m in enumerate(self.members):
            z, zt = m.encode(glimpse[rows], self.device)
            if j == 0 and self.track_errors:
                moved = np.flatnonzero(~restart[rows])
                if len(moved):
                    self.errors[rows[moved]] = self._errors(m, rows[moved], incoming[moved], zt[moved])
            m.z[r, p], m.zt[r, p] = z, zt
        self.actions[r, p] = incoming
        self.length[rows] = pos + 1

    def _context(self, m: _Member, rows: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
        """``z [B, M, D]``, ``actions [B, M, A]``, ``valid`` bool ``[B, M]``, ``z_last [B, D]`` of ``rows`` (all)."""
        length = self.length if rows is None else self.length[rows]
        mx = int(length.max())
        idx = slice(None) if rows is None else torch.from_numpy(rows).to(self.device)
        z, acts = m.z[idx, :mx], self.actions[idx, :mx]
        lens = torch.from_numpy(length).to(self.device)
        valid = torch.arange(mx, device=self.device)[None] < lens[:, None]
        z_last = z[torch.arange(z.shape[0], device=self.device), lens - 1]
        return z, acts, valid, z_last

    def _errors(self, m: _Member, rows: np.ndarray, incoming: torch.Tensor, zt: torch.Tensor) -> np.ndarray:
        z, acts, valid, z_last = self._context(m, rows)
        z_agg = m.model.aggregate(z, acts, None if bool(valid.all()) else ~valid)
        pred = m.model.predict(z_agg, incoming, z_last=z_last)
        return prediction_error(pred, zt).double().cpu().numpy()

    # ------------------------------------------------------------------ candidates and scores
    def _make_grid(self) -> np.ndarray:
        """The grid layout's K points: int64 pixels ``[K, 2]`` (saccade worlds) or float32 ``[K, A]`` in [-1, 1]."""
        dims = 2 if self.bounds is not None else self.action_dim
        m = max(1, math.ceil(round(self.k ** (1.0 / dims), 9)))
        while m ** dims < self.k:
            m += 1
        axes = (np.arange(m) + 0.5) / m  # cell centres in (0, 1)
        full = np.stack(np.meshgrid(*[axes] * dims, indexing="ij"), -1).reshape(-1, dims)
        unit = full[np.rint(np.linspace(0, len(full) - 1, self.k)).astype(np.int64)]  # K = 1: the centre
        if self.bounds is None:
            return (unit * 2.0 - 1.0).astype(np.float32)
        low, high = self.bounds
        return np.clip(np.floor(low + unit * (high - low + 1)), low, high).astype(np.int64)

    def candidates(self, info: dict[str, Any], n: int | None = None) -> np.ndarray:
        """This step's K candidate actions of every row, float32 ``[N, K, A]`` in [-1, 1] (``"sample"`` draws
        from the agent's generator). Saccade worlds need ``info["position"]`` ``[N, 2]``."""
        if self.bounds is None:
            n = len(self.length) if n is None else n
            if self.layout == "grid":
                return np.broadcast_to(self._grid, (n, self.k, self.action_dim)).copy()
            return self.rng.uniform(-1.0, 1.0, (n, self.k, self.action_dim)).astype(np.float32)
        position = info_array(info, "position", (n, 2), np.float32)
        if self.layout == "grid":
            targets = np.broadcast_to(self._grid, (position.shape[0], self.k, 2))
        else:
            low, high = self.bounds
            targets = self.rng.integers(low, high + 1, size=(position.shape[0], self.k, 2), dtype=np.int64)
        return np.clip(pixel_to_norm(targets, self.image_shape) - position[:, None], -1.0, 1.0).astype(np.float32)

    def targets(self, info: dict[str, Any], candidates: np.ndarray) -> np.ndarray:
        """Where candidate saccades ``[N, K, 2]`` land: normalised positions ``[N, K, 2]`` (saccade worlds)."""
        position = info_array(info, "position", (candidates.shape[0], 2), np.float32)
        return position[:, None] + candidates

    def scores(self, obs: dict[str, Any], info: dict[str, Any], candidates: np.ndarray | None = None) -> np.ndarray:
        """Observe, then score ``candidates`` (float ``[N, K', A]`` normalised actions; default: this step's
        :meth:`candidates`): float64 ``[N, K']``, higher = better."""
        self.observe(obs, info)
        if candidates is None:
            candidates = self.candidates(info, len(self.length))
        cand = np.asarray(candidates, np.float32)
        if cand.ndim != 3 or cand.shape[0] != len(self.length) or cand.shape[2] != self.action_dim or not cand.shape[1]:
            raise ValueError(f"candidates must have shape [{len(self.length)}, K, {self.action_dim}], got {cand.shape}")
        return self._score(cand)

    def plan(self, obs: dict[str, Any], info: dict[str, Any]) -> WorldModelPlan:
        """Observe, draw the candidates, score them: the whole decision (kept as ``last_plan``)."""
        self.observe(obs, info)
        cand = self.candidates(info, len(self.length))
        scores = self._score(cand)
        self.last_plan = WorldModelPlan(cand, scores, np.argmax(scores, axis=1).astype(np.int64))
        return self.last_plan

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> np.ndarray:
        """The best candidate of every row, float32 ``[N, A]`` in [-1, 1]."""
        return self.plan(obs, info).action

    @torch.no_grad()
    def _score(self, cand: np.ndarray) -> np.ndarray:
        """float64 ``[B, K]`` scores of candidate actions ``[B, K, A]`` (normalised) in one batched pass."""
        a = torch.from_numpy(cand * np.float32(self.action_scale)).to(self.device)  # [B, K, A] world units
        if self.score == "disagreement" and len(self.members) > 1:
            sims = []
            for m in self.members:
                z, acts, valid, z_last = self._context(m)
                pred = _predict(m.model, m.model.aggregate(z, acts, _mask(valid)), z_last, a)  # [B, K, D]
                sims.append(torch.einsum("bkd,bmd->bkm", nn.functional.normalize(pred, dim=-1),
                                         nn.functional.normalize(m.zt[:, :z.shape[1]], dim=-1)))
            return ensemble_spread(torch.stack(sims), valid).double().cpu().numpy()
        m = self.members[0]
        z, acts, valid, z_last = self._context(m)
        model, mask = m.model, _mask(valid)
        if self.score == "disagreement":
            p = self.mc_passes
            seed = int(self.rng.integers(2 ** 62))
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                torch.manual_seed(seed)
                model.aggregator.train()  # dropout on (the aggregator has no BatchNorm)
                try:
                    z_agg = model.aggregate(z.repeat(p, 1, 1), acts.repeat(p, 1, 1),
                                            None if mask is None else mask.repeat(p, 1))
                finally:
                    model.aggregator.eval()
            pred = _predict(model, z_agg, z_last.repeat(p, 1), a.repeat(p, 1, 1))  # [P * B, K, D]
            return mc_spread(pred.view(p, *a.shape[:2], -1)).double().cpu().numpy()
        z_agg = model.aggregate(z, acts, mask)
        pred = _predict(model, z_agg, z_last, a)  # [B, K, D]
        if self.score == "novelty":
            return novelty(pred, m.zt[:, :z.shape[1]], valid).double().cpu().numpy()
        # entropy: append the predicted view (its incoming action the candidate) to each row's context
        b, k, mx = a.shape[0], a.shape[1], z.shape[1]
        lens = valid.sum(1)
        z_ext = torch.cat([z, z.new_zeros(b, 1, z.shape[2])], 1)[:, None].repeat(1, k, 1, 1)  # [B, K, M+1, D]
        a_ext = torch.cat([acts, acts.new_zeros(b, 1, acts.shape[2])], 1)[:, None].repeat(1, k, 1, 1)
        rows, cols = torch.arange(b, device=self.device)[:, None], torch.arange(k, device=self.device)[None]
        z_ext[rows, cols, lens[:, None]] = pred
        a_ext[rows, cols, lens[:, None]] = a
        valid_ext = (torch.arange(mx + 1, device=self.device)[None] <= lens[:, None])[:, None].expand(b, k, mx + 1)
        after = model.aggregate(z_ext.reshape(b * k, mx + 1, -1), a_ext.reshape(b * k, mx + 1, -1),
                                _mask(valid_ext.reshape(b * k, mx + 1)))
        return entropy_reduction(self.head(z_agg), self.head(after).view(b, k, -1)).double().cpu().numpy()


def _mask(valid: torch.Tensor) -> torch.Tensor | None:
    """The aggregator's key padding mask (True = padding), None where every view is valid."""
    return None if bool(valid.all()) else ~valid


def _predict(model: Any, z_agg: torch.Tensor, z_last: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The predicted next latent of every candidate: ``z_agg [B, E]``, ``z_last [B, D]``, ``a [B, K, A]`` ->
    ``[B, K, D]`` (one predictor call over ``B * K`` rows)."""
    b, k = a.shape[:2]
    pred = model.predict(z_agg[:, None].expand(b, k, -1).reshape(b * k, -1), a.reshape(b * k, -1),
                         z_last=z_last[:, None].expand(b, k, -1).reshape(b * k, -1))
    return pred.view(b, k, -1)


class WorldModelAgent:
    """The single-env world-model agent (``agents.SaliencyAgent``'s interface): :class:`BatchedWorldModelAgent`
    over a batch of one. ``act(obs, info)`` returns float32 ``[A]``; ``plan`` / ``scores`` / ``candidates`` as
    the batched agent's, with a leading axis of 1. Same arguments as :class:`BatchedWorldModelAgent`."""

    def __init__(self, model: Any, env: Any, **kwargs: Any) -> None:
        self.batched = BatchedWorldModelAgent(model, env, **kwargs)

    def reset(self, seed: int | None = None) -> None:
        self.batched.reset(seed)

    @property
    def last_plan(self) -> WorldModelPlan | None:
        return self.batched.last_plan

    def observe(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        self.batched.observe(*_one(obs, info))

    def plan(self, obs: dict[str, Any], info: dict[str, Any]) -> WorldModelPlan:
        return self.batched.plan(*_one(obs, info))

    def scores(self, obs: dict[str, Any], info: dict[str, Any], candidates: np.ndarray | None = None) -> np.ndarray:
        """float64 ``[1, K]`` (``candidates`` ``[1, K, A]`` or ``[K, A]``)."""
        if candidates is not None and np.ndim(candidates) == 2:
            candidates = np.asarray(candidates)[None]
        return self.batched.scores(*_one(obs, info), candidates)

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> np.ndarray:
        return self.batched.act(*_one(observation, info))[0]


def _one(obs: dict[str, Any], info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A single env's obs / info as a batch of one (the keys the agent reads)."""
    return ({k: np.asarray(obs[k])[None] for k in ("glimpse", "last_action") if k in obs},
            {k: np.asarray(info[k])[None] for k in ("position", "step") if k in info})
