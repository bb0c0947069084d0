"""``PriorityBatch``: inhibition of return over N saliency maps at once (the envs' stateful IoR).

The same Numba kernels as ``update_inhibition`` / ``priority_map`` and ``sample_scanpath``
(``_inhibit``, ``_priority``) run row by row inside one call, so row ``i``'s priority map agrees
bit for bit with those functions applied to the same map and fixations.

For batched rollouts that never look at the maps (pretraining), ``materialize=False`` skips
writing the normalised ``[N, H, W]`` priority after every step: per row only the totals of
``saliency * inhibition`` per image row are kept up to date (the rows an IoR update touched), and
:meth:`PriorityBatch.sample` / :meth:`PriorityBatch.argmax` draw from ``saliency * inhibition``
directly, reading the map only up to the drawn pixel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from saliency.ior import (
    IOR_MODES,
    _argmax,
    _dot_row,
    _inhibit,
    _normalise,
    _priority,
    _priority_fallback,
    _row_sums,
    _sample_rows,
)
from saliency.parallel import run_batched
from saliency.validation import MAX_PIXELS, check_choice, check_decay, check_int, check_maps, check_positive

__all__ = ["PriorityBatch"]

_PARALLEL_PIXELS = 1 << 20  # below this many pixels per call, threads cost more than they save


@njit(cache=True, nogil=True)
def _refresh_rows(sal, inhib, row_tot, rows, fix, mode, radius, decay, out, write, start, stop):
    """For ``k`` in ``[start, stop)``: inhibit row ``rows[k]`` at ``fix[k]`` (skipped when
    ``fix[k, 0] < 0``: every image row is re-totalled), update its per-image-row totals of
    ``sal * inhib`` and, if ``write``, its priority map ``out[rows[k]]``."""
    h = sal.shape[1]
    for k in range(start, stop):
        r = rows[k]
        r0, r1 = 0, h
        if fix[k, 0] >= 0:
            r0, r1 = _inhibit(inhib[r], fix[k, 0], fix[k, 1], mode, radius, decay)
        for i in range(r0, r1):
            row_tot[r, i] = _dot_row(sal[r, i], inhib[r, i])
        if write:
            _write_priority(sal[r], inhib[r], row_tot[r], out[r])


@njit(cache=True, nogil=True)
def _write_priority(sal, inhib, row_tot, out):
    """One row's priority map into ``out [H, W]``: ``_priority``'s arithmetic, its total summed
    from the kept per-image-row totals (the same numbers, so the same map bit for bit)."""
    total = 0.0
    for i in range(sal.shape[0]):
        total += row_tot[i]
    _normalise(sal, inhib, total, out)


@njit(cache=True, nogil=True)
def _maps_rows(sal, inhib, row_tot, rows, out, start, stop):
    """``out[k]`` = the priority map of row ``rows[k]``, for ``k`` in ``[start, stop)``."""
    for k in range(start, stop):
        _write_priority(sal[rows[k]], inhib[rows[k]], row_tot[rows[k]], out[k])


@njit(cache=True, nogil=True)
def _start_rows(source, index, mask, use_mask, sal, inhib, row_tot, rows, start, stop):
    """For ``k`` in ``[start, stop)``: row ``rows[k]`` gets map ``source[index[k]]`` (times ``mask``
    if ``use_mask``), no inhibition, and its per-image-row totals, in one pass over the map."""
    h, w = sal.shape[1], sal.shape[2]
    for k in range(start, stop):
        r = rows[k]
        src = source[index[k]]
        for i in range(h):
            for j in range(w):
                v = np.float32(src[i, j])
                sal[r, i, j] = v * mask[i, j] if use_mask else v
                inhib[r, i, j] = 1.0
            row_tot[r, i] = _dot_row(sal[r, i], inhib[r, i])


@njit(cache=True, nogil=True)
def _draw_rows(sal, inhib, row_tot, rows, u, use_argmax, out, scratch, start, stop):
    """``k`` in ``[start, stop)``: a fixation of row ``r = rows[k]`` from ``sal[r] * inhib[r]`` (inverse CDF with
    ``u[k]`` on the row-major flattened map, zero-mass pixels never drawn; or its first maximum).
    Rows with no mass left fall back to the priority kernel's rule (inhibition, then uniform)."""
    h, w = sal.shape[1], sal.shape[2]
    for k in range(start, stop):
        r = rows[k]
        total = 0.0
        for i in range(h):
            total += row_tot[r, i]
        if not total > 0.0 or use_argmax:
            p = scratch[k - start] if scratch.shape[0] > 1 else scratch[0]
            if total > 0.0:
                _priority(sal[r], inhib[r], p)
            else:
                _priority_fallback(inhib[r], p)
            if use_argmax:
                out[k, 0], out[k, 1] = _argmax(p)
            else:
                sums = np.empty(h, np.float64)
                _row_sums(p, sums)
                out[k, 0], out[k, 1] = _sample_rows(p, u[k], sums)
            continue
        target = u[k] * total
        cum = 0.0
        found = False
        for i in range(h):
            if cum + row_tot[r, i] > target:
                acc = 0.0
                last = -1
                for j in range(w):
                    v = np.float64(sal[r, i, j]) * np.float64(inhib[r, i, j])
                    acc += v
                    if v > 0.0:
                        last = j
                        if cum + acc > target:
                            out[k, 0], out[k, 1] = i, j
                            found = True
                            break
                if not found and last >= 0:
                    out[k, 0], out[k, 1] = i, last
                    found = True
                if found:
                    break
            cum += row_tot[r, i]
        if not found:  # u * total rounded up to the total: the last pixel with mass
            for q in range(h * w - 1, -1, -1):
                i, j = q // w, q % w
                if np.float64(sal[r, i, j]) * np.float64(inhib[r, i, j]) > 0.0:
                    out[k, 0], out[k, 1] = i, j
                    break


class PriorityBatch:
    """Saliency, inhibition and priority maps of ``n`` rows, float32 ``[n, H, W]`` each.

    ``n`` in [1, 65536], ``shape`` = (H, W) with ``n * H * W <= 2 ** 29``; ``mode``, ``radius``
    ([0.01, 65536] pixels) and ``decay`` as in :func:`saliency.update_inhibition`. Maps given to
    :meth:`start` must be finite and non-negative (rescaled as ``priority_map`` does).

    ``priority`` is a fresh array after every :meth:`start` / :meth:`fixate` (earlier arrays are
    never written again, so they can be handed out, e.g. as ``info["priority"]``); with
    ``materialize=False`` it is not kept (None): :meth:`sample` / :meth:`argmax` read the maps and
    :meth:`maps` computes the priority maps when asked.
    """

    def __init__(self, n: int, shape: tuple[int, int], mode: str = "square", radius: float = 16,
                 decay: float = 1.0, materialize: bool = True) -> None:
        self.n = check_int(n, "n")
        try:
            h, w = (check_int(d, f"shape[{i}]") for i, d in enumerate(shape))
        except (TypeError, ValueError):
            raise ValueError(f"shape must be a pair (H, W) of integers >= 1, got {shape!r}") from None
        if self.n * h * w > MAX_PIXELS * 8:
            raise ValueError(f"n * H * W must be at most {MAX_PIXELS * 8} pixels, got n={self.n}, shape={shape!r}")
        self.mode = check_choice(mode, "mode", IOR_MODES)
        self._mode_id = IOR_MODES.index(self.mode)
        self.radius = check_positive(radius, "radius")
        self.decay = check_decay(decay, self.mode)
        self.materialize = bool(materialize)
        self.saliency = np.zeros((self.n, h, w), np.float32)
        self.inhibition = np.ones((self.n, h, w), np.float32)
        self.row_totals = np.zeros((self.n, h), np.float64)
        self.priority: np.ndarray | None = (np.full((self.n, h, w), 1.0 / (h * w), np.float32)
                                            if self.materialize else None)

    def start(self, rows: np.ndarray, maps: np.ndarray) -> None:
        """Rows ``rows [K]`` get the saliency ``maps`` float32 ``[K, H, W]`` and no inhibition."""
        rows = np.asarray(rows, np.int64)
        maps = np.asarray(maps)
        if maps.ndim == 3 and maps.dtype != np.float32 or not np.all(np.isfinite(maps)) or np.any(maps < 0):
            maps = check_maps(maps, "maps")  # finite, non-negative, rescaled into float32's range
        self.saliency[rows] = maps
        self.inhibition[rows] = 1.0
        self._refresh(rows, np.full((len(rows), 2), -1, np.int64))

    def start_from(self, rows: np.ndarray, source: np.ndarray, index: np.ndarray,
                   mask: np.ndarray | None = None) -> None:
        """Rows ``rows [K]`` get the maps ``source[index[k]]`` (``source`` float32 ``[M, H, W]``, e.g.
        a memory-mapped cache; times ``mask [H, W]`` if given) and no inhibition, in one pass."""
        if self.materialize:  # the maps are written anyway: the plain path
            maps = np.asarray(source[index])
            self.start(rows, maps * mask if mask is not None else maps)
            return
        rows, index = np.asarray(rows, np.int64), np.asarray(index, np.int64)
        use_mask = mask is not None
        m = np.ascontiguousarray(mask, np.float32) if use_mask else np.ones((1, 1), np.float32)
        args = (source, index, m, use_mask, self.saliency, self.inhibition, self.row_totals, rows)
        if len(rows) * self.saliency[0].size >= _PARALLEL_PIXELS:
            run_batched(lambda a, b: _start_rows(*args, a, b), len(rows))
        else:
            _start_rows(*args, 0, len(rows))
        totals = self.row_totals[rows]
        if not (np.all(np.isfinite(totals)) and np.all(totals >= 0)):
            raise ValueError("source maps must be finite, non-negative and within float32's range "
                             f"(rows {rows.tolist()} of index {index.tolist()})")

    def fixate(self, rows: np.ndarray, fixations: np.ndarray) -> None:
        """Inhibit row ``rows[k]`` around pixel ``fixations[k]`` (int64 ``[K, 2]``, inside the map)."""
        self._refresh(np.asarray(rows, np.int64), np.ascontiguousarray(fixations, np.int64))

    def maps(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The current priority maps of ``rows`` (default: all), a fresh float32 ``[K, H, W]``, equal
        bit for bit to the materialised ``priority[rows]``; computed on request when not materialised."""
        rows = np.arange(self.n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        if self.priority is not None:
            return self.priority[rows]
        out = np.empty((len(rows), *self.saliency.shape[1:]), np.float32)
        args = (self.saliency, self.inhibition, self.row_totals, rows, out)
        if out.size >= _PARALLEL_PIXELS:
            run_batched(lambda a, b: _maps_rows(*args, a, b), len(rows))
        else:
            _maps_rows(*args, 0, len(rows))
        return out

    def sample(self, uniforms: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """One fixation per row of ``rows`` (default: all) drawn from its priority map with
        ``uniforms`` float64 ``[K]`` in [0, 1): int64 ``[K, 2]`` pixels (inverse CDF on the
        row-major map of ``saliency * inhibition``, zero-mass pixels never drawn)."""
        rows = np.arange(self.n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        return self._draw(rows, np.ascontiguousarray(uniforms, np.float64), False)

    def argmax(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The first maximum of the priority map of every row of ``rows`` (default: all), int64 ``[K, 2]``."""
        rows = np.arange(self.n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        return self._draw(rows, np.zeros(len(rows)), True)

    def _draw(self, rows: np.ndarray, u: np.ndarray, use_argmax: bool) -> np.ndarray:
        if u.shape != rows.shape or not np.all((u >= 0) & (u < 1)):
            raise ValueError(f"uniforms must be float [{len(rows)}] (one per row) in [0, 1), got shape {u.shape}")
        out = np.empty((len(rows), 2), np.int64)
        _, h, w = self.saliency.shape
        scratch = np.empty((len(rows) if use_argmax else 1, h, w), np.float32)
        args = (self.saliency, self.inhibition, self.row_totals, rows, u, use_argmax, out)
        if use_argmax and len(rows) * h * w >= _PARALLEL_PIXELS:
            run_batched(lambda a, b: _draw_rows(*args, scratch[a:b], a, b), len(rows))
        else:
            _draw_rows(*args, scratch, 0, len(rows))
        return out

    def _refresh(self, rows: np.ndarray, fix: np.ndarray) -> None:
        if self.materialize:
            out = np.empty_like(self.priority) if len(rows) == self.n else self.priority.copy()
        else:
            out = np.empty((1, 1, 1), np.float32)
        args = (self.saliency, self.inhibition, self.row_totals, rows, fix, self._mode_id, self.radius, self.decay,
                out, self.materialize)
        full = self.materialize or fix[:1, 0].min(initial=0) < 0
        _, h, w = self.saliency.shape
        band = h if full or self.decay != 1.0 else min(h, 2 * int(np.ceil(self.radius * (6 if self.mode == "gaussian" else 1))) + 1)
        work = len(rows) * band * w  # pixels the kernel touches
        if work >= _PARALLEL_PIXELS // 4:  # enough work per call for two threads to pay off
            run_batched(lambda a, b: _refresh_rows(*args, a, b), len(rows))
        else:
            _refresh_rows(*args, 0, len(rows))
        if self.materialize:
            self.priority = out
