"""Optimizer helpers: weight-decay parameter groups and setting the learning rate."""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from checks import check_real

__all__ = ["param_groups_for_weight_decay", "set_lr"]


def param_groups_for_weight_decay(
        model: nn.Module | Iterable[tuple[str, nn.Parameter]],
        weight_decay: float) -> list[dict[str, Any]]:
    """Two optimizer groups: decay for weights with ``ndim >= 2``, none for biases / norm weights.

    Args:
        model: a module, or ``(name, param)`` pairs such as ``SeqJEPA.online_named_parameters()``.
            Parameters with ``requires_grad=False`` (e.g. the EMA target) are left out.
        weight_decay: decay of the first group, a finite number >= 0.

    Returns:
        ``[{"params": [...], "weight_decay": weight_decay},
        {"params": [...], "weight_decay": 0.0}]`` (empty groups are dropped).

    Example: ``torch.optim.AdamW(param_groups_for_weight_decay(
    model.online_named_parameters(), 1e-3), lr=4e-4)``.
    """
    weight_decay = check_real("weight_decay", weight_decay, 0.0)
    named = model.named_parameters() if isinstance(model, nn.Module) else model
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    seen: set[int] = set()
    for _, p in named:
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": float(weight_decay)},
              {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set ``lr`` on every parameter group (use with :func:`seqjepa.warmup_cosine_lr`)."""
    lr = check_real("lr", lr, 0.0)
    for group in optimizer.param_groups:
        group["lr"] = lr
