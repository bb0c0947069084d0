"""Plain-NumPy reference implementations of every saliency kernel (slow, readable, for tests).

Each function mirrors a Numba kernel: same maths, written with vectorised NumPy (``np.fft`` for
the spectral residual, dense resampling matrices, ``np.cumsum`` + ``np.searchsorted`` for
sampling). Inputs are assumed valid (no checks); images are float ``[H, W]`` or ``[H, W, 3]``
already scaled (uint8 / 255).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from saliency.filters import GREY_WEIGHTS, gaussian_kernel
from saliency.ior import IOR_MODES
from saliency.itti import ITTI_DEFAULTS, PYR_TAPS, TIE, gabor_bank
from saliency.spectral import _LOG_EPS, SR_BLUR_TRUNCATE, SR_DEFAULTS

__all__ = [
    "argmax_fixation_ref",
    "grey_ref",
    "itti_koch_ref",
    "priority_map_ref",
    "resize_ref",
    "sample_fixation_ref",
    "sample_scanpath_ref",
    "spectral_residual_ref",
    "update_inhibition_ref",
]


# ----------------------------------------------------------------------------- image helpers
def _planes(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, np.float64)
    return img[..., None] if img.ndim == 2 else img


def grey_ref(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of ``[H, W]`` / ``[H, W, 1]`` / ``[H, W, 3]`` -> float64 ``[H, W]``."""
    img = _planes(image)
    if img.shape[2] == 1:
        return img[..., 0].copy()
    return img @ np.asarray(GREY_WEIGHTS)


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Dense ``[n_out, n_in]`` weights: box-area average when shrinking, half-pixel bilinear otherwise."""
    m = np.zeros((n_out, n_in))
    scale = n_in / n_out
    o = np.arange(n_out)
    if n_out < n_in:
        start, end = o * scale, (o + 1) * scale
        i = np.arange(n_in)
        overlap = np.minimum(end[:, None], i[None, :] + 1.0) - np.maximum(start[:, None], i[None, :])
        return np.clip(overlap, 0.0, None) / scale
    src = np.maximum((o + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = src - i0
    np.add.at(m, (o, i0), 1.0 - t)
    np.add.at(m, (o, i1), t)
    return m


def resize_ref(img: np.ndarray, h_out: int, w_out: int) -> np.ndarray:
    """Separable area/bilinear resize of float ``[h, w]`` -> float64 ``[h_out, w_out]``."""
    return _resample_matrix(img.shape[0], h_out) @ img @ _resample_matrix(img.shape[1], w_out).T


def _sep_filter_ref(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    r = len(k) // 2
    p = np.pad(img, r, mode="reflect")  # NumPy's "reflect" is OpenCV's reflect-101
    p = sliding_window_view(p, len(k), axis=1) @ k
    return sliding_window_view(p, len(k), axis=0) @ k


def _filter2d_ref(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    rh, rw = k.shape[0] // 2, k.shape[1] // 2
    p = np.pad(img, ((rh, rh), (rw, rw)), mode="reflect")
    return np.einsum("ijab,ab->ij", sliding_window_view(p, k.shape), k)


def _to_distribution_ref(m: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Clip at 0, normalise to sum 1, then sharpen: ``(m / max) ** gamma`` renormalised."""
    m = np.clip(m, 0.0, None)
    total = m.sum()
    if not (total > 0 and np.isfinite(total)):
        return np.full(m.shape, 1.0 / m.size, np.float32)
    p = (m / total).astype(np.float32).astype(np.float64)
    if gamma != 1.0:
        p = (p / p.max()) ** gamma
        p = p / p.sum()
    return p.astype(np.float32)


# ----------------------------------------------------------------------------- spectral residual
def spectral_residual_ref(image: np.ndarray, size: int = SR_DEFAULTS["size"],
                          avg_size: int = SR_DEFAULTS["avg_size"],
                          blur_sigma: float = SR_DEFAULTS["blur_sigma"],
                          gamma: float = SR_DEFAULTS["gamma"]) -> np.ndarray:
    """Spectral residual saliency (Hou & Zhang 2007) with ``np.fft`` -> float32 ``[H, W]`` summing to 1."""
    grey = grey_ref(image)
    h, w = grey.shape
    if grey.max() == grey.min():
        return np.full((h, w), 1.0 / (h * w), np.float32)
    spectrum = np.fft.fft2(resize_ref(grey, size, size))
    mag = np.abs(spectrum)
    log_amp = np.log(mag + mag.max() * _LOG_EPS + 1e-300)
    r = avg_size // 2
    residual = log_amp - (sliding_window_view(np.pad(log_amp, r, mode="wrap"), (avg_size, avg_size))
                          .mean(axis=(2, 3)))
    phase = np.where(mag > 0, spectrum / np.where(mag > 0, mag, 1.0), 1.0)
    power = np.abs(np.fft.ifft2(np.exp(residual) * phase)) ** 2
    power = _sep_filter_ref(power, gaussian_kernel(blur_sigma, SR_BLUR_TRUNCATE))
    return _to_distribution_ref(resize_ref(power, h, w), gamma)


# ----------------------------------------------------------------------------- Itti-Koch
def _pyr_down_ref(img: np.ndarray) -> np.ndarray:
    return _sep_filter_ref(img, PYR_TAPS)[::2, ::2]


def _normalise_ref(m: np.ndarray) -> np.ndarray:
    """Itti's N(.): scale to [0, 1]; times (1 - mean of the other strict local maxima)^2."""
    top = m.max()
    if top <= 0:
        return np.zeros_like(m)
    x = m / top
    p = np.pad(x, 1, mode="constant", constant_values=-np.inf)
    h, w = x.shape
    neighbours = np.stack([p[1 + di:1 + di + h, 1 + dj:1 + dj + w]
                           for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj])
    peak = np.all(neighbours < x - TIE, axis=0) & (x < 1.0 - TIE) & (x > TIE)
    mbar = x[peak].mean() if peak.any() else 0.0
    return x * (1.0 - mbar) ** 2


def _across_scale_ref(pyr: list, centres, deltas, shape) -> np.ndarray:
    acc = np.zeros(shape)
    for c in centres:
        for d in deltas:
            fm = np.abs(pyr[c] - resize_ref(pyr[c + d], *pyr[c].shape))
            acc += resize_ref(_normalise_ref(fm), *shape)
    return acc


def itti_koch_ref(image: np.ndarray, size: int = ITTI_DEFAULTS["size"], centres=ITTI_DEFAULTS["centres"],
                  deltas=ITTI_DEFAULTS["deltas"], gabor_sigma: float = ITTI_DEFAULTS["gabor_sigma"],
                  gabor_wavelength: float = ITTI_DEFAULTS["gabor_wavelength"],
                  gamma: float = ITTI_DEFAULTS["gamma"]) -> np.ndarray:
    """Itti-Koch-style saliency (intensity, colour opponency, orientation) -> float32 ``[H, W]`` summing to 1."""
    img = _planes(image)
    h, w = img.shape[:2]
    r, g, b = (resize_ref(img[..., min(k, img.shape[2] - 1)], size, size) for k in range(3))
    inten = (r + g + b) / 3.0
    keep = inten > 0.1 * inten.max()
    safe = np.where(keep, inten, 1.0)
    rn, gn, bn = (np.where(keep, ch / safe, 0.0) for ch in (r, g, b))
    red = np.clip(rn - (gn + bn) / 2, 0, None)
    green = np.clip(gn - (rn + bn) / 2, 0, None)
    blue = np.clip(bn - (rn + gn) / 2, 0, None)
    yellow = np.clip((rn + gn) / 2 - np.abs(rn - gn) / 2 - bn, 0, None)
    centres, deltas = sorted(set(centres)), sorted(set(deltas))
    top, low = max(centres) + max(deltas), min(centres)

    def pyramid(x):
        levels = [x]
        for _ in range(top):
            levels.append(_pyr_down_ref(levels[-1]))
        return levels

    pi = pyramid(inten)
    shape = pi[low].shape
    sal = _normalise_ref(_across_scale_ref(pi, centres, deltas, shape))
    sal += _normalise_ref(_across_scale_ref(pyramid(red - green), centres, deltas, shape)
                          + _across_scale_ref(pyramid(blue - yellow), centres, deltas, shape))
    orient = np.zeros(shape)
    for k in gabor_bank(gabor_sigma, gabor_wavelength):
        po = [np.abs(_filter2d_ref(level, k)) if lev >= low else None for lev, level in enumerate(pi)]
        orient += _normalise_ref(_across_scale_ref(po, centres, deltas, shape))
    sal += _normalise_ref(orient)
    return _to_distribution_ref(resize_ref(sal / 3.0, h, w), gamma)


# ----------------------------------------------------------------------------- IoR and scanpaths
def update_inhibition_ref(inhibition: np.ndarray, fixation, mode: str = "square", radius: float = 16,
                          decay: float = 1.0) -> np.ndarray:
    """New float32 ``[H, W]`` inhibition after a fixation at ``(row, col)`` (see ``saliency.ior``)."""
    inhib = np.asarray(inhibition, np.float64).copy()
    rows, cols = np.indices(inhib.shape)
    dr, dc = rows - fixation[0], cols - fixation[1]
    if mode == "gaussian":
        if decay != 1.0:
            inhib = (1.0 - (1.0 - inhib) * decay).astype(np.float32).astype(np.float64)
        inhib = inhib * (1.0 - np.exp(-(dr ** 2 + dc ** 2) / (2.0 * radius ** 2)))
    elif mode == "square":
        half = math.floor(radius)
        inhib[(np.abs(dr) <= half) & (np.abs(dc) <= half)] = 0.0
    else:
        inhib[dr ** 2 + dc ** 2 <= radius ** 2] = 0.0
    return inhib.astype(np.float32)


def priority_map_ref(saliency: np.ndarray, inhibition: np.ndarray) -> np.ndarray:
    """``saliency * inhibition`` / sum -> float32; inhibition / sum if that is 0; else uniform."""
    for m in (np.asarray(saliency, np.float64) * inhibition, np.asarray(inhibition, np.float64)):
        total = m.sum()
        if total > 0:
            return (m / total).astype(np.float32)
    return np.full(np.shape(saliency), 1.0 / np.size(saliency), np.float32)


def sample_fixation_ref(priority: np.ndarray, u: float) -> tuple[int, int]:
    """Inverse CDF: ``searchsorted(cumsum(p), u * sum(p), "right")`` on the row-major flattened map."""
    cdf = np.cumsum(np.asarray(priority, np.float64).ravel())
    k = int(np.searchsorted(cdf, u * cdf[-1], side="right"))
    if k >= cdf.size:
        k = int(np.flatnonzero(np.asarray(priority).ravel() > 0)[-1])
    return divmod(k, priority.shape[1])


def argmax_fixation_ref(priority: np.ndarray) -> tuple[int, int]:
    """First maximum in row-major order."""
    return divmod(int(np.argmax(priority)), priority.shape[1])


def sample_scanpath_ref(saliency: np.ndarray, uniforms: np.ndarray, mode: str = "sample", ior: str = "square",
                        radius: float = 16, decay: float = 1.0) -> np.ndarray:
    """The scanpath loop in NumPy -> int64 ``[N, 2]`` (``ior`` in ``IOR_MODES``)."""
    assert ior in IOR_MODES
    inhib = np.ones(np.shape(saliency), np.float32)
    out = np.zeros((len(uniforms), 2), np.int64)
    for k, u in enumerate(uniforms):
        p = priority_map_ref(saliency, inhib)
        out[k] = argmax_fixation_ref(p) if mode == "argmax" else sample_fixation_ref(p, u)
        inhib = update_inhibition_ref(inhib, out[k], ior, radius, decay)
    return out
