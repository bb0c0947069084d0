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


def gaussian_kernel(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Normalised 1-D Gaussian taps, float64 ``[2 * ceil(truncate * sigma) + 1]``."""
    radius = max(1, int(math.ceil(truncate * sigma)))
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
    if c == 1:
        for i in range(h):
            for j in range(w):
                out[i, j] = images[b, i, j, 0]
        return out
    for i in range(h):
        for j in range(w):
            out[i, j] = 0.299 * images[b, i, j, 0] + 0.587 * images[b, i, j, 1] + 0.114 * images[b, i, j, 2]
    return out


@njit(cache=True)
def _resample_taps(n_in, n_out):
    """1-D resampling taps ``(idx int64 [n_out, K], wt float64 [n_out, K])``: box-area average
    when shrinking, half-pixel-centred bilinear (OpenCV ``INTER_LINEAR``) when enlarging."""
    scale = n_in / n_out
    if n_out < n_in:
        k = int(math.ceil(scale)) + 1
        idx = np.zeros((n_out, k), np.int64)
        wt = np.zeros((n_out, k), np.float64)
        for o in range(n_out):
            start = o * scale
            end = (o + 1) * scale
            i0 = int(math.floor(start))
            for t in range(k):
                i = min(i0 + t, n_in - 1)
                idx[o, t] = i
                if i0 + t < n_in:
                    wt[o, t] = max(min(end, i0 + t + 1.0) - max(start, float(i0 + t)), 0.0) / scale
        return idx, wt
    idx = np.zeros((n_out, 2), np.int64)
    wt = np.zeros((n_out, 2), np.float64)
    for o in range(n_out):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        t = src - i0
        idx[o, 0] = i0
        idx[o, 1] = min(i0 + 1, n_in - 1)
        wt[o, 0] = 1.0 - t
        wt[o, 1] = t
    return idx, wt


@njit(cache=True)
def _resize(img, h_out, w_out):
    """Separable resize of float64 ``[h, w]`` to ``[h_out, w_out]``: area average along an axis
    that shrinks, bilinear along one that grows. The column pass (a gather) runs on the smaller
    intermediate: rows first when shrinking rows, columns first otherwise."""
    h, w = img.shape
    ri, rw = _resample_taps(h, h_out)
    ci, cw = _resample_taps(w, w_out)
    if h_out < h:
        return _resample_cols(_resample_rows(img, ri, rw), ci, cw)
    return _resample_rows(_resample_cols(img, ci, cw), ri, rw)


@njit(cache=True)
def _resample_rows(img, idx, wt):
    """``out[o] = sum_t wt[o, t] * img[idx[o, t]]`` (whole rows, vectorised)."""
    n_out, w = idx.shape[0], img.shape[1]
    out = np.zeros((n_out, w), np.float64)
    for o in range(n_out):
        for t in range(idx.shape[1]):
            c = wt[o, t]
            if c != 0.0:
                src = img[idx[o, t]]
                for j in range(w):
                    out[o, j] += c * src[j]
    return out


@njit(cache=True)
def _resample_cols(img, idx, wt):
    """``out[:, p] = sum_t wt[p, t] * img[:, idx[p, t]]``."""
    h, n_out = img.shape[0], idx.shape[0]
    out = np.empty((h, n_out), np.float64)
    for i in range(h):
        for p in range(n_out):
            acc = 0.0
            for t in range(idx.shape[1]):
                acc += wt[p, t] * img[i, idx[p, t]]
            out[i, p] = acc
    return out


@njit(cache=True)
def _pad101(img, rh, rw):
    """float64 ``[h, w]`` padded by ``rh`` rows and ``rw`` columns on each side (reflect-101)."""
    h, w = img.shape
    cols = np.empty(w + 2 * rw, np.int64)
    for j in range(w + 2 * rw):
        cols[j] = _reflect101(j - rw, w)
    out = np.empty((h + 2 * rh, w + 2 * rw), np.float64)
    for i in range(h + 2 * rh):
        ii = _reflect101(i - rh, h)
        out[i, rw:rw + w] = img[ii]
        for j in range(rw):
            out[i, j] = img[ii, cols[j]]
            out[i, w + rw + j] = img[ii, cols[w + rw + j]]
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
def _to_distribution(m, out):
    """Clip float64 ``m [h, w]`` at 0 and divide by its sum into float32 ``out [h, w]``;
    uniform if the sum is 0."""
    h, w = m.shape
    total = 0.0
    for i in range(h):
        for j in range(w):
            v = max(m[i, j], 0.0)
            m[i, j] = v
            total += v
    if total > 0.0 and math.isfinite(total):
        inv = 1.0 / total
        for i in range(h):
            for j in range(w):
                out[i, j] = m[i, j] * inv
    else:
        out[:] = 1.0 / (h * w)
