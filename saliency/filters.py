"""Numba image kernels shared by the saliency models: grey conversion, resampling, filtering.

All kernels work on float64 ``[h, w]`` planes (C-contiguous) and use OpenCV's default border,
reflect-101 (``dcb|abcd|cba``). ``saliency/reference.py`` holds plain-NumPy twins.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["GREY_WEIGHTS", "gaussian_kernel", "box_kernel"]

# ITU-R BT.601 luma, as cv2.cvtColor(..., COLOR_RGB2GRAY).
GREY_WEIGHTS = (0.299, 0.587, 0.114)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian taps, float64 ``[2 * ceil(3 sigma) + 1]``."""
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


def box_kernel(size: int) -> np.ndarray:
    """1-D box (mean) filter taps, float64 ``[size]`` (size odd)."""
    return np.full(size, 1.0 / size, dtype=np.float64)


@njit(cache=True)
def _reflect101(i: int, n: int) -> int:
    """Index ``i`` folded into ``[0, n)`` with reflect-101 borders (periodic for any offset)."""
    if n == 1:
        return 0
    period = 2 * n - 2
    i = abs(i) % period
    if i >= n:
        i = period - i
    return i


@njit(cache=True)
def _grey(images, b):
    """Plane ``b`` of float32 ``[B, H, W, C]`` (C = 1 or 3) as float64 ``[H, W]`` luma."""
    _, h, w, c = images.shape
    out = np.empty((h, w), np.float64)
    for i in range(h):
        for j in range(w):
            if c == 1:
                out[i, j] = images[b, i, j, 0]
            else:
                out[i, j] = (0.299 * images[b, i, j, 0] + 0.587 * images[b, i, j, 1]
                             + 0.114 * images[b, i, j, 2])
    return out


@njit(cache=True)
def _resize_axis0(img, n_out):
    """Resample the rows of ``[n_in, w]`` to ``n_out``: box-area average when shrinking,
    half-pixel-centred bilinear (OpenCV ``INTER_LINEAR``) when enlarging."""
    n_in, w = img.shape
    out = np.zeros((n_out, w), np.float64)
    scale = n_in / n_out
    if n_out < n_in:
        for o in range(n_out):
            start = o * scale
            end = (o + 1) * scale
            i0 = int(math.floor(start))
            i1 = min(int(math.ceil(end)), n_in)
            for i in range(i0, i1):
                wt = (min(end, i + 1.0) - max(start, float(i))) / scale
                if wt > 0.0:
                    for j in range(w):
                        out[o, j] += wt * img[i, j]
    else:
        for o in range(n_out):
            src = (o + 0.5) * scale - 0.5
            if src < 0.0:
                src = 0.0
            i0 = min(int(math.floor(src)), n_in - 1)
            i1 = min(i0 + 1, n_in - 1)
            t = src - i0
            for j in range(w):
                out[o, j] = (1.0 - t) * img[i0, j] + t * img[i1, j]
    return out


@njit(cache=True)
def _resize(img, h_out, w_out):
    """Separable resize of float64 ``[h, w]`` to ``[h_out, w_out]`` (rows first, then columns)."""
    tmp = _resize_axis0(img, h_out)
    tmp = _resize_axis0(np.ascontiguousarray(tmp.T), w_out)
    return np.ascontiguousarray(tmp.T)


@njit(cache=True)
def _pad101(img, rh, rw):
    """float64 ``[h, w]`` padded by ``rh`` rows and ``rw`` columns on each side (reflect-101)."""
    h, w = img.shape
    out = np.empty((h + 2 * rh, w + 2 * rw), np.float64)
    for i in range(h + 2 * rh):
        ii = _reflect101(i - rh, h)
        for j in range(w + 2 * rw):
            out[i, j] = img[ii, _reflect101(j - rw, w)]
    return out


@njit(cache=True)
def _sep_filter(img, k):
    """Correlate float64 ``[h, w]`` with the 1-D taps ``k`` along rows then columns (reflect-101)."""
    h, w = img.shape
    r = k.shape[0] // 2
    p = _pad101(img, r, r)
    tmp = np.zeros((h + 2 * r, w), np.float64)
    for i in range(h + 2 * r):
        for t in range(2 * r + 1):
            kt = k[t]
            for j in range(w):
                tmp[i, j] += kt * p[i, j + t]
    out = np.zeros((h, w), np.float64)
    for i in range(h):
        for t in range(2 * r + 1):
            kt = k[t]
            for j in range(w):
                out[i, j] += kt * tmp[i + t, j]
    return out


@njit(cache=True)
def _filter2d(img, k):
    """Correlate float64 ``[h, w]`` with the 2-D kernel ``k [kh, kw]`` (odd sides, reflect-101)."""
    h, w = img.shape
    rh = k.shape[0] // 2
    rw = k.shape[1] // 2
    p = _pad101(img, rh, rw)
    out = np.zeros((h, w), np.float64)
    for i in range(h):
        for a in range(2 * rh + 1):
            for b in range(2 * rw + 1):
                kab = k[a, b]
                for j in range(w):
                    out[i, j] += kab * p[i + a, j + b]
    return out


@njit(cache=True)
def _to_distribution(m):
    """Clip float64 ``[h, w]`` at 0 and divide by its sum -> float32; uniform if the sum is 0."""
    h, w = m.shape
    total = 0.0
    for i in range(h):
        for j in range(w):
            if m[i, j] > 0.0:
                total += m[i, j]
    out = np.empty((h, w), np.float32)
    if total > 0.0 and math.isfinite(total):
        for i in range(h):
            for j in range(w):
                out[i, j] = m[i, j] / total if m[i, j] > 0.0 else 0.0
    else:
        out[:] = 1.0 / (h * w)
    return out
