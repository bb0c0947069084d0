"""Spectral residual saliency (Hou & Zhang, CVPR 2007) in Numba.

After OpenCV's ``StaticSaliencySpectralResidual``: the grey image is resized to a
``size x size`` working resolution (``size`` even); its 2-D DFT ``F`` (our own radix-2 FFT, or a
direct DFT when ``size`` is not a power of two); the spectral residual ``R = log|F| - box(log|F|)``
(``avg_size x avg_size`` mean filter with periodic borders, as the spectrum is periodic);
back to the image domain with the original phase, ``|IDFT(exp(R) F / |F|)|^2``; Gaussian blur
(``blur_sigma`` working pixels, cut at 2 sigma, reflect-101 borders); resized back to ``H x W``
and normalised to sum 1. A constant image gives the uniform map.

The input is real, so ``F`` is Hermitian: the kernel transforms two real columns as one complex
one, keeps only the half-spectrum ``k <= size / 2`` and returns through a real-output inverse,
which halves the FFT and log/exp work (the log/exp themselves run in float32, 1e-7 relative).
``tests.saliency.reference.spectral_residual_ref`` does the same maths with ``np.fft`` on the full spectrum.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from saliency.filters import _grey, _resize, _resize_to_distribution, _sep_filter

__all__ = ["SR_BLUR_TRUNCATE", "SR_DEFAULTS"]

SR_DEFAULTS = {"size": 64, "avg_size": 3, "blur_sigma": 2.5, "gamma": 1.0}
# Gaussian cut at 2 sigma: Hou & Zhang's code blurs with fspecial('gaussian', [10 10], 2.5).
SR_BLUR_TRUNCATE = 2.0

# Relative floor under the spectrum magnitude before the log (max |F| * _LOG_EPS): exact spectral
# zeros (symmetric synthetic images) would otherwise dominate the residual.
_LOG_EPS = 1e-6


@njit(cache=True)
def _dft_cols(re, im, inverse, cos_t, sin_t):
    """In place: unnormalised 1-D DFT down every column of the complex ``[n, m]`` planes ``re + i im``.

    Radix-2 Cooley-Tukey when n is a power of two, else the direct O(n^2) sum; ``cos_t, sin_t``
    hold ``cos/sin(2 pi k / n)``, k < n. Every butterfly works on whole rows (SIMD-friendly)."""
    n, m = re.shape
    sign = 1.0 if inverse else -1.0
    if n & (n - 1) != 0:
        out_re = np.zeros((n, m), np.float64)
        out_im = np.zeros((n, m), np.float64)
        for k in range(n):
            for t in range(n):
                wr = cos_t[(k * t) % n]
                wi = sign * sin_t[(k * t) % n]
                for j in range(m):
                    out_re[k, j] += re[t, j] * wr - im[t, j] * wi
                    out_im[k, j] += re[t, j] * wi + im[t, j] * wr
        re[:] = out_re
        im[:] = out_im
        return
    tmp = np.empty(m, np.float64)
    r = 0
    for i in range(1, n):  # bit-reversal permutation of the rows
        bit = n >> 1
        while r & bit:
            r ^= bit
            bit >>= 1
        r ^= bit
        if i < r:
            tmp[:] = re[i]
            re[i] = re[r]
            re[r] = tmp
            tmp[:] = im[i]
            im[i] = im[r]
            im[r] = tmp
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
                for j in range(m):
                    tr = re[b, j] * wr - im[b, j] * wi
                    ti = re[b, j] * wi + im[b, j] * wr
                    re[b, j] = re[a, j] - tr
                    im[b, j] = im[a, j] - ti
                    re[a, j] += tr
                    im[a, j] += ti
        length *= 2


@njit(cache=True)
def _twiddles(n):
    cos_t = np.empty(n, np.float64)
    sin_t = np.empty(n, np.float64)
    for k in range(n):
        cos_t[k] = math.cos(2.0 * math.pi * k / n)
        sin_t[k] = math.sin(2.0 * math.pi * k / n)
    return cos_t, sin_t


@njit(cache=True)
def _half_spectrum(x, cos_t, sin_t):
    """DFT of real ``x [n, n]`` (n even) for rows ``k <= n/2``, returned transposed:
    ``(re, im)`` of ``[n (l), n/2 + 1 (k)]`` with ``F[k, l] = re[l, k] + i im[l, k]``."""
    n = x.shape[0]
    m = n // 2
    zr = np.ascontiguousarray(x[:, 0::2])  # two real columns per complex column
    zi = np.ascontiguousarray(x[:, 1::2])
    _dft_cols(zr, zi, False, cos_t, sin_t)
    ar = np.empty((n, m + 1), np.float64)  # column-DFT A[k, j], stored as [j, k], k <= n/2
    ai = np.empty((n, m + 1), np.float64)
    for k in range(m + 1):
        kk = (n - k) % n
        for p in range(m):
            a_re, a_im, b_re, b_im = zr[k, p], zi[k, p], zr[kk, p], -zi[kk, p]  # Z[k], conj(Z[-k])
            ar[2 * p, k] = 0.5 * (a_re + b_re)
            ai[2 * p, k] = 0.5 * (a_im + b_im)
            ar[2 * p + 1, k] = 0.5 * (a_im - b_im)
            ai[2 * p + 1, k] = -0.5 * (a_re - b_re)
    _dft_cols(ar, ai, False, cos_t, sin_t)
    return ar, ai


@njit(cache=True)
def _real_inverse(gr, gi, cos_t, sin_t):
    """Unnormalised inverse DFT of a Hermitian spectrum given as its half ``[n (l), n/2 + 1 (k)]``
    (layout of ``_half_spectrum``) -> the real signal ``[n, n]``."""
    n = gr.shape[0]
    m = n // 2
    _dft_cols(gr, gi, True, cos_t, sin_t)  # now B[k, j] = gr[j, k] + i gi[j, k]
    yr = np.empty((n, m), np.float64)  # Y[k, p] = B[k, 2p] + i B[k, 2p + 1], all k
    yi = np.empty((n, m), np.float64)
    for k in range(n):
        kk = k if k <= m else n - k
        s = 1.0 if k <= m else -1.0  # rows k > n/2 are conj(B[n - k])
        for p in range(m):
            yr[k, p] = gr[2 * p, kk] - s * gi[2 * p + 1, kk]
            yi[k, p] = s * gi[2 * p, kk] + gr[2 * p + 1, kk]
    _dft_cols(yr, yi, True, cos_t, sin_t)
    out = np.empty((n, n), np.float64)
    for i in range(n):
        for p in range(m):
            out[i, 2 * p] = yr[i, p]
            out[i, 2 * p + 1] = yi[i, p]
    return out


@njit(cache=True)
def _box_wrap(a, size):
    """Mean over ``size x size`` neighbourhoods of ``a [n, m]`` with periodic borders."""
    n, m = a.shape
    r = size // 2
    p = np.empty((n + 2 * r, m + 2 * r), np.float64)  # periodic padding
    for i in range(n + 2 * r):
        src = a[(i - r) % n]
        p[i, r:r + m] = src
        for j in range(r):
            p[i, j] = src[(j - r) % m]
            p[i, m + r + j] = src[j % m]
    tmp = np.zeros((n + 2 * r, m), np.float64)
    for i in range(n + 2 * r):
        for t in range(size):
            for j in range(m):
                tmp[i, j] += p[i, j + t]
    out = np.zeros((n, m), np.float64)
    for i in range(n):
        for t in range(size):
            for j in range(m):
                out[i, j] += tmp[i + t, j]
    return out * (1.0 / (size * size))


@njit(cache=True, nogil=True)
def _spectral_residual(images, size, avg_size, gauss, start, stop, out):
    """Saliency of images ``start:stop`` of float32 ``[B, H, W, C]`` into float32 ``out [B, H, W]``."""
    for b in range(start, stop):
        _spectral_residual_one(images, b, size, avg_size, gauss, out[b])


@njit(cache=True)
def _spectral_residual_one(images, b, size, avg_size, gauss, out):
    """Saliency of image ``b`` of float32 ``[B, H, W, C]`` into float32 ``out [H, W]`` (sums to 1)."""
    h, w = images.shape[1], images.shape[2]
    grey = _grey(images, b)
    if grey.max() == grey.min():
        out[:] = 1.0 / (h * w)
        return
    n = size
    m = n // 2
    cos_t, sin_t = _twiddles(n)
    fr, fi = _half_spectrum(_resize(grey, n, n), cos_t, sin_t)  # F[k, l] at [l, k], k <= n/2
    mag = np.sqrt(fr * fr + fi * fi)
    floor = mag.max() * _LOG_EPS + 1e-300
    log_full = np.empty((n, n), np.float64)  # log|F| over the whole [k, l] grid, by symmetry
    for k in range(m + 1):  # float32 log / exp below: ~1e-7 relative, half the time of float64
        kk = n - k if k > 0 else 0
        for l in range(n):
            v = math.log(np.float32(mag[l, k] + floor))
            log_full[k, l] = v
            log_full[kk, n - l if l > 0 else 0] = v
    smooth = _box_wrap(log_full, avg_size)
    for l in range(n):
        for k in range(m + 1):
            f = math.exp(np.float32(log_full[k, l] - smooth[k, l]))
            if mag[l, k] > 0.0:
                f /= mag[l, k]
                fr[l, k] *= f
                fi[l, k] *= f
            else:
                fr[l, k] = f
                fi[l, k] = 0.0
    x = _real_inverse(fr, fi, cos_t, sin_t)
    _resize_to_distribution(_sep_filter(x * x, gauss), h, w, out)
