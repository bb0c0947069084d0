"""Frozen features for evaluation, extracted once per model and split.

One pass over a split's sequences (``T = m_max + 1`` views each) runs the encoder once on every
view; the cheap parts (aggregator, predictor) then run for every number of observed views
``M = 1..m_max`` and for the ablations, so no view is encoded twice. The model is in eval mode
under ``torch.no_grad()`` and its previous mode is restored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Mapping

import cv2
import numpy as np
import torch
from envs.engine.so3 import quat_relative, quat_to_matrix, so3_log
from seqjepa import SeqJEPA

__all__ = ["SplitFeatures", "extract_split", "extract_data", "random_init_copy", "colour_histograms", "raw_pixels",
           "HUE_BINS", "VALUE_BINS", "PIXEL_SIDE", "rotation_matrices", "relative_motion", "relative_transform"]

HUE_BINS = 36     # saturation-weighted hue histogram (the colour shortcut detector)
PIXEL_SIDE = 8    # raw-pixel floor: each glimpse area-averaged to at most 8 x 8 (tractable probes)
VALUE_BINS = 8    # plus a brightness histogram


def _quats(quats: torch.Tensor) -> np.ndarray:
    """Quaternions (w, x, y, z) ``[..., 4]`` as float64 NumPy, for the env's own SO(3) helpers (``envs.engine.so3``)."""
    return quats.detach().cpu().double().numpy()


def rotation_matrices(quats: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (w, x, y, z) ``[..., 4]`` -> float32 ``[..., 9]`` row-major rotation matrices.

    The matrix does not depend on the quaternion's sign (``q`` and ``-q`` are one rotation).
    """
    mats = quat_to_matrix(_quats(quats)).reshape(*quats.shape[:-1], 9)
    return torch.from_numpy(mats).float()


def relative_motion(states: torch.Tensor) -> torch.Tensor:
    """The true transformation from view 0 to every view, the path-integration target.

    Args:
        states: ``[N, T, 2]`` normalised (row, col) positions or ``[N, T, 4]`` unit quaternions
            (w, x, y, z).
    Returns:
        float32 ``[N, T, 2]`` displacements ``states[:, t] - states[:, 0]``, or ``[N, T, 9]``
        flattened relative rotations ``R_t R_0^T`` (the rotation ``q_t q_0^{-1}``, sign-free).
    """
    n, t, k = states.shape
    if k == 2:
        return (states - states[:, :1]).float()
    if k != 4:
        raise ValueError(f"states must be [N, T, 2] positions or [N, T, 4] quaternions, got {tuple(states.shape)}")
    q = _quats(states)
    return rotation_matrices(torch.from_numpy(quat_relative(q, q[:, :1])))


def relative_transform(states: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """The true transformation view ``i`` -> view ``j`` in action units, float32 ``[N, A]``:
    ``states[:, j] - states[:, i]`` for positions ``[N, T, 2]``, the rotation vector of
    ``q_j q_i^{-1}`` (radians, camera frame, as the env's ``last_action``) for quaternions ``[N, T, 4]``."""
    if states.shape[-1] == 2:
        return (states[:, j] - states[:, i]).float()
    q = _quats(states)
    return torch.from_numpy(so3_log(quat_relative(q[:, j], q[:, i]))).float()


@dataclass
class SplitFeatures:
    """Everything the probes need from one split (CPU tensors, ``N`` sequences, ``T`` views).

    Attributes:
        z_views: float ``[N, T, D]`` online-encoder latents of every view.
        z_agg: ``M -> [N, D+E]`` aggregate of views ``0..M-1`` (actions as trained), for the
            extracted numbers of views ``M`` (see :func:`extract_split`'s ``ms``).
        z_agg_no_action: ``M -> [N, D+E]`` with every action slot of the aggregator zeroed.
        z_agg_no_vision: ``M -> [N, D+E]`` with the visual latents zeroed (actions kept).
        actions: float ``[N, T, A]`` incoming actions (``actions[:, 0] = 0``).
        labels: int64 ``[N]`` (-1 = unlabeled).
        pixels: float32 ``[N, T, P]`` raw glimpses (every scale and channel, area-averaged to
            at most ``PIXEL_SIDE x PIXEL_SIDE``), flattened per view.
        colour: float32 ``[N, T, HUE_BINS + VALUE_BINS]`` colour histogram per view (or empty).
        pred_losses: name -> float ``[N]`` held-out prediction loss (1 - cos) of view ``m_pred``
            from views ``0..m_pred-1``: ``true_action``, ``shuffled_action`` (next actions
            permuted across sequences), ``zero_action`` (predictor's action slot zeroed),
            ``copy_last`` (the target latent of view ``m_pred - 1`` as the prediction).
        pred_target: float ``[N, D]`` the target latent of view ``m_pred`` (EMA encoder): the
            shortcut diagnostics fit it from the context alone and from the next state.
        m_pred: the number of observed views of the action-use diagnostic.
        states: float ``[N, T, K]`` true absolute state of every view, ``K = 2`` (row, col)
            positions (saccades, path integration) or ``K = 4`` unit quaternions (w, x, y, z;
            3D rotation); None when the source gave none (then actions stand in for the truth).
    """

    z_views: torch.Tensor
    z_agg: dict[int, torch.Tensor]
    z_agg_no_action: dict[int, torch.Tensor]
    z_agg_no_vision: dict[int, torch.Tensor]
    actions: torch.Tensor
    labels: torch.Tensor
    pixels: torch.Tensor
    colour: torch.Tensor
    pred_losses: dict[str, torch.Tensor] = field(default_factory=dict)
    states: torch.Tensor | None = None
    pred_target: torch.Tensor | None = None
    m_pred: int | None = None

    def __post_init__(self) -> None:
        if self.states is not None and (self.states.dim() != 3 or self.states.shape[-1] not in (2, 4)
                                        or self.states.shape[:2] != self.actions.shape[:2]):
            raise ValueError(f"states must be [N, T, 2] or [N, T, 4] beside actions {tuple(self.actions.shape)}, "
                             f"got {tuple(self.states.shape)}")

    @property
    def total_action(self) -> torch.Tensor:
        """``[N, T, A]``: ``total[:, m]`` = view 0 -> view ``m`` (sum of reported actions 1..m)."""
        return self.actions.cumsum(1)

    @property
    def is_rotation(self) -> bool:
        """The states are 3D orientations (quaternions), not positions."""
        return self.states is not None and self.states.shape[-1] == 4

    @cached_property
    def motion(self) -> torch.Tensor:
        """Path-integration target ``[N, T, K']``: ``motion[:, m]`` = the true view 0 -> view ``m``
        (see :func:`relative_motion`); the summed actions when there are no states."""
        return self.total_action if self.states is None else relative_motion(self.states)

    @cached_property
    def first_step(self) -> torch.Tensor:
        """``[N, A]``: the true transformation view 0 -> view 1 in action units (the equivariance
        target, see :func:`relative_transform`); the reported ``actions[:, 1]`` without states."""
        return self.actions[:, 1] if self.states is None else relative_transform(self.states, 0, 1)

    @cached_property
    def orientation(self) -> torch.Tensor | None:
        """``[N, T, 9]`` absolute rotation matrix of every view (rotation family), else None."""
        return rotation_matrices(self.states) if self.is_rotation else None


def colour_histograms(glimpses: np.ndarray) -> np.ndarray:
    """Per-view colour histograms of uint8 ``[B, T, S*3, G, G]`` glimpses -> float32 ``[B, T, H + V]``.

    Hue (``HUE_BINS``, weighted by saturation) and value (``VALUE_BINS``) over every pixel of
    every scale, each normalised to sum 1. Non-RGB glimpses (channels not a multiple of 3)
    give an empty ``[B, T, 0]`` array.
    """
    b, t, c, g, _ = glimpses.shape
    if c % 3:
        return np.zeros((b, t, 0), np.float32)
    rgb = np.ascontiguousarray(glimpses.reshape(b * t * (c // 3), 3, g, g).transpose(0, 2, 3, 1))
    hsv = cv2.cvtColor(rgb.reshape(-1, g, 3), cv2.COLOR_RGB2HSV_FULL).reshape(b * t, -1, 3).astype(np.float32)
    hue_bin = np.minimum((hsv[..., 0] * (HUE_BINS / 256.0)).astype(np.int64), HUE_BINS - 1)
    val_bin = np.minimum((hsv[..., 2] * (VALUE_BINS / 256.0)).astype(np.int64), VALUE_BINS - 1)
    rows = np.arange(b * t)[:, None]
    hue = np.zeros((b * t, HUE_BINS), np.float64)
    np.add.at(hue, (np.broadcast_to(rows, hue_bin.shape), hue_bin), hsv[..., 1] / 255.0)
    val = np.zeros((b * t, VALUE_BINS), np.float64)
    np.add.at(val, (np.broadcast_to(rows, val_bin.shape), val_bin), 1.0)
    hue /= np.maximum(hue.sum(1, keepdims=True), 1e-9)
    val /= np.maximum(val.sum(1, keepdims=True), 1e-9)
    return np.concatenate([hue, val], 1).astype(np.float32).reshape(b, t, -1)


def raw_pixels(glimpses: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, T, C, G, G]`` -> float32 ``[B, T, C * g * g]`` with ``g = ceil(G / ceil(G / PIXEL_SIDE))``
    (area-averaged in ``k x k`` blocks, ``k = ceil(G / PIXEL_SIDE)``), values in ``[0, 1]``."""
    b, t, c, g, _ = glimpses.shape
    k = -(-g // PIXEL_SIDE)
    x = glimpses.reshape(b * t, c, g, g).float() / 255.0
    x = torch.nn.functional.avg_pool2d(x, k, ceil_mode=True) if k > 1 else x
    return x.reshape(b, t, -1)


def _data_batch(batch: Mapping[str, torch.Tensor], m_max: int) -> torch.Tensor:
    """A source batch's uint8 glimpses cut to views ``0..m_max`` (ValueError when too short)."""
    raw = batch["glimpses"]
    if raw.dim() != 5 or raw.shape[1] < m_max + 1:
        raise ValueError(f"batches must hold uint8 [B, T, C, G, G] glimpses with T >= m_max + 1 = "
                         f"{m_max + 1}, got {tuple(raw.shape)}")
    return raw[:, : m_max + 1]


def _append_data(parts: dict[str, list], states: list[torch.Tensor], batch: Mapping[str, torch.Tensor],
                 raw: torch.Tensor, m_max: int, data_floors: bool) -> None:
    """Append one batch's model-free parts (actions, labels, states; pixels and colour histograms
    when ``data_floors``, else empty ``[B, T, 0]``) to ``parts`` / ``states``."""
    parts["actions"].append(batch["actions"][:, : m_max + 1].to("cpu", torch.float32))
    parts["labels"].append(batch["labels"].to(torch.int64))
    if "states" in batch:
        states.append(batch["states"][:, : m_max + 1].to("cpu", torch.float32))
    raw = raw.cpu()
    if data_floors:
        parts["pixels"].append(raw_pixels(raw))
        parts["colour"].append(torch.from_numpy(colour_histograms(raw.numpy())))
    else:
        parts["pixels"].append(torch.zeros(*raw.shape[:2], 0))
        parts["colour"].append(torch.zeros(*raw.shape[:2], 0))


def _check_parts(parts: dict[str, list], states: list[torch.Tensor]) -> None:
    if not parts["labels"]:
        raise ValueError("no batches to extract features from")
    if states and len(states) != len(parts["labels"]):
        raise ValueError("some batches carry 'states' and some do not")


def extract_data(batches: Iterable[Mapping[str, torch.Tensor]], m_max: int,
                 max_batches: int | None = None) -> SplitFeatures:
    """The model-free part of :func:`extract_split` (what the floors read), without a model.

    The same batches give the same ``actions``, ``labels``, ``states``, ``pixels`` and ``colour``
    as :func:`extract_split`; the model's fields are empty (``z_views`` ``[N, T, 0]``, no
    aggregates, no prediction losses).
    """
    parts: dict[str, list] = {k: [] for k in ("actions", "labels", "pixels", "colour")}
    states: list[torch.Tensor] = []
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        raw = _data_batch(batch, m_max)
        _append_data(parts, states, batch, raw, m_max, True)
    _check_parts(parts, states)
    cat = {k: torch.cat(v) for k, v in parts.items()}
    return SplitFeatures(z_views=torch.zeros(*cat["actions"].shape[:2], 0), z_agg={}, z_agg_no_action={},
                         z_agg_no_vision={}, states=torch.cat(states) if states else None, **cat)


def _cosine_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.nn.functional.cosine_similarity(pred.float(), target.float(), dim=-1)


@torch.no_grad()
def extract_split(model: SeqJEPA, batches: Iterable[Mapping[str, torch.Tensor]], m_max: int, m_pred: int,
                  preprocess: Callable[[torch.Tensor], torch.Tensor], device: torch.device,
                  max_batches: int | None = None, seed: int = 0, data_floors: bool = True,
                  ms: Iterable[int] | None = None) -> SplitFeatures:
    """Run the frozen ``model`` over ``batches`` (source batches with ``T >= m_max + 1`` views).

    Args:
        model: a :class:`SeqJEPA`; put in eval mode for the pass.
        batches: mappings with ``glimpses`` uint8 ``[B, T, C, G, G]``, ``actions`` ``[B, T, A]``,
            ``labels`` ``[B]`` and optionally ``states`` ``[B, T, K]`` (in every batch or none).
        m_max: largest number of observed views (``1 <= m_max <= T - 1``).
        m_pred: observed views of the action-use diagnostic (the training ``M_tr``).
        preprocess: uint8 glimpses on ``device`` -> normalised float.
        max_batches: stop after this many batches (None = all).
        seed: seeds the shuffling of the "shuffled action" diagnostic.
        data_floors: also the raw-pixel and colour-histogram features (else empty ``[N, T, 0]``:
            the floors that read them come from elsewhere, e.g. the floor cache).
        ms: the numbers of observed views whose aggregates are kept (``m_pred`` is always added;
            default: every ``1..m_max``). The aggregates are most of the pass's cost.
    """
    if not 1 <= m_pred <= m_max:
        raise ValueError(f"m_pred must lie in [1, m_max={m_max}], got {m_pred}")
    agg_ms = sorted(set(range(1, m_max + 1) if ms is None else (int(m) for m in ms)) | {m_pred})
    if agg_ms[0] < 1 or agg_ms[-1] > m_max:
        raise ValueError(f"ms must lie in [1, m_max={m_max}], got {sorted(set(ms or ()))}")
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    keys = ("z_views", "actions", "labels", "pixels", "colour")
    parts: dict[str, list] = {k: [] for k in keys}
    aggs: dict[str, dict[int, list]] = {k: {m: [] for m in agg_ms}
                                        for k in ("z_agg", "z_agg_no_action", "z_agg_no_vision")}
    losses: dict[str, list] = {k: [] for k in ("true_action", "shuffled_action", "zero_action", "copy_last")}
    states: list[torch.Tensor] = []
    goals: list[torch.Tensor] = []
    try:
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            raw = _data_batch(batch, m_max)
            x = preprocess(raw.to(device))
            actions = batch["actions"][:, : m_max + 1].to(device, torch.float32)
            z = model.encode(x)                                   # [B, T, D]
            target = model.encode_target(x[:, : m_pred + 1])      # [B, m_pred + 1, D]
            for m in agg_ms:
                agg = model.aggregate(z[:, :m], actions[:, :m])
                if m == m_pred:
                    z_agg = agg  # the context of the action-use diagnostic below
                aggs["z_agg"][m].append(agg.cpu())
                aggs["z_agg_no_action"][m].append(model.aggregate(z[:, :m], actions[:, :m], condition=False).cpu())
                aggs["z_agg_no_vision"][m].append(model.aggregate(torch.zeros_like(z[:, :m]), actions[:, :m]).cpu())
            nxt = actions[:, m_pred]
            shuffled = nxt[torch.randperm(nxt.shape[0], generator=gen).to(device)]
            goal = target[:, m_pred]
            last = z[:, m_pred - 1]
            losses["true_action"].append(_cosine_loss(model.predict(z_agg, nxt, z_last=last), goal).cpu())
            losses["shuffled_action"].append(_cosine_loss(model.predict(z_agg, shuffled, z_last=last), goal).cpu())
            losses["zero_action"].append(_cosine_loss(model.predict(z_agg, nxt, condition=False, z_last=last),
                                                      goal).cpu())
            losses["copy_last"].append(_cosine_loss(target[:, m_pred - 1], goal).cpu())
            goals.append(goal.float().cpu())
            parts["z_views"].append(z.float().cpu())
            _append_data(parts, states, batch, raw, m_max, data_floors)
    finally:
        model.train(was_training)
    _check_parts(parts, states)
    cat = {k: torch.cat(v) for k, v in parts.items()}
    return SplitFeatures(
        z_views=cat["z_views"], actions=cat["actions"], labels=cat["labels"], pixels=cat["pixels"],
        colour=cat["colour"],
        z_agg={m: torch.cat(v).float() for m, v in aggs["z_agg"].items()},
        z_agg_no_action={m: torch.cat(v).float() for m, v in aggs["z_agg_no_action"].items()},
        z_agg_no_vision={m: torch.cat(v).float() for m, v in aggs["z_agg_no_vision"].items()},
        pred_losses={k: torch.cat(v) for k, v in losses.items()},
        states=torch.cat(states) if states else None,
        pred_target=torch.cat(goals), m_pred=m_pred,
    )


@torch.no_grad()
def random_init_copy(model: SeqJEPA, seed: int, calibration: Iterable[Mapping[str, torch.Tensor]],
                     preprocess: Callable[[torch.Tensor], torch.Tensor], device: torch.device,
                     n_batches: int = 20) -> SeqJEPA:
    """The same architecture with fresh weights (seeded), every layer re-drawn ([AGG] token too).

    BatchNorm running statistics are then re-estimated on ``n_batches`` of ``calibration``
    data (train-mode forward passes, no gradient, cumulative averages), so the floor is a fair
    random network rather than one whose eval-mode normalisation is the identity.
    """
    with torch.random.fork_rng(devices=[]):  # seeded weights and dropout; the caller's RNG untouched
        torch.manual_seed(seed)
        fresh = type(model)(copy.deepcopy(model.config)).to(device)
        fresh.target_encoder.load_state_dict(fresh.encoder.state_dict())
        norms = [mod for mod in fresh.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average over the calibration batches
        fresh.train()
        for i, batch in enumerate(calibration):
            if i >= n_batches:
                break
            x = preprocess(batch["glimpses"].to(device))
            actions = batch["actions"].to(device, torch.float32)
            fresh(x, actions, n_observed=x.shape[1] - 1)
            fresh.target_encoder(x.reshape(-1, *x.shape[2:]))
    fresh.eval()
    return fresh
