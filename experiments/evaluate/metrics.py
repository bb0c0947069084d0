"""Probe metrics on frozen features, for the model and for its floors, by the same code.

Every function returns measurement dicts ``{"metric", "subject", "m", "seed", "value"}`` (the
contract of :mod:`experiments.evaluate.tables`; every metric is registered in
:mod:`experiments.evaluate.metric_registry`). Probes are converged ones
(:func:`~experiments.evaluate.probes.fit_logistic`, :func:`~experiments.evaluate.probes.fit_ridge`,
regularisation chosen on a validation split of the training features).

Metrics (``m`` = number of observed views M_val):
- ``top1_z_agg``: class from z_AGG of views ``0..m-1`` (logistic regression).
- ``top1_encoder``: class from the mean of the encoder latents of views ``0..m-1`` (m = 1, M_tr).
- ``equiv_r2_uniform`` / ``equiv_r2_global`` (m = 2): the true relative transformation between
  views 0 and 1 in action units (the displacement; for 3D rotation the relative rotation's
  rotation vector) from ``concat(z_0, z_1)`` (ridge); scikit-learn's per-dimension mean R^2 /
  one global R^2. ``equiv_r2_mlp``: the same target from the same features through an
  early-stopped MLP probe (:func:`~experiments.evaluate.probes.fit_mlp`; SIE's protocol for
  rotations, which no linear map of two views' latents decodes).
- ``pathint_r2`` (+ ``_no_action``, ``_no_vision``): the true motion view 0 -> view ``m`` (the
  displacement of the positions; for 3D rotation the relative rotation ``q_m q_0^{-1}`` as a
  flattened 3 x 3 matrix) from ``concat(z_AGG(0..m-1), a_m)`` (ridge), as trained / with the
  aggregator's action slots zeroed / with the visual latents zeroed. Without states the summed
  actions are the target.
- ``pathint_r2_odometry`` (positions with noisy reported moves only): vision + actions step by step.
  One early-stopped MLP probe, shared by every step ``t`` in ``1..max(ms)``, decodes the true step
  ``s_t - s_{t-1}`` from ``concat(f(view t-1), f(view t), a_t)``; the decoded steps of views
  ``1..m`` are summed into the displacement view 0 -> view ``m``. It sees what dead reckoning sees
  (``a_1..a_m``) plus the ``m + 1`` glimpses, so it beats dead reckoning only where vision corrects
  the reported moves. ``f`` is the encoder (``trained``, ``random_init``) or the raw pixels (floor).
- ``rot_r2_absolute`` (m = 1, 3D rotation only): the absolute orientation of view 0 (flattened
  rotation matrix) from its encoder latent ``z_0`` (ridge, mean R^2 over the 9 entries).
- ``pred_loss_*`` (m = M_tr): the action-use diagnostic, held-out 1 - cos of the predicted
  next latent with the true, a shuffled and a zeroed next action, and copying the last view.
  Beside them, what a predictor could score *without* using the saccade through the context:
  ``pred_loss_mean_target`` (the mean training target as the prediction: a collapsed or
  constant target scores low here) and ``pred_loss_next_state`` (a ridge fit of the target
  from the next view's true state alone: position as random Fourier features, or the rotation
  matrix). ``target_r2_z_agg`` / ``target_r2_next_state``: the share of the target's variance a
  ridge fit explains from z_AGG of the context alone / from the next state alone. A world with a
  per-scene signature shows a high ``target_r2_z_agg`` and a low ``target_r2_next_state``.
Floors: ``raw_pixels`` (the glimpses' pixels at up to 8 x 8 per scale, concatenated over views), ``colour_hist``
(per-view colour histograms summed over views: the shortcut detector), ``dead_reckoning``
(path integration from the concatenated reported actions ``a_1..a_m``: exact for noise-free
displacements, below 1 with action noise or for composed rotations), ``chance`` (majority class).
Class metrics and their floors are left out when the data has no labels.
"""

from __future__ import annotations

from typing import Any

import torch

from envs.families import FAMILIES, Family
from experiments.evaluate.features import SplitFeatures, rotation_matrices
from experiments.evaluate.metric_registry import metric as registered
from experiments.evaluate.probes import fit_logistic, fit_mlp, fit_ridge, r2_scores

__all__ = ["model_measurements", "floor_measurements", "Measurement"]

Measurement = dict[str, Any]
RAW_PIXEL_MAX_VIEWS = 4  # raw-pixel class probes concatenate views: capped to keep them tractable


def _row(metric: str, subject: str, m: int | None, seed: int, value: float) -> Measurement:
    """One measurement of a registered metric (a KeyError for a name the registry lacks)."""
    return {"metric": registered(metric).name, "subject": subject, "m": m, "seed": seed, "value": float(value)}


def _labeled(f: SplitFeatures) -> torch.Tensor:
    return f.labels >= 0


def _top1(x_tr: torch.Tensor, y_tr: torch.Tensor, x_te: torch.Tensor, y_te: torch.Tensor, seed: int) -> float:
    return fit_logistic(x_tr.double(), y_tr, x_te.double(), y_te, seed=seed).accuracy


def _ridge(x_tr: torch.Tensor, y_tr: torch.Tensor, x_te: torch.Tensor, y_te: torch.Tensor, seed: int) -> Any:
    return fit_ridge(x_tr.double(), y_tr.double(), x_te.double(), y_te.double(), seed=seed)


def _classify(subject: str, metric: str, train: SplitFeatures, test: SplitFeatures, ms: list[int], seed: int,
              features: Any) -> list[Measurement]:
    """Top-1 of ``features(split, m) -> [N, F]`` for every m (labeled sequences only)."""
    tr, te = _labeled(train), _labeled(test)
    if not tr.any() or not te.any():
        return []
    return [_row(metric, subject, m, seed, _top1(features(train, m)[tr], train.labels[tr],
                                                  features(test, m)[te], test.labels[te], seed)) for m in ms]


def _equivariance(subject: str, train: SplitFeatures, test: SplitFeatures, seed: int, features: Any) -> list[Measurement]:
    x_tr, x_te = features(train), features(test)
    res = _ridge(x_tr, train.first_step, x_te, test.first_step, seed)
    mlp = fit_mlp(x_tr.float(), train.first_step.double(), x_te.float(), test.first_step.double(), seed=seed)
    return [_row("equiv_r2_uniform", subject, 2, seed, res.r2_uniform),
            _row("equiv_r2_global", subject, 2, seed, res.r2_global),
            _row("equiv_r2_mlp", subject, 2, seed, mlp.r2_uniform)]


def _absolute_rotation(subject: str, train: SplitFeatures, test: SplitFeatures, seed: int,
                       features: Any) -> list[Measurement]:
    """``rot_r2_absolute`` of ``features(split) -> [N, F]`` (view 0); nothing without orientations."""
    if train.orientation is None or test.orientation is None:
        return []
    res = _ridge(features(train), train.orientation[:, 0], features(test), test.orientation[:, 0], seed)
    return [_row("rot_r2_absolute", subject, 1, seed, res.r2_uniform)]


EXACT_MOVES_R2 = 0.9999  # reported moves explain the true steps this well: dead reckoning is exact


def _noisy_moves(f: SplitFeatures, steps: int) -> bool:
    """The split has 2-D positions whose true steps ``1..steps`` the reported actions do not give
    exactly (a least-squares fit with intercept explains less than :data:`EXACT_MOVES_R2`)."""
    if f.states is None or f.states.shape[-1] != 2 or f.actions.shape[-1] != 2 or steps < 1:
        return False
    true = (f.states[:, 1:steps + 1] - f.states[:, :steps]).reshape(-1, 2).double()
    x = torch.cat([f.actions[:, 1:steps + 1].reshape(-1, 2).double(), torch.ones(true.shape[0], 1, dtype=torch.float64)], 1)
    fit = x @ torch.linalg.lstsq(x, true).solution
    return r2_scores(true, fit)[0] < EXACT_MOVES_R2


def _odometry(subject: str, train: SplitFeatures, test: SplitFeatures, ms: list[int], seed: int,
              view_features: Any) -> list[Measurement]:
    """``pathint_r2_odometry`` (module doc) of ``view_features(split) -> [N, T, F]``; nothing where
    the reported moves are exact or the splits hold no positions."""
    ms = [m for m in ms if m >= 1]
    if not ms:
        return []
    steps = max(ms)
    if not (_noisy_moves(train, steps) and _noisy_moves(test, steps)):
        return []

    def rows(f: SplitFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        v = view_features(f)[:, :steps + 1].float()
        x = torch.cat([v[:, :-1], v[:, 1:], f.actions[:, 1:steps + 1].float()], 2)  # [N, steps, 2F + 2]
        y = f.states[:, 1:steps + 1] - f.states[:, :steps]
        return x.reshape(-1, x.shape[-1]), y.reshape(-1, 2).double()

    (x_tr, y_tr), (x_te, y_te) = rows(train), rows(test)
    res = fit_mlp(x_tr, y_tr, x_te, y_te, seed=seed)
    decoded = res.predictions.reshape(test.states.shape[0], steps, 2).cumsum(1)  # view 0 -> view m, m = 1..steps
    return [_row("pathint_r2_odometry", subject, m, seed, r2_scores(test.motion[:, m], decoded[:, m - 1])[0])
            for m in ms]


def model_measurements(subject: str, train: SplitFeatures, test: SplitFeatures, ms: list[int], seed: int,
                       m_tr: int | None = None) -> list[Measurement]:
    """Every model metric of the module doc for one model's features (``subject`` names it).

    ``top1_encoder`` is measured at ``m = 1`` and ``m = m_tr`` (default: the largest ``m``).
    """
    out = _classify(subject, "top1_z_agg", train, test, ms, seed, lambda f, m: f.z_agg[m])
    enc_ms = sorted({m for m in (1, m_tr or ms[-1]) if m in ms})
    out += _classify(subject, "top1_encoder", train, test, enc_ms, seed, lambda f, m: f.z_views[:, :m].mean(1))
    out += _equivariance(subject, train, test, seed, lambda f: f.z_views[:, :2].flatten(1))
    out += _absolute_rotation(subject, train, test, seed, lambda f: f.z_views[:, 0])
    for suffix, aggs in (("", "z_agg"), ("_no_action", "z_agg_no_action"), ("_no_vision", "z_agg_no_vision")):
        for m in ms:
            x_tr, x_te = (torch.cat([getattr(f, aggs)[m], f.actions[:, m]], 1) for f in (train, test))
            res = _ridge(x_tr, train.motion[:, m], x_te, test.motion[:, m], seed)
            out.append(_row(f"pathint_r2{suffix}", subject, m, seed, res.r2_uniform))
    out += _odometry(subject, train, test, ms, seed, lambda f: f.z_views)
    for name, losses in test.pred_losses.items():
        out.append(_row(f"pred_loss_{name}", subject, None, seed, float(losses.mean())))
    out += _shortcut_diagnostics(subject, train, test, seed)
    return out


STATE_FEATURES = 128  # random Fourier features of a 2-D position for the next-state fit
STATE_FREQUENCY = 6.0  # their frequency scale (cycles per unit of normalised position)


def position_features(states: torch.Tensor) -> torch.Tensor:
    """Positions ``[N, K]`` as fixed random Fourier features ``[N, 2 * STATE_FEATURES]`` (the same
    for every call)."""
    gen = torch.Generator().manual_seed(0)
    freq = torch.randn(states.shape[-1], STATE_FEATURES, generator=gen, dtype=torch.float64) * STATE_FREQUENCY
    phase = 2 * torch.pi * states.double() @ freq
    return torch.cat([torch.cos(phase), torch.sin(phase)], 1)


# A family's state (``Family.state_key``) -> its ridge features; a family whose state is neither gets
# the Fourier features of a point in R^K.
STATE_FEATURE_MAPS = {"position": position_features, "rotation": rotation_matrices}


def state_features(states: torch.Tensor, family: Family | None = None) -> torch.Tensor:
    """A next view's true state ``[N, K]`` as ridge features, chosen by the world's ``family``
    (:data:`STATE_FEATURE_MAPS`; None: the registered family whose ``state_dim`` is K): positions as
    fixed random Fourier features ``[N, 2 * STATE_FEATURES]``, quaternions as flattened rotation
    matrices ``[N, 9]`` (sign-free)."""
    if family is None:
        family = next((f for f in FAMILIES.values() if f.state_dim == states.shape[-1]), None)
    key = family.state_key if family is not None else None
    return STATE_FEATURE_MAPS.get(key, position_features)(states)


def _cosine_to(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float((1.0 - torch.nn.functional.cosine_similarity(pred.double(), target.double(), dim=-1)).mean())


def _shortcut_diagnostics(subject: str, train: SplitFeatures, test: SplitFeatures, seed: int) -> list[Measurement]:
    """``pred_loss_mean_target``, ``pred_loss_next_state``, ``target_r2_z_agg``, ``target_r2_next_state``
    (module doc); nothing when the features carry no target latents."""
    if train.pred_target is None or test.pred_target is None or train.m_pred is None:
        return []
    m = train.m_pred
    y_tr, y_te = train.pred_target, test.pred_target
    out = [_row("pred_loss_mean_target", subject, None, seed, _cosine_to(y_tr.mean(0, keepdim=True).expand_as(y_te), y_te))]
    ctx = _ridge(train.z_agg[m], y_tr, test.z_agg[m], y_te, seed)
    out.append(_row("target_r2_z_agg", subject, None, seed, ctx.r2_global))
    if train.states is not None and test.states is not None:
        res = _ridge(state_features(train.states[:, m]), y_tr, state_features(test.states[:, m]), y_te, seed)
        out.append(_row("pred_loss_next_state", subject, None, seed, _cosine_to(res.predictions, y_te)))
        out.append(_row("target_r2_next_state", subject, None, seed, res.r2_global))
    return out


def floor_measurements(train: SplitFeatures, test: SplitFeatures, ms: list[int], seed: int) -> list[Measurement]:
    """Floors that need no model: raw pixels, colour histograms, dead reckoning, chance (the class
    floors only where both splits have labels)."""
    pixel_ms = [m for m in ms if m <= RAW_PIXEL_MAX_VIEWS]
    out = _classify("raw_pixels", "top1_z_agg", train, test, pixel_ms, seed,
                    lambda f, m: f.pixels[:, :m].flatten(1))
    out += _equivariance("raw_pixels", train, test, seed, lambda f: f.pixels[:, :2].flatten(1))
    out += _absolute_rotation("raw_pixels", train, test, seed, lambda f: f.pixels[:, 0])
    if train.colour.shape[-1]:
        out += _classify("colour_hist", "top1_z_agg", train, test, ms, seed, lambda f, m: f.colour[:, :m].sum(1))
    for m in ms:
        res = _ridge(train.actions[:, 1:m + 1].flatten(1), train.motion[:, m],
                     test.actions[:, 1:m + 1].flatten(1), test.motion[:, m], seed)
        out.append(_row("pathint_r2", "dead_reckoning", m, seed, res.r2_uniform))
    out += _odometry("raw_pixels", train, test, ms, seed, lambda f: f.pixels)
    tr, te = _labeled(train), _labeled(test)
    if tr.any() and te.any():
        majority = int(torch.bincount(train.labels[tr]).argmax())
        chance = float((test.labels[te] == majority).float().mean())
        out += [_row("top1_z_agg", "chance", m, seed, chance) for m in ms]
    return out
