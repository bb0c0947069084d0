"""Scanpaths: repeated fixation selection on a saliency map with inhibition of return.

``sample_scanpath`` is exactly the loop::

    inhib = new_inhibition(sal.shape)
    for k in range(n_fixations):
        p = priority_map(sal, inhib)
        fix[k] = sample_fixation(p, u[k])      # or argmax_fixation(p) in mode="argmax"
        inhib = update_inhibition(inhib, fix[k], ior, radius, decay)

run inside one Numba kernel built from the same kernels as those public functions, so both give
bit-identical fixations for the same uniforms. With ``rng``, the uniforms are ``rng.random(N)``
(``sample_scanpath``) or ``rng.random((B, N))`` (``sample_scanpaths``), drawn even in argmax mode.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from saliency.ior import (
    IOR_MODES,
    _argmax,
    _dot_row,
    _inhibit,
    _priority_fallback,
    _row_sums,
    _sample_rows,
    _scale_row,
    _sum_row,
)
from saliency.parallel import run_batched
from saliency.validation import (
    check_choice,
    check_decay,
    check_int,
    check_map,
    check_maps,
    check_positive,
    check_uniforms,
)

__all__ = ["SCANPATH_MODES", "sample_scanpath", "sample_scanpaths"]

SCANPATH_MODES = ("sample", "argmax")


@njit(cache=True)
def _scanpath_into(sal, uniforms, use_argmax, mode, radius, decay, out):
    """Fill ``out int64 [N, 2]`` with the scanpath of float32 ``sal [H, W]`` given ``uniforms [N]``.

    Step k is ``priority_map`` -> ``sample_fixation`` (or ``argmax_fixation``) -> ``update_inhibition``
    through the same kernels, with two exact shortcuts: per-row totals of ``sal * inhib`` are kept
    for the rows the last IoR update did not touch, and the priority's row sums are taken while
    each row is in cache. Both give the very numbers the step functions compute."""
    h, w = sal.shape
    inhib = np.ones((h, w), np.float32)
    p = np.empty((h, w), np.float32)
    row_sums = np.empty(h, np.float64)
    row_tot = np.empty(h, np.float64)
    r0, r1 = 0, h
    for k in range(out.shape[0]):
        for i in range(r0, r1):
            row_tot[i] = _dot_row(sal[i], inhib[i])
        total = 0.0
        for i in range(h):
            total += row_tot[i]
        if total > 0.0:
            inv = 1.0 / total
            for i in range(h):
                _scale_row(sal[i], inhib[i], inv, p[i])
                row_sums[i] = _sum_row(p[i])
        else:
            _priority_fallback(inhib, p)
            _row_sums(p, row_sums)
        if use_argmax:
            row, col = _argmax(p)
        else:
            row, col = _sample_rows(p, uniforms[k], row_sums)
        out[k, 0] = row
        out[k, 1] = col
        r0, r1 = _inhibit(inhib, row, col, mode, radius, decay)


@njit(cache=True, nogil=True)
def _scanpaths(sal, uniforms, use_argmax, mode, radius, decay, start, stop, out):
    """Scanpaths ``start:stop`` of float32 ``sal [B, H, W]`` with ``uniforms [B, N]`` into int64 ``out [B, N, 2]``."""
    for b in range(start, stop):
        _scanpath_into(sal[b], uniforms[b], use_argmax, mode, radius, decay, out[b])


def _run(args: tuple) -> np.ndarray:
    sal, u = args[0], args[1]
    out = np.empty((sal.shape[0], u.shape[1], 2), np.int64)
    run_batched(lambda start, stop: _scanpaths(*args, start, stop, out), sal.shape[0])
    return out


def _prepare(saliency, n_fixations, rng, uniforms, mode, ior, radius, decay, batched: bool) -> tuple:
    """Validate the arguments; returns the ``_scanpaths`` arguments before ``start, stop, out``."""
    sal = check_maps(saliency, "saliency") if batched else check_map(saliency, "saliency")[None]
    n = check_int(n_fixations, "n_fixations", 1)
    check_choice(mode, "mode", SCANPATH_MODES)
    ior_id = IOR_MODES.index(check_choice(ior, "ior", IOR_MODES))
    radius = check_positive(radius, "radius")
    decay = check_decay(decay, ior)
    shape = (sal.shape[0], n) if batched else (n,)
    if rng is not None and uniforms is not None:
        raise ValueError("pass at most one of rng or uniforms, not both")
    if rng is None and uniforms is None and mode == "sample":
        raise ValueError("pass exactly one of rng (np.random.Generator) or uniforms (array in [0, 1)) in mode='sample'")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
        u = rng.random(shape)
    elif uniforms is not None:
        u = check_uniforms(uniforms, shape)
    else:
        u = np.zeros(shape, np.float64)
    return sal, np.ascontiguousarray(u.reshape(sal.shape[0], n)), mode == "argmax", ior_id, radius, decay


def sample_scanpath(saliency: np.ndarray, n_fixations: int, rng: np.random.Generator | None = None,
                    uniforms: np.ndarray | None = None, mode: str = "sample", ior: str = "square",
                    radius: float = 16, decay: float = 1.0) -> np.ndarray:
    """Scanpath of ``n_fixations`` fixations on ``saliency`` (non-negative float ``[H, W]``).

    ``mode="sample"`` draws each fixation from the priority map with ``uniforms [N]`` in [0, 1)
    or ``rng.random(N)`` (exactly one of ``rng`` / ``uniforms``); ``mode="argmax"`` takes the
    maximum (no uniforms needed; any given are validated and ignored). ``ior``, ``radius``,
    ``decay`` as in ``update_inhibition``. Returns int64 ``[N, 2]`` pixel ``(row, col)``.
    """
    args = _prepare(saliency, n_fixations, rng, uniforms, mode, ior, radius, decay, batched=False)
    return _run(args)[0]


def sample_scanpaths(saliency: np.ndarray, n_fixations: int, rng: np.random.Generator | None = None,
                     uniforms: np.ndarray | None = None, mode: str = "sample", ior: str = "square",
                     radius: float = 16, decay: float = 1.0) -> np.ndarray:
    """Scanpaths for a batch ``saliency [B, H, W]`` in parallel over B; ``uniforms [B, N]`` or
    ``rng`` (``rng.random((B, N))``). Row ``b`` equals ``sample_scanpath(saliency[b], ..., uniforms[b])``.
    Returns int64 ``[B, N, 2]``."""
    args = _prepare(saliency, n_fixations, rng, uniforms, mode, ior, radius, decay, batched=True)
    return _run(args)
