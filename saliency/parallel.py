"""Run work over a batch in parallel Python threads that call ``nogil`` Numba kernels.

Threads (rather than ``prange``) keep one compiled kernel per method, which keeps Numba's
first-call compile time low; the kernels release the GIL, so chunks run truly in parallel.
The number of threads follows ``numba.get_num_threads()`` (``NUMBA_NUM_THREADS``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["run_batched"]

_CHUNKS_PER_THREAD = 4  # a few chunks per thread balance uneven work
_MAX_CHUNK = 16  # items per chunk at most (bounds the per-chunk float32 copy of a batch)


_POOL: ThreadPoolExecutor | None = None
_POOL_KEY: tuple[int, int] | None = None  # (pid, threads) the pool was made for


def _pool(threads: int) -> ThreadPoolExecutor:
    """One lasting pool per process and thread count (starting threads per call costs ~ms)."""
    global _POOL, _POOL_KEY
    key = (os.getpid(), threads)
    if _POOL is None or _POOL_KEY != key:  # a forked child must not reuse its parent's threads
        _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="saliency")
        _POOL_KEY = key
    return _POOL


def run_batched(work: Callable[[int, int], object], n: int) -> None:
    """Call ``work(start, stop)`` over contiguous chunks covering ``[0, n)``, on parallel threads."""
    threads = min(numba.get_num_threads(), n)
    if threads <= 1:
        work(0, n)
        return
    chunks = min(n, max(threads * _CHUNKS_PER_THREAD, math.ceil(n / _MAX_CHUNK)))
    bounds = np.linspace(0, n, chunks + 1).astype(np.int64)
    pool = _pool(threads)
    futures = [pool.submit(work, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    for future in futures:
        future.result()
