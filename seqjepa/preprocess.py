"""Glimpse preprocessing: uint8 glimpse stacks -> normalised float tensors."""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["STL10_MEAN", "STL10_STD", "normalize_glimpses"]

STL10_MEAN = (0.4467, 0.4398, 0.4066)
STL10_STD = (0.2241, 0.2215, 0.2239)


def normalize_glimpses(glimpses: torch.Tensor, mean: Sequence[float] | torch.Tensor = STL10_MEAN,
                       std: Sequence[float] | torch.Tensor = STL10_STD, channels_last: bool = False) -> torch.Tensor:
    """``(x / 255 - mean) / std`` per image channel, for multi-scale stacks: the one normalisation of
    the project (training batches, evaluation features and ``SeqJEPA.normalize_input`` all call it).

    Args:
        glimpses: uint8 (0..255) or float (0..1) tensor ``[..., S*C, G, G]`` whose channel axis
            (third from last) stacks the ``S`` retina scales scale-major (``s0c0, s0c1, ..., s1c0``).
        mean, std: per image channel, length ``C`` (``C`` must divide ``S*C``); std > 0.
        channels_last: for ``[B, T, C, G, G]`` input, return images that are NHWC in memory
            (strides of ``[B*T, G, G, C]``), as a ``channels_last`` encoder wants them.

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
    scale = (1.0 / (std_t * (1.0 if glimpses.is_floating_point() else 255.0))).repeat(reps).view(channels, 1, 1)
    shift = (mean_t / std_t).repeat(reps).view(channels, 1, 1)
    if channels_last and glimpses.dim() == 5:
        b, t, _, g, w = glimpses.shape
        glimpses = glimpses.reshape(b * t, channels, g, w).contiguous(memory_format=torch.channels_last)
        glimpses = glimpses.view(b, t, channels, g, w)
    return glimpses.float().mul_(scale).sub_(shift)
