"""One fixation per row of a batch of priority maps (a batched agent's step in a vector env).

``sample_fixations(priority, uniforms)[i] == sample_fixation(priority[i], uniforms[i])`` and
``argmax_fixations(priority)[i] == argmax_fixation(priority[i])`` exactly: the kernels below run
the very ``saliency.ior`` kernels (``_row_sums``, ``_sample_rows``, ``_argmax``) row by row. Large
batches are split over threads with ``saliency.parallel.run_batched`` (the kernels are ``nogil``);
small ones run in the calling thread, where a thread pool would cost more than the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from saliency.ior import _argmax, _row_sums, _sample_rows
from saliency.parallel import run_batched
from saliency.validation import check_maps, check_uniforms

__all__ = ["argmax_fixations", "sample_fixations"]

_PARALLEL_MIN_PIXELS = 1 << 20  # below N * H * W = 1 Mi pixels, one thread is faster than a pool


@njit(cache=True, nogil=True)
def _sample_batch(p, uniforms, start, stop, out):
    """Rows ``start:stop``: inverse-CDF draw on float32 ``p [N, H, W]`` with ``uniforms [N]`` into int64 ``out [N, 2]``."""
    row_sums = np.empty(p.shape[1], np.float64)
    for b in range(start, stop):
        _row_sums(p[b], row_sums)
        row, col = _sample_rows(p[b], uniforms[b], row_sums)
        out[b, 0] = row
        out[b, 1] = col


@njit(cache=True, nogil=True)
def _argmax_batch(p, start, stop, out):
    """Rows ``start:stop``: first maximum of float32 ``p [N, H, W]`` (row-major) into int64 ``out [N, 2]``."""
    for b in range(start, stop):
        row, col = _argmax(p[b])
        out[b, 0] = row
        out[b, 1] = col


def _check_priority(priority: Any) -> np.ndarray:
    """float32 C-contiguous ``[N, H, W]``, finite, non-negative, every row with positive mass."""
    p = check_maps(priority, "priority")
    empty = np.flatnonzero(~np.any(p > 0, axis=(1, 2)))
    if empty.size:
        raise ValueError(f"priority must have positive mass in every row (a non-negative [N, H, W] batch, "
                         f"no all-zero map); rows without mass: {empty[:10].tolist()}")
    return p


def _run(kernel, p: np.ndarray, *args: np.ndarray) -> np.ndarray:
    out = np.empty((p.shape[0], 2), np.int64)
    if p.size < _PARALLEL_MIN_PIXELS:
        kernel(p, *args, 0, p.shape[0], out)
    else:
        run_batched(lambda start, stop: kernel(p, *args, start, stop, out), p.shape[0])
    return out


def sample_fixations(priority: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Draw one fixation per row from ``priority`` float ``[N, H, W]`` with ``uniforms [N]`` in [0, 1).

    Row ``i`` is ``sample_fixation(priority[i], uniforms[i])`` (inverse CDF over the row-major
    flattened map, never a pixel of zero priority). Each map must be finite, non-negative and
    not all zero; it need not sum to 1. Returns int64 ``[N, 2]`` pixel ``(row, col)``.
    """
    p = _check_priority(priority)
    u = check_uniforms(uniforms, (p.shape[0],))
    return _run(_sample_batch, p, u)


def argmax_fixations(priority: np.ndarray) -> np.ndarray:
    """The most salient pixel of each map of ``priority`` float ``[N, H, W]``; ties -> first in
    row-major order. Row ``i`` is ``argmax_fixation(priority[i])``; unlike that function, an
    all-zero map is an error here (as in ``sample_fixations``). Returns int64 ``[N, 2]``.
    """
    return _run(_argmax_batch, _check_priority(priority))
