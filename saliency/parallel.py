"""Run a ``nogil`` Numba kernel over a batch in parallel Python threads.

Batched kernels here have the signature ``kernel(*args, start, stop, out)`` and fill
``out[start:stop]``. Threads (rather than ``prange``) keep one compiled kernel per method, which
keeps Numba's first-call compile time low; the kernels release the GIL, so chunks run truly in
parallel. The number of threads follows ``numba.get_num_threads()`` (``NUMBA_NUM_THREADS``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

__all__ = ["run_batched"]

_CHUNKS_PER_THREAD = 4  # a few chunks per thread balance uneven work


def run_batched(kernel: Callable[..., Any], n: int, args: tuple[Any, ...], out: np.ndarray) -> np.ndarray:
    """Call ``kernel(*args, start, stop, out)`` over ``[0, n)`` in chunks on parallel threads; returns ``out``."""
    threads = min(numba.get_num_threads(), n)
    if threads <= 1:
        kernel(*args, 0, n, out)
        return out
    bounds = np.linspace(0, n, min(n, threads * _CHUNKS_PER_THREAD) + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(kernel, *args, int(a), int(b), out) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        for f in futures:
            f.result()
    return out
