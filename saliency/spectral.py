"""Spectral residual saliency (Hou & Zhang, CVPR 2007) in Numba.

The recipe of OpenCV's ``StaticSaliencySpectralResidual``: grey image resized to a
``size x size`` working resolution; 2-D DFT (our own radix-2 FFT, or a direct DFT when ``size``
is not a power of two); log-amplitude minus its ``avg_size x avg_size`` box-filtered version is
the spectral residual; back to the image domain with the original phase; squared magnitude;
Gaussian blur (``blur_sigma`` in working pixels); resized back to ``H x W`` and normalised to sum 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from saliency.filters import _grey, _resize, _sep_filter, _to_distribution

__all__ = ["SR_DEFAULTS"]

SR_DEFAULTS = {"size": 64, "avg_size": 3, "blur_sigma": 2.5}

# Relative floor under the spectrum magnitude before the log (max |F| * _LOG_EPS).
_LOG_EPS = 1e-9


@njit(cache=True)
def _fft1d(re, im, inverse, cos_t, sin_t, buf_re, buf_im):
    """In-place 1-D DFT of the complex vector ``re + i im`` (length n), unnormalised.

    Radix-2 Cooley-Tukey when n is a power of two (``cos_t, sin_t`` = ``cos/sin(2 pi k / n)``
    for k < n), else the direct O(n^2) sum (``buf_*`` are scratch of length n)."""
    n = re.shape[0]
    sign = 1.0 if inverse else -1.0
    if n & (n - 1) == 0:
        j = 0
        for i in range(1, n):
            bit = n >> 1
            while j & bit:
                j ^= bit
                bit >>= 1
            j ^= bit
            if i < j:
                re[i], re[j] = re[j], re[i]
                im[i], im[j] = im[j], im[i]
        length = 2
        while length <= n:
            half = length // 2
            step = n // length
            for start in range(0, n, length):
                for k in range(half):
                    wr = cos_t[k * step]
                    wi = sign * sin_t[k * step]
                    a = start + k
                    b = a + half
                    tr = re[b] * wr - im[b] * wi
                    ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
            length *= 2
    else:
        for k in range(n):
            ar = 0.0
            ai = 0.0
            for t in range(n):
                idx = (k * t) % n
                wr = cos_t[idx]
                wi = sign * sin_t[idx]
                ar += re[t] * wr - im[t] * wi
                ai += re[t] * wi + im[t] * wr
            buf_re[k] = ar
            buf_im[k] = ai
        re[:] = buf_re
        im[:] = buf_im


@njit(cache=True)
def _fft2(re, im, inverse):
    """In-place 2-D DFT of square ``[n, n]`` float64 planes (inverse scaled by 1 / n^2)."""
    n = re.shape[0]
    cos_t = np.empty(n, np.float64)
    sin_t = np.empty(n, np.float64)
    for k in range(n):
        cos_t[k] = math.cos(2.0 * math.pi * k / n)
        sin_t[k] = math.sin(2.0 * math.pi * k / n)
    buf_re = np.empty(n, np.float64)
    buf_im = np.empty(n, np.float64)
    for i in range(n):
        _fft1d(re[i], im[i], inverse, cos_t, sin_t, buf_re, buf_im)
    col_re = np.empty(n, np.float64)
    col_im = np.empty(n, np.float64)
    for j in range(n):
        for i in range(n):
            col_re[i] = re[i, j]
            col_im[i] = im[i, j]
        _fft1d(col_re, col_im, inverse, cos_t, sin_t, buf_re, buf_im)
        for i in range(n):
            re[i, j] = col_re[i]
            im[i, j] = col_im[i]
    if inverse:
        scale = 1.0 / (n * n)
        for i in range(n):
            for j in range(n):
                re[i, j] *= scale
                im[i, j] *= scale


@njit(cache=True, nogil=True)
def _spectral_residual(images, size, box, gauss, start, stop, out):
    """Saliency of images ``start:stop`` of float32 ``[B, H, W, C]`` into float32 ``out [B, H, W]``."""
    for b in range(start, stop):
        out[b] = _spectral_residual_one(images, b, size, box, gauss)


@njit(cache=True, nogil=True)
def _spectral_residual_one(images, b, size, box, gauss):
    """Saliency of image ``b`` of float32 ``[B, H, W, C]`` -> float32 ``[H, W]`` summing to 1."""
    h, w = images.shape[1], images.shape[2]
    grey = _grey(images, b)
    if grey.max() == grey.min():
        out = np.empty((h, w), np.float32)
        out[:] = 1.0 / (h * w)
        return out
    re = _resize(grey, size, size)
    im = np.zeros((size, size), np.float64)
    _fft2(re, im, False)
    mag = np.sqrt(re * re + im * im)
    floor = mag.max() * _LOG_EPS + 1e-300
    log_amp = np.log(mag + floor)
    residual = log_amp - _sep_filter(log_amp, box)
    for i in range(size):
        for j in range(size):
            f = math.exp(residual[i, j])
            if mag[i, j] > 0.0:
                f /= mag[i, j]
                re[i, j] *= f
                im[i, j] *= f
            else:
                re[i, j] = f
                im[i, j] = 0.0
    _fft2(re, im, True)
    power = _sep_filter(re * re + im * im, gauss)
    return _to_distribution(_resize(power, h, w))
