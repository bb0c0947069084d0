"""Exponential moving average (EMA) of the online encoder into the target encoder."""

from __future__ import annotations

import math

import torch
from torch import nn

from checks import check_int, check_real

__all__ = ["ema_momentum", "update_ema"]


@torch.no_grad()
def update_ema(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """In place: ``target_param = momentum * target_param + (1 - momentum) * online_param``.

    Buffers (BatchNorm running statistics, counters) are copied from ``online``. Both modules
    must have the same parameter and buffer names and shapes (``target`` a deepcopy of ``online``).
    ``momentum = 0`` copies ``online``; ``momentum = 1`` leaves ``target`` unchanged.
    """
    m = check_real("momentum", momentum, 0.0, 1.0)
    online_params = dict(online.named_parameters())
    target_params = dict(target.named_parameters())
    online_buffers = dict(online.named_buffers())
    target_buffers = dict(target.named_buffers())
    if online_params.keys() != target_params.keys() or online_buffers.keys() != target_buffers.keys():
        raise ValueError("online and target must have the same parameter and buffer names "
                         "(target should be copy.deepcopy(online))")
    for name, p_t in target_params.items():
        p_o = online_params[name]
        if p_o.shape != p_t.shape:
            raise ValueError(f"parameter {name!r}: online shape {tuple(p_o.shape)} != "
                             f"target shape {tuple(p_t.shape)}")
        if m == 0.0:
            p_t.copy_(p_o)
        elif m != 1.0:
            p_t.lerp_(p_o.to(p_t.dtype), 1.0 - m)
    for name, b_t in target_buffers.items():
        b_o = online_buffers[name]
        if b_o.shape != b_t.shape:
            raise ValueError(f"buffer {name!r}: online shape {tuple(b_o.shape)} != "
                             f"target shape {tuple(b_t.shape)}")
        b_t.copy_(b_o)


def ema_momentum(step: int, total_steps: int, base: float = 0.996, final: float = 1.0) -> float:
    """BYOL cosine schedule: ``final - (final - base) * (cos(pi * step / total_steps) + 1) / 2``.

    ``base`` at step 0, ``final`` at ``step >= total_steps`` (clamped), monotone in between
    when ``base <= final``. Pure function.
    """
    total_steps = check_int("total_steps", total_steps, 1)
    step = check_int("step", step, 0)
    base = check_real("base", base, 0.0, 1.0)
    final = check_real("final", final, 0.0, 1.0)
    progress = min(step, total_steps) / total_steps
    return final - (final - base) * (math.cos(math.pi * progress) + 1.0) / 2.0
