"""Losses as small pure functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["cosine_similarity_per_item", "prediction_loss", "variance_covariance_loss"]


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("pred and target must be torch tensors")
    if pred.dim() < 1 or pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape [..., D], got "
                         f"pred {tuple(pred.shape)} and target {tuple(target.shape)}")
    if pred.shape[-1] < 1:
        raise ValueError(f"pred must have a non-empty last dimension D, got {tuple(pred.shape)}")


def cosine_similarity_per_item(pred: torch.Tensor, target: torch.Tensor,
                               eps: float = 1e-8) -> torch.Tensor:
    """Cosine similarity along the last dim: ``[..., D], [..., D] -> [...]``, in ``[-1, 1]``.

    A zero vector has similarity 0 with anything (no NaN).
    """
    _check_pair(pred, target)
    return F.cosine_similarity(pred, target, dim=-1, eps=eps)


def prediction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """seq-JEPA loss ``mean(1 - cos(pred, target))``: ``[B, D], [B, D] -> scalar`` in ``[0, 2]``.

    ``target`` should already be detached (it comes from the no-grad EMA encoder); gradients
    flow into both arguments if they require them. Invariant to positive rescaling of either.
    """
    _check_pair(pred, target)
    if pred.numel() == 0:
        raise ValueError(f"pred must contain at least one item, got shape {tuple(pred.shape)}")
    return (1.0 - cosine_similarity_per_item(pred, target)).mean()


def variance_covariance_loss(z: torch.Tensor, eps: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """VICReg's anti-collapse terms on a batch of latents ``[N, D]`` (N >= 2): ``(variance, covariance)``.

    variance = ``mean_d relu(1 - sqrt(var_d + eps))`` (each dimension keeps a unit spread);
    covariance = ``sum_{i != j} cov_ij^2 / D`` (dimensions decorrelated). Both are scalars >= 0
    and 0 for whitened latents of unit variance.
    """
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(f"z must be a [N, D] tensor with N >= 2, got "
                         f"{tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}")
    z = z.float()
    z = z - z.mean(0)
    std = torch.sqrt(z.var(0) + eps)
    variance = torch.relu(1.0 - std).mean()
    cov = (z.T @ z) / (z.shape[0] - 1)
    off = cov - torch.diag(torch.diagonal(cov))
    covariance = off.pow(2).sum() / z.shape[1]
    return variance, covariance
