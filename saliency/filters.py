"""Numba image kernels shared by the saliency models: grey conversion, resampling, filtering.

All kernels work on float64 ``[h, w]`` planes (C-contiguous) and use OpenCV's default border,
reflect-101 (``dcb|abcd|cba``). ``saliency/reference.py`` holds plain-NumPy twins.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["GREY_WEIGHTS", "gaussian_kernel"]

# ITU-R BT.601 luma, as cv2.cvtColor(..., COLOR_RGB2GRAY).
GREY_WEIGHTS = (0.299, 0.587, 0.114)


def gaussian_kernel(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Normalised 1-D Gaussian taps, float64 ``[2 * ceil(truncate * sigma) + 1]``.

    ``sigma`` in [0.01, 1024] and ``truncate`` in [0.5, 8] (ValueError naming them otherwise).
    """
    from saliency.validation import check_positive

    sigma = check_positive(sigma, "sigma", 0.01, 1024.0)
    truncate = check_positive(truncate, "truncate", 0.5, 8.0)
    radius = max(1, int(math.ceil(truncate * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


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
    src = images[b].reshape(h * w * c)  # flat loops vectorise, the 4-D indexing does not
    out = np.empty(h * w, np.float64)
    if c == 1:
        for k in range(h * w):
            out[k] = src[k]
    else:
        for k in range(h * w):
            out[k] = 0.299 * src[3 * k] + 0.587 * src[3 * k + 1] + 0.114 * src[3 * k + 2]
    return out.reshape(h, w)


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
    """``out[:, p] = sum_t wt[p, t] * img[:, idx[p, t]]`` (as rows of the transpose: faster than a gather)."""
    return np.ascontiguousarray(_resample_rows(np.ascontiguousarray(img.T), idx, wt).T)


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
    """Clip float64 ``m [h, w]`` at 0 (in place) and divide by its sum into float32 ``out [h, w]``;
    uniform if the sum is 0."""
    h, w = m.shape
    total = 0.0
    for i in range(h):
        row = m[i]
        s0 = 0.0
        s1 = 0.0
        j = 0
        while j + 2 <= w:  # two lanes: the sum is latency-bound otherwise
            a = max(row[j], 0.0)
            b = max(row[j + 1], 0.0)
            row[j] = a
            row[j + 1] = b
            s0 += a
            s1 += b
            j += 2
        if j < w:
            row[j] = max(row[j], 0.0)
            s0 += row[j]
        total += s0 + s1
    if total > 0.0 and math.isfinite(total):
        inv = 1.0 / total
        for i in range(h):
            for j in range(w):
                out[i, j] = m[i, j] * inv
    else:
        out[:] = 1.0 / (h * w)


@njit(cache=True)
def _resize_to_distribution(m, h_out, w_out, out):
    """``_to_distribution(_resize(m, h_out, w_out), out)`` for ``m`` clipped at 0 (in place), without
    a pass over the output to sum it: the resized map's sum is taken on the (small) input, each
    pixel weighted by its total resampling weight into the output."""
    h, w = m.shape
    ri, rw = _resample_taps(h, h_out)
    ci, cw = _resample_taps(w, w_out)
    row_mass = np.zeros(h, np.float64)
    for o in range(h_out):
        for t in range(ri.shape[1]):
            row_mass[ri[o, t]] += rw[o, t]
    col_mass = np.zeros(w, np.float64)
    for o in range(w_out):
        for t in range(ci.shape[1]):
            col_mass[ci[o, t]] += cw[o, t]
    total = 0.0
    for i in range(h):
        acc = 0.0
        for j in range(w):
            v = max(m[i, j], 0.0)
            m[i, j] = v
            acc += v * col_mass[j]
        total += acc * row_mass[i]
    if not (total > 0.0 and math.isfinite(total)):
        out[:] = 1.0 / (h_out * w_out)
        return
    r = _resize(m * (1.0 / total), h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            out[i, j] = r[i, j]
