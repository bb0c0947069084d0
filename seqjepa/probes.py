"""Probes on DETACHED features (online during pretraining, or on frozen features) and R^2.

Every probe detaches its inputs, so probe losses never reach the encoder or aggregator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from checks import check_int

__all__ = ["ActionRegressor", "LinearProbe", "r2_score", "r2_from_sums"]

MULTIOUTPUT = ("raw_values", "uniform_average", "variance_weighted")


def _regressor(in_dim: int, out_dim: int, hidden: int | None) -> nn.Module:
    if hidden is None:
        return nn.Linear(in_dim, out_dim)
    hidden = check_int("hidden (None: a linear probe)", hidden, 1)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


def _check_2d(name: str, x: torch.Tensor, dim: int) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must have shape [N, {dim}], got {shape}")


class LinearProbe(nn.Module):
    """Linear classifier on detached features ``[N, in_dim] -> logits [N, n_classes]``."""

    def __init__(self, in_dim: int, n_classes: int) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.in_dim, self.n_classes = in_dim, n_classes
        self.linear = nn.Linear(in_dim, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """float ``[N, in_dim]`` (detached here) -> logits ``[N, n_classes]``."""
        _check_2d("features", features, self.in_dim)
        return self.linear(features.detach())

    def loss_and_accuracy(self, features: torch.Tensor,
                          labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy and top-1 accuracy over items with ``labels >= 0`` (``-1`` = unlabeled).

        Args:
            features: float ``[N, in_dim]``.
            labels: int64 ``[N]`` in ``{-1, 0, ..., n_classes - 1}``.

        Returns:
            ``(loss, accuracy)``, 0-dim tensors; ``accuracy`` is detached, in ``[0, 1]``. With no
            labeled item the loss is a differentiable 0 and the accuracy is 0.
        """
        _check_2d("features", features, self.in_dim)
        if labels.shape != features.shape[:1] or labels.is_floating_point():
            raise ValueError(f"labels must be an int tensor of shape [{features.shape[0]}], "
                             f"got {labels.dtype} {tuple(labels.shape)}")
        if labels.numel() and (int(labels.min()) < -1 or int(labels.max()) >= self.n_classes):
            raise ValueError(f"labels must lie in [-1, {self.n_classes - 1}] (-1 = unlabeled), "
                             f"got range [{int(labels.min())}, {int(labels.max())}]")
        keep = labels >= 0
        logits = self(features[keep])
        if not bool(keep.any()):
            zero = logits.sum() * 0.0
            return zero, zero.detach()
        target = labels[keep].to(logits.device)
        loss = F.cross_entropy(logits, target)
        accuracy = (logits.argmax(dim=1) == target).float().mean().detach()
        return loss, accuracy


class ActionRegressor(nn.Module):
    """Equivariance probe: regress the relative action between two views.

    ``concat(f1, f2)`` ``[N, 2 * in_dim]`` -> ``[N, action_dim]``; linear when ``hidden`` is
    None, else an MLP with one hidden layer (the paper uses 1024 for rotations).
    """

    def __init__(self, in_dim: int, action_dim: int, hidden: int | None = None) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.net = _regressor(2 * in_dim, action_dim, hidden)

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        """``f1, f2`` float ``[N, in_dim]`` (detached) -> predicted action ``[N, action_dim]``."""
        _check_2d("f1", f1, self.in_dim)
        _check_2d("f2", f2, self.in_dim)
        if f1.shape[0] != f2.shape[0]:
            raise ValueError(f"f1 and f2 must have the same N, got {f1.shape[0]} and {f2.shape[0]}")
        return self.net(torch.cat([f1.detach(), f2.detach()], dim=1))


def r2_score(pred: torch.Tensor, target: torch.Tensor,
             multioutput: str = "uniform_average") -> torch.Tensor:
    """Coefficient of determination, following ``sklearn.metrics.r2_score``.

    Per output ``j``: ``R2_j = 1 - sum_i (y_ij - p_ij)^2 / sum_i (y_ij - mean_i y_ij)^2``.
    As in sklearn (``force_finite=True``), a constant target column scores 1 if predicted
    exactly, else 0 (never NaN/inf).

    Args:
        pred, target: float ``[N, A]`` (or ``[N]``, treated as ``A = 1``), ``N >= 2``.
        multioutput: ``"uniform_average"`` (sklearn's default: mean of the ``R2_j``),
            ``"variance_weighted"`` (``R2_j`` weighted by the target variance of column ``j``)
            or ``"raw_values"`` (the ``[A]`` vector).

    Returns:
        0-dim float64 tensor, or ``[A]`` for ``"raw_values"``.
    """
    if multioutput not in MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {MULTIOUTPUT}, got {multioutput!r}")
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("pred and target must be torch tensors")
    if pred.shape != target.shape or pred.dim() not in (1, 2):
        raise ValueError(f"pred and target must have the same shape [N, A] or [N], got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.shape[0] < 2:
        raise ValueError(f"r2_score needs N >= 2 samples, got {pred.shape[0]}")
    y = target.detach().double().reshape(target.shape[0], -1)
    p = pred.detach().double().to(y.device).reshape(y.shape)
    return r2_from_sums(((y - p) ** 2).sum(dim=0), ((y - y.mean(dim=0)) ** 2).sum(dim=0), multioutput)


def r2_from_sums(sse: torch.Tensor, sst: torch.Tensor, multioutput: str = "uniform_average") -> torch.Tensor:
    """R^2 from per-output sums of squares (the one place R^2 is computed, :func:`r2_score`'s rule).

    ``sse [A]``: residual sum of squares; ``sst [A]``: total sum of squares about the target mean
    (streamed or all-reduced sums work too). A column with ``sst = 0`` scores 1 when ``sse = 0``,
    else 0 (scikit-learn's ``force_finite``). Returns 0-dim float64, or ``[A]`` for ``"raw_values"``.
    """
    if multioutput not in MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {MULTIOUTPUT}, got {multioutput!r}")
    sse, sst = sse.double(), sst.double()
    nonzero_den = sst > 0
    scores = torch.where(nonzero_den, 1.0 - sse / torch.where(nonzero_den, sst, torch.ones_like(sst)),
                         (sse == 0).double())
    if multioutput == "raw_values":
        return scores
    if multioutput == "variance_weighted" and bool(nonzero_den.any()):
        return (scores * sst).sum() / sst.sum()
    return scores.mean()
