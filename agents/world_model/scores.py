"""Candidate scores of the world-model agent: small pure torch functions, higher = better.

Shapes: ``B`` rows, ``K`` candidate saccades, ``M`` views seen (padded), ``D`` latent width,
``P`` MC-dropout passes, ``E`` ensemble members, ``C`` classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["SCORES", "novelty", "mc_spread", "ensemble_spread", "entropy", "entropy_reduction", "prediction_error"]

# "novelty": distance of the predicted next latent from the nearest latent seen; "disagreement": spread of the
# prediction over MC-dropout passes or an ensemble; "entropy": expected class-entropy reduction through a head
SCORES = ("novelty", "disagreement", "entropy")


def novelty(pred: torch.Tensor, seen: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``min_m (1 - cos(pred[b, k], seen[b, m]))`` over the valid views: ``pred [B, K, D]``, ``seen [B, M, D]``,
    ``valid`` bool ``[B, M]`` (at least one per row) -> ``[B, K]`` in [0, 2]."""
    cos = torch.einsum("bkd,bmd->bkm", F.normalize(pred, dim=-1), F.normalize(seen, dim=-1))
    dist = (1.0 - cos).masked_fill(~valid[:, None, :], float("inf"))
    return dist.min(dim=-1).values


def mc_spread(preds: torch.Tensor) -> torch.Tensor:
    """Spread of ``P`` stochastic predictions ``[P, B, K, D]`` -> ``[B, K]``: the variance over passes of the
    unit-normalised latents (cosine geometry, as the loss), summed over ``D``."""
    return F.normalize(preds, dim=-1).var(dim=0, unbiased=False).sum(dim=-1)


def ensemble_spread(sims: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Disagreement of ``E`` members whose latent spaces are not aligned, on what they share: each member's
    cosine similarity of candidate ``k``'s predicted latent to every view seen, ``sims [E, B, K, M]``; the
    variance over members, averaged over the valid views (``valid`` bool ``[B, M]``) -> ``[B, K]``."""
    var = sims.var(dim=0, unbiased=False) * valid[:, None, :]
    return var.sum(dim=-1) / valid.sum(dim=-1).clamp(min=1)[:, None]


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of ``softmax(logits)`` over the last axis: ``[..., C] -> [...]``."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def entropy_reduction(now: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """``H(now) - H(after)``: class logits now ``[B, C]`` and after each candidate ``[B, K, C]`` -> ``[B, K]``."""
    return entropy(now)[:, None] - entropy(after)


def prediction_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - cos(pred, target)`` per row (the pretraining loss): ``[B, D], [B, D] -> [B]``."""
    return 1.0 - F.cosine_similarity(pred, target, dim=-1)
