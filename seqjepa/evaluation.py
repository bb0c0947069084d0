"""Frozen-model evaluation: feature extraction and offline probe fitting (Adam).

The model runs in eval mode under ``torch.no_grad()``; its previous train/eval mode is restored.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from seqjepa.model import SeqJEPA
from seqjepa.probes import MULTIOUTPUT, _regressor, r2_score

__all__ = ["extract_features", "fit_linear_probe", "fit_regressor"]

Batch = Mapping[str, Any] | tuple | list


def _unpack(batch: Batch) -> dict[str, torch.Tensor]:
    if isinstance(batch, Mapping):
        if "glimpses" not in batch or "actions" not in batch:
            raise ValueError(f"a batch mapping needs keys 'glimpses' and 'actions', got {sorted(batch)}")
        return {k: batch[k] for k in ("glimpses", "actions", "labels", "positions") if k in batch}
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        keys = ("glimpses", "actions", "labels")[: len(batch)]
        return dict(zip(keys, batch))
    raise ValueError("each batch must be a mapping with 'glimpses', 'actions' (optionally 'labels', "
                     "'positions') or a tuple (glimpses, actions[, labels])")


@torch.no_grad()
def extract_features(model: SeqJEPA, batches: Iterable[Batch], n_observed: int,
                     preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
                     device: torch.device | str | None = None,
                     max_batches: int | None = None) -> dict[str, torch.Tensor]:
    """Run the frozen model over sequences and collect features on the CPU.

    Args:
        model: a :class:`SeqJEPA`.
        batches: iterable of batches (e.g. ``SaccadeSequenceSource`` or a DataLoader):
            mappings with ``glimpses [B, T, C, G, G]``, ``actions float [B, T, A]``
            (incoming convention) and optionally ``labels int64 [B]``, ``positions [B, T, A]``,
            or tuples ``(glimpses, actions[, labels])``.
        n_observed: ``M``, views aggregated (``1 <= M <= T - 1``).
        preprocess: applied to glimpses on ``device`` before the model (e.g.
            :func:`seqjepa.normalize_glimpses`); required when glimpses are not float.
        device: where the model runs; default: the device of the model's parameters.
        max_batches: stop after this many batches (None = all).

    Returns:
        dict of CPU tensors over the ``N`` sequences: ``z_agg [N, D+E]``, ``z_views [N, M, D]``
        (online encoder), ``actions [N, T, A]``, ``next_action [N, A]`` (``actions[:, M]``),
        ``total_action [N, A]`` (``sum(actions[:, 1:M+1])``, view 0 -> view M), and
        ``labels [N]`` / ``positions`` when the batches have them.
    """
    if isinstance(n_observed, bool) or not isinstance(n_observed, numbers.Integral) or n_observed < 1:
        raise ValueError(f"n_observed must be a positive int, got {n_observed!r}")
    m = int(n_observed)
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: dict[str, list[torch.Tensor]] = {}
    try:
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            items = _unpack(batch)
            glimpses = torch.as_tensor(items["glimpses"]).to(device)
            if preprocess is not None:
                glimpses = preprocess(glimpses)
            elif not glimpses.is_floating_point():
                raise TypeError(f"glimpses are {glimpses.dtype}: pass preprocess= "
                                "(e.g. seqjepa.normalize_glimpses) to convert them to float")
            actions = torch.as_tensor(items["actions"]).to(device).float()
            res = model(glimpses, actions, n_observed=m)
            rows = {"z_agg": res.z_agg, "z_views": res.z_views, "actions": actions,
                    "next_action": actions[:, m], "total_action": actions[:, 1:m + 1].sum(dim=1)}
            for key in ("labels", "positions"):
                if key in items:
                    rows[key] = torch.as_tensor(items[key])
            for key, value in rows.items():
                out.setdefault(key, []).append(value.detach().cpu())
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("batches yielded no batch")
    return {key: torch.cat(values) for key, values in out.items()}


def _standardize(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                    torch.Tensor, torch.Tensor]:
    mean = train.mean(dim=0)
    std = train.std(dim=0).clamp_min(1e-6) if train.shape[0] > 1 else torch.ones_like(mean)
    return (train - mean) / std, (test - mean) / std, mean, std


def _check_xy(name_x: str, x: torch.Tensor, name_y: str, y: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"{name_x} must be a float tensor [N, F]")
    if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name_y} must have the same first dimension N={x.shape[0]} as {name_x}")


def _check_training(epochs: int, lr: float, batch_size: int) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def _train(net: nn.Module, x: torch.Tensor, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
           y: torch.Tensor, epochs: int, lr: float, batch_size: int, weight_decay: float,
           seed: int) -> None:
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    net.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).to(x.device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()


def fit_linear_probe(train_feats: torch.Tensor, train_labels: torch.Tensor,
                     test_feats: torch.Tensor, test_labels: torch.Tensor, epochs: int = 100,
                     lr: float = 1e-3, batch_size: int = 256, device: torch.device | str = "cpu",
                     weight_decay: float = 0.0, standardize: bool = True, seed: int = 0) -> float:
    """Train a linear classifier (Adam) on frozen features; return top-1 test accuracy.

    Args:
        train_feats, test_feats: float ``[N, F]``.
        train_labels, test_labels: int64 ``[N]``; items labelled ``-1`` are dropped.
        standardize: z-score features with the training mean/std first.
    """
    _check_xy("train_feats", train_feats, "train_labels", train_labels)
    _check_xy("test_feats", test_feats, "test_labels", test_labels)
    _check_training(epochs, lr, batch_size)
    if train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(f"train_feats and test_feats must have the same F, got "
                         f"{train_feats.shape[1]} and {test_feats.shape[1]}")
    tr_keep, te_keep = train_labels >= 0, test_labels >= 0
    if not bool(tr_keep.any()) or not bool(te_keep.any()):
        raise ValueError("train_labels and test_labels must each contain labelled items (>= 0)")
    x_tr = train_feats[tr_keep].float().to(device)
    x_te = test_feats[te_keep].float().to(device)
    y_tr = train_labels[tr_keep].long().to(device)
    y_te = test_labels[te_keep].long().to(device)
    if standardize:
        x_tr, x_te, _, _ = _standardize(x_tr, x_te)
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    torch.manual_seed(seed)
    net = nn.Linear(x_tr.shape[1], max(n_classes, 2)).to(device)
    _train(net, x_tr, F.cross_entropy, y_tr, epochs, lr, batch_size, weight_decay, seed)
    with torch.no_grad():
        return float((net(x_te).argmax(dim=1) == y_te).float().mean())


def fit_regressor(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                  test_y: torch.Tensor, epochs: int = 100, lr: float = 1e-3, batch_size: int = 256,
                  device: torch.device | str = "cpu", hidden: int | None = None,
                  weight_decay: float = 0.0, standardize: bool = True,
                  multioutput: str = "uniform_average", seed: int = 0) -> float:
    """Train a linear (``hidden=None``) or one-hidden-layer MLP regressor (Adam, MSE) on frozen
    features; return the test R^2 (:func:`seqjepa.r2_score`, sklearn convention ``multioutput``).

    Args:
        train_x, test_x: float ``[N, F]``; train_y, test_y: float ``[N, A]`` (or ``[N]``).
        standardize: z-score inputs and targets with training statistics (predictions are
            mapped back before scoring).
    """
    _check_xy("train_x", train_x, "train_y", train_y)
    _check_xy("test_x", test_x, "test_y", test_y)
    _check_training(epochs, lr, batch_size)
    if multioutput not in MULTIOUTPUT[1:]:
        raise ValueError(f"multioutput must be one of {MULTIOUTPUT[1:]}, got {multioutput!r}")
    x_tr, x_te = train_x.float().to(device), test_x.float().to(device)
    y_tr = train_y.float().to(device).reshape(train_y.shape[0], -1)
    y_te = test_y.float().to(device).reshape(test_y.shape[0], -1)
    if x_tr.shape[1] != x_te.shape[1] or y_tr.shape[1] != y_te.shape[1]:
        raise ValueError("train and test inputs/targets must have matching feature sizes")
    y_mean = torch.zeros(y_tr.shape[1], device=device)
    y_std = torch.ones(y_tr.shape[1], device=device)
    if standardize:
        x_tr, x_te, _, _ = _standardize(x_tr, x_te)
        y_tr, _, y_mean, y_std = _standardize(y_tr, y_te)
    torch.manual_seed(seed)
    net = _regressor(x_tr.shape[1], y_tr.shape[1], hidden).to(device)
    _train(net, x_tr, F.mse_loss, y_tr, epochs, lr, batch_size, weight_decay, seed)
    with torch.no_grad():
        pred = net(x_te) * y_std + y_mean
    return float(r2_score(pred, y_te, multioutput=multioutput))
