"""Inhibition of return (IoR), priority maps and single-fixation selection.

An inhibition map is float32 ``[H, W]`` in [0, 1] (1 = not inhibited). The public functions
validate their input in Python and call the Numba kernels below; ``saliency.scanpath`` calls the
very same kernels, so stepping these functions one at a time reproduces a batched scanpath bit
for bit given the same uniforms.

IoR modes (``IOR_MODES``), around a fixation ``(r, c)``, for a pixel at offset ``(dr, dc)``:

- ``"square"``: set to 0 where ``|dr| <= radius`` and ``|dc| <= radius`` (the paper's square of
  half-width ``radius``; a ``(2 radius + 1)^2`` block, clipped at the border).
- ``"disc"``: set to 0 where ``dr^2 + dc^2 <= radius^2``.
- ``"gaussian"``: soft; first the old suppression recovers, ``inhibition <- 1 - (1 - inhibition) * decay``,
  then ``inhibition *= 1 - exp(-(dr^2 + dc^2) / (2 radius^2))``.

Hard modes never recover: they accept only ``decay=1.0`` and raise ``ValueError`` otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from saliency.validation import (
    check_choice,
    check_decay,
    check_fixation,
    MAX_PIXELS,
    check_int,
    check_map,
    check_positive,
    check_unit_interval,
)

__all__ = ["IOR_MODES", "argmax_fixation", "new_inhibition", "priority_map", "sample_fixation",
           "update_inhibition"]

IOR_MODES = ("square", "disc", "gaussian")
_GAUSS_CUTOFF = 6.0  # beyond 6 radii, 1 - exp(-d^2 / 2 r^2) rounds to 1 in float32


@njit(cache=True)
def _inhibit(inhib, row, col, mode, radius, decay):
    """In place: apply IoR mode ``mode`` (index into IOR_MODES) at ``(row, col)`` to float32 ``inhib``.
    Returns the range ``[r0, r1)`` of rows it may have changed."""
    h, w = inhib.shape
    if mode == 2:
        if decay != 1.0:
            for i in range(h):
                for j in range(w):
                    inhib[i, j] = 1.0 - (1.0 - np.float64(inhib[i, j])) * decay
        reach = int(math.ceil(_GAUSS_CUTOFF * radius))
        inv = 1.0 / (2.0 * radius * radius)
        r0, r1 = max(0, row - reach), min(h, row + reach + 1)
        for i in range(r0, r1):
            di = float(i - row)
            for j in range(max(0, col - reach), min(w, col + reach + 1)):
                dj = float(j - col)
                inhib[i, j] = np.float64(inhib[i, j]) * (1.0 - math.exp(-(di * di + dj * dj) * inv))
        if decay != 1.0:
            return 0, h
        return r0, r1
    half = int(math.floor(radius))
    r0, r1 = max(0, row - half), min(h, row + half + 1)
    for i in range(r0, r1):
        di = float(i - row)
        for j in range(max(0, col - half), min(w, col + half + 1)):
            dj = float(j - col)
            if mode == 0 or di * di + dj * dj <= radius * radius:
                inhib[i, j] = 0.0
    return r0, r1


@njit(cache=True, inline="always")
def _term(a, b, j, weighted):
    """Lane term ``j``: ``a[j] * b[j]`` in float64 when ``weighted``, else ``a[j]``."""
    x = np.float64(a[j])
    if weighted:
        x *= np.float64(b[j])
    return x


@njit(cache=True)
def _lane_sum(a, b, weighted):
    """float64 sum over a row of :func:`_term`, in 4 interleaved lanes (a fixed order)."""
    n = a.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    j = 0
    while j + 4 <= n:
        s0 += _term(a, b, j, weighted)
        s1 += _term(a, b, j + 1, weighted)
        s2 += _term(a, b, j + 2, weighted)
        s3 += _term(a, b, j + 3, weighted)
        j += 4
    while j < n:
        s0 += _term(a, b, j, weighted)
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def _dot_row(a, b):
    """float64 sum of ``a[j] * b[j]`` over a row, in 4 interleaved lanes (a fixed order)."""
    return _lane_sum(a, b, True)


@njit(cache=True)
def _sum_row(a):
    """float64 sum of a row, in 4 interleaved lanes (a fixed order)."""
    return _lane_sum(a, a, False)


@njit(cache=True)
def _scale_row(a, b, inv, out):
    """``out[j] = float32(a[j] * b[j] * inv)`` in float64 arithmetic."""
    for j in range(a.shape[0]):
        out[j] = np.float64(a[j]) * np.float64(b[j]) * inv


@njit(cache=True)
def _priority_fallback(inhib, out):
    """Priority when no saliency is left: ``inhib / sum(inhib)``, or uniform if that is 0 too."""
    h, w = inhib.shape
    total = 0.0
    for i in range(h):
        total += _sum_row(inhib[i])
    if total > 0.0:
        inv = 1.0 / total
        for i in range(h):
            for j in range(w):
                out[i, j] = np.float64(inhib[i, j]) * inv
    else:
        out[:] = 1.0 / (h * w)


@njit(cache=True)
def _priority(sal, inhib, out):
    """``out = sal * inhib / sum(sal * inhib)`` (float32 ``[H, W]``, float64 arithmetic); if that sum
    is 0: ``inhib / sum(inhib)``; if that is 0 too: uniform ``1 / (H W)``."""
    total = 0.0
    for i in range(sal.shape[0]):
        total += _dot_row(sal[i], inhib[i])
    _normalise(sal, inhib, total, out)


@njit(cache=True, nogil=True)
def _normalise(sal, inhib, total, out):
    """``out = sal * inhib / total`` when ``total`` (their float64 sum) is > 0, else the fallback
    (:func:`_priority_fallback`): the last step of every priority map."""
    if total > 0.0:
        inv = 1.0 / total
        for i in range(sal.shape[0]):
            _scale_row(sal[i], inhib[i], inv, out[i])
    else:
        _priority_fallback(inhib, out)


@njit(cache=True)
def _row_sums(p, row_sums):
    """``row_sums[i] = _sum_row(p[i])`` for float32 ``p [H, W]`` into float64 ``row_sums [H]``."""
    for i in range(p.shape[0]):
        row_sums[i] = _sum_row(p[i])


@njit(cache=True)
def _sample_rows(p, u, row_sums):
    """Inverse-CDF draw on the row-major flattened float32 ``p [H, W]`` with ``u`` in [0, 1), given
    its float64 ``row_sums [H]`` (``_row_sums``): the first pixel whose cumulative mass exceeds
    ``u * total`` (searchsorted, side="right"); a pixel of zero mass is never returned.
    Returns ``(row, col)``; ``(-1, -1)`` if ``p`` has no mass."""
    h, w = p.shape
    total = 0.0
    for i in range(h):
        total += row_sums[i]
    if not total > 0.0:
        return -1, -1
    target = u * total
    cum = 0.0
    for i in range(h):
        if cum + row_sums[i] > target:
            last = -1
            acc = 0.0
            for j in range(w):
                acc += np.float64(p[i, j])
                if p[i, j] > 0.0:
                    if cum + acc > target:
                        return i, j
                    last = j
            if last >= 0:  # the row's sum rounded above its running sum: its last pixel with mass
                return i, last
        cum += row_sums[i]
    for k in range(h * w - 1, -1, -1):  # u * total rounded up to total: last pixel with mass
        if p[k // w, k % w] > 0.0:
            return k // w, k % w
    return -1, -1


@njit(cache=True)
def _argmax(p):
    """First maximum of float32 ``p [H, W]`` in row-major order, as ``(row, col)``."""
    h, w = p.shape
    best = p[0, 0]
    bi = 0
    bj = 0
    for i in range(h):
        for j in range(w):
            if p[i, j] > best:
                best = p[i, j]
                bi = i
                bj = j
    return bi, bj


def _shape(shape: Any) -> tuple[int, int]:
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if len(dims) != 2:
        raise ValueError(f"shape must be a pair (H, W) of integers >= 1, got {shape!r}")
    h, w = check_int(dims[0], "shape[0]"), check_int(dims[1], "shape[1]")
    if h * w > MAX_PIXELS:
        raise ValueError(f"shape must hold at most {MAX_PIXELS} pixels (H * W), got {shape!r}")
    return h, w


def new_inhibition(shape: tuple[int, int]) -> np.ndarray:
    """A fresh inhibition map: float32 ``[H, W]`` of ones (nothing inhibited); ``shape`` = (H, W),
    sides >= 1, ``H * W <= 2 ** 26``."""
    return np.ones(_shape(shape), np.float32)


def update_inhibition(inhibition: np.ndarray, fixation: tuple[int, int], mode: str = "square",
                      radius: float = 16, decay: float = 1.0) -> np.ndarray:
    """Inhibit around ``fixation`` (pixel ``(row, col)``); returns a new float32 ``[H, W]`` map.

    ``inhibition``: float ``[H, W]`` in [0, 1]. ``mode`` in ``IOR_MODES``; ``radius`` in
    [0.01, 65536] pixels (half-width of the square, radius of the disc, standard deviation of the
    Gaussian; any real, never rounded); ``decay`` in (0, 1], only for ``"gaussian"`` (hard modes
    require 1.0). The input map is not modified.
    """
    inhib = check_map(inhibition, "inhibition").copy()
    mode_id = IOR_MODES.index(check_choice(mode, "mode", IOR_MODES))
    radius = check_positive(radius, "radius")
    decay = check_decay(decay, mode)
    row, col = check_fixation(fixation, inhib.shape)
    _inhibit(inhib, row, col, mode_id, radius, decay)
    return inhib


def _pair(saliency: np.ndarray, inhibition: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sal = check_map(saliency, "saliency")
    inhib = check_map(inhibition, "inhibition")
    if inhib.shape != sal.shape:
        raise ValueError(f"inhibition must have the saliency's shape {sal.shape}, got {inhib.shape}")
    return sal, inhib


def priority_map(saliency: np.ndarray, inhibition: np.ndarray) -> np.ndarray:
    """``saliency * inhibition`` renormalised to sum 1, float32 ``[H, W]``; never NaN.

    ``saliency``: any finite non-negative float map (rescaled by its maximum before the float32
    cast when that lies outside [1e-30, 1e30]); ``inhibition``: in [0, 1], same shape.

    If nothing is left (the product is all zero), saliency is taken as uniform: the result is the
    inhibition renormalised, and uniform over the whole image if that is all zero too.
    """
    sal, inhib = _pair(saliency, inhibition)
    out = np.empty_like(sal)
    _priority(sal, inhib, out)
    return out


def _check_priority(priority: np.ndarray) -> np.ndarray:
    p = check_map(priority, "priority")
    if not np.any(p > 0):
        raise ValueError("priority must have positive mass (a non-negative [H, W] map, not all zero)")
    return p


def sample_fixation(priority: np.ndarray, u: float) -> tuple[int, int]:
    """Draw a fixation ``(row, col)`` from ``priority [H, W]`` by inverse CDF with one uniform ``u`` in [0, 1).

    Equivalent to ``searchsorted(cumsum(p.ravel(), float64), u * p.sum(), "right")`` (the float64
    CDF is accumulated row by row); never returns a pixel of zero priority.
    """
    p = _check_priority(priority)
    u = check_unit_interval(u, "u")
    row_sums = np.empty(p.shape[0], np.float64)
    _row_sums(p, row_sums)
    row, col = _sample_rows(p, u, row_sums)
    return int(row), int(col)


def argmax_fixation(priority: np.ndarray) -> tuple[int, int]:
    """The most salient pixel ``(row, col)`` of ``priority [H, W]``; ties -> first in row-major order."""
    row, col = _argmax(check_map(priority, "priority"))
    return int(row), int(col)
