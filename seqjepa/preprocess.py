"""Glimpse preprocessing: uint8 glimpse stacks -> normalised float tensors."""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["STL10_MEAN", "STL10_STD", "normalize_glimpses"]

STL10_MEAN = (0.4467, 0.4398, 0.4066)
STL10_STD = (0.2241, 0.2215, 0.2239)


def normalize_glimpses(glimpses: torch.Tensor, mean: Sequence[float] = STL10_MEAN,
                       std: Sequence[float] = STL10_STD) -> torch.Tensor:
    """``(x / 255 - mean) / std`` per image channel, for multi-scale stacks.

    Args:
        glimpses: uint8 (0..255) or float (0..1) tensor ``[..., S*C, G, G]`` whose channel axis
            (third from last) stacks the ``S`` retina scales scale-major (``s0c0, s0c1, ..., s1c0``).
        mean, std: per image channel, length ``C`` (``C`` must divide ``S*C``); std > 0.

    Returns:
        float32 tensor of the same shape, on the same device.
    """
    if not isinstance(glimpses, torch.Tensor) or glimpses.dim() < 3:
        raise ValueError("glimpses must be a tensor [..., S*C, G, G]")
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=glimpses.device).flatten()
    std_t = torch.as_tensor(std, dtype=torch.float32, device=glimpses.device).flatten()
    c = mean_t.numel()
    if c < 1 or std_t.numel() != c:
        raise ValueError(f"mean and std must have the same length C >= 1, got {mean_t.numel()} "
                         f"and {std_t.numel()}")
    if bool((std_t <= 0).any()):
        raise ValueError(f"std must be > 0, got {std_t.tolist()}")
    channels = glimpses.shape[-3]
    if channels % c != 0:
        raise ValueError(f"glimpses channel axis (dim -3) must be a multiple of len(mean)={c}, "
                         f"got {channels}")
    reps = channels // c
    x = glimpses.float() / 255.0 if not glimpses.is_floating_point() else glimpses.float()
    mean_t = mean_t.repeat(reps).view(channels, 1, 1)
    std_t = std_t.repeat(reps).view(channels, 1, 1)
    return (x - mean_t) / std_t
