"""``PriorityBatch``: inhibition of return over N saliency maps at once (the batched ``PriorityTracker``).

The same Numba kernels as ``PriorityTracker`` and ``sample_scanpath`` (``_inhibit``,
``_priority``) run row by row inside one call, so row ``i`` agrees bit for bit with a
``PriorityTracker`` fed the same map and fixations.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from saliency.ior import IOR_MODES, _inhibit, _priority
from saliency.parallel import run_batched
from saliency.validation import check_choice, check_decay, check_int, check_positive

__all__ = ["PriorityBatch"]

_PARALLEL_PIXELS = 1 << 20  # below this many pixels per call, threads cost more than they save


@njit(cache=True, nogil=True)
def _refresh_rows(sal, inhib, rows, fix, mode, radius, decay, out, start, stop):
    """For ``k`` in ``[start, stop)``: inhibit row ``rows[k]`` at ``fix[k]`` (skipped when
    ``fix[k, 0] < 0``) and write its priority map into ``out[rows[k]]``."""
    for k in range(start, stop):
        r = rows[k]
        if fix[k, 0] >= 0:
            _inhibit(inhib[r], fix[k, 0], fix[k, 1], mode, radius, decay)
        _priority(sal[r], inhib[r], out[r])


class PriorityBatch:
    """Saliency, inhibition and priority maps of ``n`` rows, float32 ``[n, H, W]`` each.

    ``priority`` is a fresh array after every :meth:`start` / :meth:`fixate` (earlier arrays are
    never written again, so they can be handed out, e.g. as ``info["priority"]``).
    """

    def __init__(self, n: int, shape: tuple[int, int], mode: str = "square", radius: float = 16,
                 decay: float = 1.0) -> None:
        self.n = check_int(n, "n")
        h, w = check_int(shape[0], "shape[0]"), check_int(shape[1], "shape[1]")
        self.mode = check_choice(mode, "mode", IOR_MODES)
        self._mode_id = IOR_MODES.index(self.mode)
        self.radius = check_positive(radius, "radius")
        self.decay = check_decay(decay, self.mode)
        self.saliency = np.zeros((self.n, h, w), np.float32)
        self.inhibition = np.ones((self.n, h, w), np.float32)
        self.priority = np.full((self.n, h, w), 1.0 / (h * w), np.float32)

    def start(self, rows: np.ndarray, maps: np.ndarray) -> None:
        """Rows ``rows [K]`` get the saliency ``maps`` float32 ``[K, H, W]`` and no inhibition."""
        rows = np.asarray(rows, np.int64)
        self.saliency[rows] = maps
        self.inhibition[rows] = 1.0
        self._refresh(rows, np.full((len(rows), 2), -1, np.int64))

    def fixate(self, rows: np.ndarray, fixations: np.ndarray) -> None:
        """Inhibit row ``rows[k]`` around pixel ``fixations[k]`` (int64 ``[K, 2]``, inside the map)."""
        self._refresh(np.asarray(rows, np.int64), np.ascontiguousarray(fixations, np.int64))

    def _refresh(self, rows: np.ndarray, fix: np.ndarray) -> None:
        out = np.empty_like(self.priority) if len(rows) == self.n else self.priority.copy()
        args = (self.saliency, self.inhibition, rows, fix, self._mode_id, self.radius, self.decay, out)
        if len(rows) * self.saliency[0].size >= _PARALLEL_PIXELS:
            run_batched(lambda a, b: _refresh_rows(*args, a, b), len(rows))
        else:
            _refresh_rows(*args, 0, len(rows))
        self.priority = out
