"""Torch-batched retina: the same glimpses as :class:`envs.retina.Retina`, bit for bit,
on whatever device the inputs live on (CPU or CUDA).

Geometry and borders are those of :mod:`envs.retina` (see its docstring): scale ``s`` is
the ``G*s`` square whose top-left pixel is ``fixation - (G*s)//2``, summed in ``s x s``
blocks with integer rounding ``(sum + (s*s)//2) // (s*s)``; ``"zero"`` padding reads 0
outside the image, ``"reflect"`` maps indices with NumPy's (periodically extended)
``reflect`` rule. Fully vectorised: integer index grids per scale, one advanced-indexing
gather, a reshape-sum; the only Python loop is over the few scales.
"""

from __future__ import annotations

import torch

from envs.retina import validate_retina_args

__all__ = ["TorchRetina", "channels_first"]

_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _map_index(idx: torch.Tensor, n: int, padding: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Axis indices ``idx`` (int64, any shape) of an axis of ``n`` pixels -> (source index,
    validity mask or None). Zero padding: invalid indices are clamped and flagged."""
    if padding == "zero":
        valid = (idx >= 0) & (idx < n)
        return idx.clamp(0, n - 1), valid
    if n == 1:
        return torch.zeros_like(idx), None
    period = 2 * (n - 1)
    m = torch.remainder(idx, period)  # non-negative for a positive divisor
    return torch.where(m >= n, period - m, m), None


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """``[..., S, G, G, C]`` -> ``[..., S*C, G, G]`` (scale-major: channel ``s*C + c``), same dtype."""
    if x.dim() < 4 or x.shape[-2] != x.shape[-3]:
        raise ValueError(f"x must have shape [..., S, G, G, C], got {tuple(x.shape)}")
    *lead, s, g, _, c = x.shape
    return x.movedim(-1, -3).reshape(*lead, s * c, g, g)


class TorchRetina:
    """Batched multi-scale glimpse sensor (see :class:`envs.retina.Retina` for the arguments)."""

    def __init__(self, glimpse_size: int = 32, scales: tuple[int, ...] = (1,), padding: str = "zero") -> None:
        g, sc, pad = validate_retina_args(glimpse_size, scales, padding)
        self.glimpse_size: int = g
        self.scales: tuple[int, ...] = sc
        self.padding: str = pad

    def __repr__(self) -> str:
        return f"TorchRetina(glimpse_size={self.glimpse_size}, scales={self.scales}, padding={self.padding!r})"

    @property
    def n_scales(self) -> int:
        """Number of scales ``S``."""
        return len(self.scales)

    def channels_out(self, channels: int) -> int:
        """Channels of the channels-first glimpse, ``S * channels``."""
        return self.n_scales * int(channels)

    def __call__(self, images: torch.Tensor, fixations: torch.Tensor) -> torch.Tensor:
        """``images`` uint8 ``[B, H, W, C]`` (or ``[B, H, W]``), ``fixations`` integer
        ``[B, T, 2]`` (row, col) on the same device -> uint8 ``[B, T, S, G, G, C]``."""
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 torch.Tensor, got {type(images).__name__} "
                            f"{getattr(images, 'dtype', '')}")
        if images.dim() == 3:
            images = images.unsqueeze(-1)
        if images.dim() != 4 or min(images.shape) < 1:
            raise ValueError(f"images must have shape [B, H, W, C] or [B, H, W], non-empty, got {tuple(images.shape)}")
        if not isinstance(fixations, torch.Tensor) or fixations.dtype not in _INT_DTYPES:
            raise TypeError(f"fixations must be an integer torch.Tensor, got {type(fixations).__name__} "
                            f"{getattr(fixations, 'dtype', '')}")
        n_b, h, w, c = images.shape
        if fixations.dim() != 3 or fixations.shape[0] != n_b or fixations.shape[2] != 2:
            raise ValueError(f"fixations must have shape [B={n_b}, T, 2] (row, col), got {tuple(fixations.shape)}")
        if fixations.device != images.device:
            raise ValueError(f"fixations must be on the images' device {images.device}, got {fixations.device}")
        n_t = fixations.shape[1]
        g = self.glimpse_size
        dev = images.device
        fix = fixations.to(torch.int64)
        flat = images.reshape(n_b, h * w, c)
        b_idx = torch.arange(n_b, device=dev).view(n_b, 1, 1, 1)
        outs = []
        for s in self.scales:
            n = g * s
            offs = torch.arange(n, device=dev, dtype=torch.int64) - n // 2
            rows, rvalid = _map_index(fix[:, :, 0:1] + offs, h, self.padding)  # [B, T, n]
            cols, cvalid = _map_index(fix[:, :, 1:2] + offs, w, self.padding)
            pix = flat[b_idx, rows.unsqueeze(-1) * w + cols.unsqueeze(-2)]  # [B, T, n, n, C] uint8
            if rvalid is not None:
                mask = (rvalid.unsqueeze(-1) & cvalid.unsqueeze(-2)).unsqueeze(-1)
                pix = pix * mask.to(torch.uint8)
            if s == 1:
                outs.append(pix)
                continue
            sums = pix.view(n_b, n_t, g, s, g, s, c).sum(dim=(3, 5), dtype=torch.int32)
            outs.append(torch.div(sums + (s * s) // 2, s * s, rounding_mode="floor").to(torch.uint8))
        return torch.stack(outs, dim=2)

    channels_first = staticmethod(channels_first)
