"""Itti-Koch-Niebur (PAMI 1998) style saliency in Numba.

The image is resized to ``size x size``; Gaussian pyramids (OpenCV ``pyrDown``: 5-tap binomial
blur, reflect-101, keep even pixels) of intensity ``I = (r + g + b) / 3``, colour opponency
``RG = R - G`` and ``BY = B - Y`` (broadly tuned R, G, B, Y from intensity-normalised r, g, b,
zero where ``I <= 0.1 max I``) and orientation (``|Gabor_theta * I|`` at 0, 45, 90, 135 deg).
Centre-surround maps ``|F(c) - F(c + d)|`` for ``c in centres``, ``d in deltas`` go through the
normalisation operator ``N`` (scale to [0, 1], multiply by ``(1 - mean of the other local
maxima)^2``), are summed at the finest centre level, normalised again per channel, averaged
over the three channels, resized back to ``H x W`` and normalised to sum 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from saliency.filters import _filter2d, _resize, _sep_filter, _to_distribution

__all__ = ["ITTI_DEFAULTS", "ORIENTATIONS", "PYR_TAPS", "gabor_bank"]

ITTI_DEFAULTS = {"size": 64, "gamma": 3.0, "centres": (1, 2, 3), "deltas": (2, 3), "gabor_sigma": 1.5,
                 "gabor_wavelength": 4.0}
ORIENTATIONS = (0.0, 45.0, 90.0, 135.0)  # degrees
PYR_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
# Tolerance (on maps scaled to [0, 1]) below which two values count as tied in N(.).
TIE = 1e-9


def gabor_bank(sigma: float, wavelength: float, aspect: float = 0.5) -> np.ndarray:
    """Zero-mean even Gabor kernels, float64 ``[4, k, k]`` (k = 2 ceil(2 sigma) + 1), sum |g| = 1,
    one per orientation in ``ORIENTATIONS``.

    ``sigma`` in [0.5, 32], ``wavelength`` in [2, 1024], ``aspect`` in [0.1, 10] (pixels of the
    working resolution; ValueError naming the parameter otherwise).
    """
    from saliency.validation import check_positive

    sigma = check_positive(sigma, "gabor_sigma")
    wavelength = check_positive(wavelength, "gabor_wavelength")
    aspect = check_positive(aspect, "aspect", 0.1, 10.0)
    r = max(1, int(math.ceil(2.0 * sigma)))
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    bank = []
    for deg in ORIENTATIONS:
        t = math.radians(deg)
        xr = x * math.cos(t) + y * math.sin(t)
        yr = -x * math.sin(t) + y * math.cos(t)
        env = np.exp(-(xr ** 2 + (aspect * yr) ** 2) / (2.0 * sigma ** 2))
        g = env * np.cos(2.0 * math.pi * xr / wavelength)
        g = g - env * (g.sum() / env.sum())  # remove the DC response
        bank.append(g / np.abs(g).sum())
    bank = np.stack(bank)
    if not np.all(np.isfinite(bank)):  # not expected inside the documented ranges; never hand out NaN taps
        raise ValueError(f"gabor_sigma={sigma} and gabor_wavelength={wavelength} give a degenerate (all-zero) "
                         f"Gabor kernel; use gabor_sigma in [0.5, 32] and gabor_wavelength in [2, 1024]")
    return bank


@njit(cache=True)
def _pyr_down(img):
    """Blur with the 5-tap binomial and keep even rows/columns: ``[h, w] -> [(h+1)//2, (w+1)//2]``."""
    taps = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    return np.ascontiguousarray(_sep_filter(img, taps)[::2, ::2])


@njit(cache=True)
def _normalise_map(m):
    """Itti's N(.): scale to [0, 1], then multiply by (1 - mean of the other strict local maxima)^2."""
    h, w = m.shape
    top = m.max()
    if top <= 0.0:
        return np.zeros((h, w), np.float64)
    x = m / top
    total = 0.0
    count = 0
    for i in range(h):
        for j in range(w):
            v = x[i, j]
            if v >= 1.0 - TIE or v <= TIE:
                continue
            peak = True
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    ii = i + di
                    jj = j + dj
                    if (di != 0 or dj != 0) and 0 <= ii < h and 0 <= jj < w and x[ii, jj] >= v - TIE:
                        peak = False
            if peak:
                total += v
                count += 1
    mbar = total / count if count > 0 else 0.0
    return x * ((1.0 - mbar) ** 2)


@njit(cache=True)
def _across_scale(pyr, centres, deltas, out_h, out_w):
    """Sum over (c, d) of N(|F(c) - F(c+d)|), each resized to ``[out_h, out_w]``."""
    acc = np.zeros((out_h, out_w), np.float64)
    for c in centres:
        ch, cw = pyr[c].shape
        for d in deltas:
            fm = np.abs(pyr[c] - _resize(pyr[c + d], ch, cw))
            acc += _resize(_normalise_map(fm), out_h, out_w)
    return acc


@njit(cache=True, nogil=True)
def _itti_koch(images, size, centres, deltas, gabors, start, stop, out):
    """Saliency of images ``start:stop`` of float32 ``[B, H, W, C]`` into float32 ``out [B, H, W]``."""
    for b in range(start, stop):
        _to_distribution(_itti_koch_one(images, b, size, centres, deltas, gabors), out[b])


@njit(cache=True)
def _itti_koch_one(images, b, size, centres, deltas, gabors):
    """Unnormalised saliency of image ``b`` of float32 ``[B, H, W, C]`` -> float64 ``[H, W]``."""
    h, w, nc = images.shape[1], images.shape[2], images.shape[3]
    rgb = []
    for k in range(3):
        plane = np.empty((h, w), np.float64)
        for i in range(h):
            for j in range(w):
                plane[i, j] = images[b, i, j, min(k, nc - 1)]
        rgb.append(_resize(plane, size, size))
    r, g, bl = rgb[0], rgb[1], rgb[2]
    inten = (r + g + bl) / 3.0
    thr = 0.1 * inten.max()
    rg = np.zeros((size, size), np.float64)
    by = np.zeros((size, size), np.float64)
    for i in range(size):
        for j in range(size):
            if inten[i, j] > thr:
                rn = r[i, j] / inten[i, j]
                gn = g[i, j] / inten[i, j]
                bn = bl[i, j] / inten[i, j]
                red = max(rn - (gn + bn) / 2.0, 0.0)
                green = max(gn - (rn + bn) / 2.0, 0.0)
                blue = max(bn - (rn + gn) / 2.0, 0.0)
                yellow = max((rn + gn) / 2.0 - abs(rn - gn) / 2.0 - bn, 0.0)
                rg[i, j] = red - green
                by[i, j] = blue - yellow
    top = centres.max() + deltas.max()
    low = centres.min()
    pi = [inten]
    prg = [rg]
    pby = [by]
    for lev in range(top):
        pi.append(_pyr_down(pi[lev]))
        prg.append(_pyr_down(prg[lev]))
        pby.append(_pyr_down(pby[lev]))
    oh, ow = pi[low].shape
    sal = _normalise_map(_across_scale(pi, centres, deltas, oh, ow))
    sal += _normalise_map(_across_scale(prg, centres, deltas, oh, ow)
                          + _across_scale(pby, centres, deltas, oh, ow))
    orient = np.zeros((oh, ow), np.float64)
    for t in range(gabors.shape[0]):
        po = []
        for lev in range(top + 1):
            if lev < low:
                po.append(np.zeros((1, 1), np.float64))  # never read
            else:
                po.append(np.abs(_filter2d(pi[lev], gabors[t])))
        orient += _normalise_map(_across_scale(po, centres, deltas, oh, ow))
    sal += _normalise_map(orient)
    return _resize(sal / 3.0, h, w)
