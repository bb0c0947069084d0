"""Optimizer helpers: weight-decay parameter groups and setting the learning rate."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
from torch import nn

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
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) \
            or not math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
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
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    for group in optimizer.param_groups:
        group["lr"] = float(lr)
