"""The one coordinate convention of the project, and the only place that converts.

Positions are ``(row, col)`` pairs normalised to ``[0, 1]`` over the image: 0 is the
top/left edge, 1 the bottom/right edge. Pixel ``i`` (integer index) of an axis of
``size`` pixels spans the continuous interval ``[i, i + 1)`` in pixel units, i.e.
``[i / size, (i + 1) / size)`` normalised. Its *grid point* is its top-left corner,
``i / size``, which is where fixations live: a glimpse centred on pixel ``i`` with an
even side ``G`` is the exact crop of pixels ``i - G/2 .. i + G/2 - 1`` (as in the
seq-JEPA reference code, where positions are ``(row, col) / 96``).

Relative actions are differences of normalised positions.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pixel_to_norm",
    "norm_to_pixel",
    "max_norm_position",
    "clip_norm",
    "relative_action",
]


def _sizes(shape: tuple[int, int] | tuple[int, ...]) -> np.ndarray:
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 entries (height, width), got {shape!r}")
    h, w = int(shape[0]), int(shape[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"shape must be positive (height, width), got {shape!r}")
    return np.array([h, w], dtype=np.float64)


def pixel_to_norm(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Integer pixel indices ``[..., 2]`` (row, col) -> normalised grid points ``[..., 2]`` float32."""
    pixels = np.asarray(pixels)
    if pixels.shape[-1:] != (2,):
        raise ValueError(f"pixels must have a last axis of size 2 (row, col), got shape {pixels.shape}")
    return (pixels.astype(np.float64) / _sizes(shape)).astype(np.float32)


def norm_to_pixel(positions: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Normalised positions ``[..., 2]`` -> int64 pixel indices ``[..., 2]``.

    Each position maps to the pixel whose grid point is nearest (so
    ``norm_to_pixel(pixel_to_norm(p)) == p`` exactly, despite float rounding), clipped
    to the image.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape[-1:] != (2,):
        raise ValueError(f"positions must have a last axis of size 2 (row, col), got shape {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions must be finite (no NaN or inf)")
    sizes = _sizes(shape)
    pix = np.rint(positions * sizes).astype(np.int64)
    return np.clip(pix, 0, sizes.astype(np.int64) - 1)


def max_norm_position(shape: tuple[int, int]) -> np.ndarray:
    """The largest reachable normalised position ``[2]``: the grid point of the last pixel."""
    sizes = _sizes(shape)
    return ((sizes - 1.0) / sizes).astype(np.float32)


def clip_norm(positions: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Clip normalised positions ``[..., 2]`` to the reachable grid ``[0, (size-1)/size]``."""
    positions = np.asarray(positions, dtype=np.float32)
    if positions.shape[-1:] != (2,):
        raise ValueError(f"positions must have a last axis of size 2 (row, col), got shape {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions must be finite (no NaN or inf)")
    return np.clip(positions, 0.0, max_norm_position(shape)).astype(np.float32)


def relative_action(from_positions: np.ndarray, to_positions: np.ndarray) -> np.ndarray:
    """The relative action taking ``from`` to ``to``: ``to - from`` (float32, same shape)."""
    a = np.asarray(from_positions, dtype=np.float32)
    b = np.asarray(to_positions, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"from_positions {a.shape} and to_positions {b.shape} must have the same shape")
    return (b - a).astype(np.float32)
