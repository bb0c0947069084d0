"""Torch-batched retina: the same glimpses as :class:`envs.retina.Retina`, bit for bit,
on whatever device the inputs live on (CPU or CUDA).

Geometry and borders are those of :mod:`envs.retina` (see its docstring): scale ``s`` is
the ``G*s`` square whose top-left pixel is ``fixation - (G*s)//2``, summed in ``s x s``
blocks with integer rounding ``(sum + (s*s)//2) // (s*s)``; ``"zero"`` padding reads 0
outside the image, ``"reflect"`` maps indices with NumPy's (periodically extended)
``reflect`` rule. Fully vectorised and separable: per scale, gather the needed image rows
(``index_select`` of contiguous rows) and sum them in blocks of ``s``, then gather the needed
columns of the transposed partial sums and sum those; the only Python loop is over the scales.
"""

from __future__ import annotations

import torch

from envs.retina import RetinaShape, validate_retina_args

__all__ = ["TorchRetina", "channels_first"]

_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _map_index(idx: torch.Tensor, n: int, padding: str) -> torch.Tensor:
    """Axis indices ``idx`` (int64, any shape) of an axis of ``n`` pixels -> source indices.
    Zero padding sends outside indices to ``n``, the all-zero row/column appended by the caller."""
    if padding == "zero":
        return torch.where((idx >= 0) & (idx < n), idx, n)
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    m = torch.remainder(idx, period)  # non-negative for a positive divisor
    return torch.where(m >= n, period - m, m)


def _describe(x: object) -> str:
    return f"torch.Tensor of dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """``[..., S, G, G, C]`` -> ``[..., S*C, G, G]`` (scale-major: channel ``s*C + c``), same dtype."""
    if x.dim() < 4 or x.shape[-2] != x.shape[-3]:
        raise ValueError(f"x must have shape [..., S, G, G, C], got {tuple(x.shape)}")
    *lead, s, g, _, c = x.shape
    return x.movedim(-1, -3).reshape(*lead, s * c, g, g)


class TorchRetina(RetinaShape):
    """Batched multi-scale glimpse sensor (see :class:`envs.retina.Retina` for the arguments)."""

    def __init__(self, glimpse_size: int = 32, scales: tuple[int, ...] = (1,), padding: str = "zero") -> None:
        g, sc, pad = validate_retina_args(glimpse_size, scales, padding)
        self.glimpse_size: int = g
        self.scales: tuple[int, ...] = sc
        self.padding: str = pad

    def __call__(self, images: torch.Tensor, fixations: torch.Tensor) -> torch.Tensor:
        """``images`` uint8 ``[B, H, W, C]`` (or ``[B, H, W]``), ``fixations`` integer
        ``[B, T, 2]`` (row, col) on the same device -> uint8 ``[B, T, S, G, G, C]``."""
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 torch.Tensor, got {_describe(images)}")
        if images.dim() == 3:
            images = images.unsqueeze(-1)
        if images.dim() != 4 or min(images.shape) < 1:
            raise ValueError(f"images must have shape [B, H, W, C] or [B, H, W], non-empty, got {tuple(images.shape)}")
        if not isinstance(fixations, torch.Tensor) or fixations.dtype not in _INT_DTYPES:
            raise TypeError(f"fixations must be an integer torch.Tensor, got {_describe(fixations)}")
        n_b, h, w, c = images.shape
        if fixations.dim() != 3 or fixations.shape[0] != n_b or fixations.shape[2] != 2:
            raise ValueError(f"fixations must have shape [B={n_b}, T, 2] (row, col), got {tuple(fixations.shape)}")
        if fixations.device != images.device:
            raise ValueError(f"fixations must be on the images' device {images.device}, got {fixations.device}")
        n_t = fixations.shape[1]
        g = self.glimpse_size
        dev = images.device
        fix = fixations.to(torch.int64).reshape(n_b * n_t, 2)
        if self.padding == "zero":  # one zero row and column at the end, read by outside indices
            images = torch.nn.functional.pad(images, (0, 0, 0, 1, 0, 1))
        hp, wp = images.shape[1], images.shape[2]
        rows_2d = images.reshape(n_b * hp, wp * c)  # one image row per entry
        # entry k = b*T + t of the flattened batch reads image b
        image_of = torch.arange(n_b, device=dev, dtype=torch.int64).repeat_interleave(n_t).unsqueeze(1)  # [B*T, 1]
        entry = torch.arange(n_b * n_t, device=dev, dtype=torch.int64).unsqueeze(1)  # [B*T, 1]
        outs = []
        for s in self.scales:
            n = g * s
            offs = torch.arange(n, device=dev, dtype=torch.int64) - n // 2
            rows = _map_index(fix[:, 0:1] + offs, h, self.padding)  # [B*T, n]
            cols = _map_index(fix[:, 1:2] + offs, w, self.padding)
            # vertical pass: gather whole rows (contiguous), sum them in blocks of s
            x = rows_2d.index_select(0, (image_of * hp + rows).reshape(-1)).view(n_b * n_t, g, s, wp, c)
            v = x[:, :, 0] if s == 1 else x.sum(dim=2, dtype=torch.int32)  # [B*T, G, W', C]
            # horizontal pass: gather the needed columns (now rows of the transpose), sum in blocks
            vt = v.permute(0, 2, 1, 3).reshape(n_b * n_t * wp, g * c)
            y = vt.index_select(0, (entry * wp + cols).reshape(-1)).view(n_b * n_t, g, s, g, c)
            if s == 1:
                blocks = y[:, :, 0]
            else:
                sums = y.sum(dim=2)
                blocks = torch.div(sums + (s * s) // 2, s * s, rounding_mode="floor").to(torch.uint8)
            outs.append(blocks.permute(0, 2, 1, 3))  # [B*T, G(col), G(row), C] -> [B*T, G, G, C]
        return torch.stack(outs, dim=1).reshape(n_b, n_t, len(self.scales), g, g, c)

    channels_first = staticmethod(channels_first)
